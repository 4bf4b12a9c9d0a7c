"""Secrets: read from the environment or from a file, never from a playbook."""

from __future__ import annotations

import os
from pathlib import Path

from runner.errors import InputError


def read_secret(name: str) -> str:
    """`secret('NAME')`: the environment variable NAME, or the file named by NAME_FILE."""
    if name in os.environ:
        return os.environ[name]
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise InputError.plain(f"secret {name}: cannot read {name}_FILE={file_name} "
                                   f"({exc.strerror})") from None
    raise InputError.plain(f"secret {name} is not set: set the environment variable {name}, "
                           f"or {name}_FILE to a file holding it")
