"""Contract checks: how vendors drift from their specs, live or from recorded traffic."""
