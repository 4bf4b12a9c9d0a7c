"""The `outbound` process's start-up, and the end of it.

Start-up builds what lives until the process exits: the modules, the specs and their compiled
schemas, the playbook and its templates. Python's full garbage collections walk every one of
those objects, and during a run each walk stalled it 10-20 ms. Once start-up is over, the
process freezes them (`gc.freeze()`): collections then walk only what the run itself makes.

Only a process of its own, started by the `outbound` command, freezes: frozen objects are
never collected, so a process running many commands in turn (the tests, a benchmark) would
keep each one's garbage.
"""

from __future__ import annotations

import gc

_own_process = False


def own_process() -> None:
    """Called by the `outbound` command's entry point: this process runs one command, then
    exits."""
    global _own_process
    _own_process = True


def settled() -> None:
    """Start-up is over: freeze what it built, in a process of its own."""
    if _own_process:
        gc.freeze()
