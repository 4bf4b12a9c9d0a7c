"""The engine: runs a playbook's steps, emitting events; it never prints."""
