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
import statistics
import tempfile
from collections.abc import Callable
from functools import partial
from itertools import count
from pathlib import Path
from typing import Any

from bench_chain import CHAINS, IN_FLIGHT, ROUNDS, _timed, chain_playbook, engine, start_server

from runner.journal import Journal


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


def main() -> None:
    server, base = start_server("0")
    try:
        with tempfile.TemporaryDirectory() as folder:
            playbook, inputs = chain_playbook(folder, base)
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
                    seconds[label].append(_timed(partial(engine, playbook, inputs, make)))
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
