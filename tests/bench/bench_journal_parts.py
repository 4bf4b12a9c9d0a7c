"""Where the journal's cost goes in the chain benchmark (bench_chain.py), part by part.

Runs, interleaved in one process against the same loopback server, the chain without a
journal and with three journals that each do less: the real one; one that builds every row
(its JSON encoded and redacted) and writes each create's intent to the intent log, but never
stores a row in SQLite; one whose methods do nothing (what is left is the executor's own share:
the answers' enumerated values, the kept fields). Prints each one's throughput as a ratio to
the chain without a journal: SQLite's share is the gap between the first two, the recording
of each call in the engine's process the gap between the last two.

    .venv/bin/python tests/bench/bench_journal_parts.py [IN_FLIGHT]
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from itertools import count
from pathlib import Path
from typing import Any

from bench_chain import CHAINS, HERE, IN_FLIGHT, PLAYBOOK, ROUNDS, _timed

from runner.engine.launch import execute
from runner.journal import Journal, new_run_id
from runner.playbook import Playbook, load_playbook, resolve_inputs


class NotStored(Journal):
    """Builds every row and logs each create's intent, as the real one; stores nothing."""

    def _commit(self) -> None:
        self._commit_scheduled = None
        self._calls.clear()
        self._outcomes.clear()
        self._items.clear()
        if self._logged and self._log is not None:
            os.ftruncate(self._log, 0)
            self._logged = False


class RecordsNothing(Journal):
    """Every method a no-op: what the executor does for a journal, and no more."""

    _ids = count(1)

    def intent(self, *args: Any, **kwargs: Any) -> int:
        return next(self._ids)

    def outcome(self, *args: Any, **kwargs: Any) -> None:
        pass

    def item(self, *args: Any, **kwargs: Any) -> None:
        pass


async def chain(playbook: Playbook, inputs: dict[str, Any],
                make: Callable[[], Journal | None]) -> None:
    journal = make()  # opened inside the timing, as bench_chain.py does
    if journal is not None:
        journal.begin(new_run_id(), playbook.name, playbook.file, "-", inputs, None)
    result = await execute(playbook, inputs, lambda event: None, journal=journal)
    assert result.status == "ok", result.error
    if journal is not None:
        journal.close()


def main() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, str(HERE / "loopback_server.py"), str(port)],
                              stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None and server.stdout.readline().strip() == "ready"
    base = f"http://127.0.0.1:{port}"
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "chain.yaml"
            path.write_text(PLAYBOOK.replace("BASE", base).replace("IN_FLIGHT", str(IN_FLIGHT)))
            playbook = load_playbook(path)
            inputs = resolve_inputs(playbook, {"numbers": [f"1380000{i:04d}"
                                                           for i in range(CHAINS)]})
            files = (Path(folder) / f"j{n}.sqlite" for n in count())
            journals: dict[str, Callable[[], Journal | None]] = {
                "no journal": lambda: None,
                "journal": lambda: Journal(next(files)),
                "journal, rows not stored": lambda: NotStored(next(files)),
                "journal recording nothing": lambda: RecordsNothing(next(files)),
            }
            print(f"{CHAINS} create -> detail chains, {IN_FLIGHT} in flight, {base}; "
                  f"median of {ROUNDS} interleaved rounds")
            seconds: dict[str, list[float]] = {label: [] for label in journals}
            for _ in range(ROUNDS):
                for label, make in journals.items():
                    seconds[label].append(_timed(partial(chain, playbook, inputs, make)))
            medians = {label: statistics.median(times) for label, times in seconds.items()}
            alone = medians["no journal"]
            for label, median in medians.items():
                print(f"{label:<28} {median:6.3f} s  {alone / median:6.3f} of no journal")
            print(json.dumps({label: round(alone / median, 3)
                              for label, median in medians.items()}))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
