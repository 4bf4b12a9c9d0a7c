"""Where the journal's cost goes in the chain benchmark (bench_chain.py), part by part.

Runs, interleaved in one process against the same loopback server, the chain without a
journal and with journals that each do less: the real one; one that builds every row (its
JSON encoded and redacted) and writes each create's intent to the intent log, but never stores
a row in SQLite; the same with its JSON not redacted, then not even encoded; one whose methods
do nothing (what is left is the executor's own share: the answers' enumerated values, the kept
fields); and that one with no enumerated values read either. Prints each one's throughput as a
ratio to the chain without a journal: SQLite's share is the gap between the first two,
redaction's and encoding's the next gaps, the enumerated values' the last.

    .venv/bin/python tests/bench/bench_journal_parts.py [IN_FLIGHT]
"""

from __future__ import annotations

import json
import statistics
import tempfile
from contextlib import ExitStack
from functools import partial
from itertools import count
from pathlib import Path
from typing import Any
from unittest.mock import patch

from bench_chain import CHAINS, IN_FLIGHT, ROUNDS, _timed, chain_playbook, engine, start_server

from runner.journal import Journal
from runner.journal.rows import json_text


class NotStored(Journal):
    """Builds every row and logs each create's intent, as the real one; stores nothing."""

    def _commit(self) -> None:
        self._commit_scheduled = None
        self._mask_waiting()
        self._calls.clear()
        self._outcomes.clear()
        self._items.clear()
        if self._log is not None:
            self._log.emptied()


class RecordsNothing(Journal):
    """Every method a no-op: what the executor does for a journal, and no more."""

    _ids = count(1)

    def intent(self, *args: Any, **kwargs: Any) -> int:
        return next(self._ids)

    def outcome(self, *args: Any, **kwargs: Any) -> None:
        pass

    def item(self, *args: Any, **kwargs: Any) -> None:
        pass


def _unchecked(journal: Journal) -> None:
    journal._unchecked.clear()


UNREDACTED = [("runner.journal.store.masked_json", json_text),
              ("runner.journal.store.JournalFile._mask_waiting", _unchecked)]
UNENCODED = [("runner.journal.store.masked_json", lambda value: ""),
             ("runner.journal.store.json_text", lambda value: ""),
             ("runner.journal.store.JournalFile._mask_waiting", _unchecked)]
NO_FACTS = [("runner.spec.model.Endpoint.facts", lambda endpoint, body: {})]
# label -> (the journal, what is patched while it runs)
VARIANTS: dict[str, tuple[type[Journal] | None, list[tuple[str, Any]]]] = {
    "no journal": (None, []),
    "journal": (Journal, []),
    "journal, rows not stored": (NotStored, []),
    "  ... nor redacted": (NotStored, UNREDACTED),
    "  ... nor encoded": (NotStored, UNENCODED),
    "journal recording nothing": (RecordsNothing, []),
    "  ... nor enumerated values": (RecordsNothing, NO_FACTS),
}


def main() -> None:
    server, base = start_server("0")
    try:
        with tempfile.TemporaryDirectory() as folder:
            playbook, inputs = chain_playbook(folder, base)
            files = (Path(folder) / f"j{n}.sqlite" for n in count())
            print(f"{CHAINS} create -> detail chains, {IN_FLIGHT} in flight, {base}; "
                  f"median of {ROUNDS} interleaved rounds")
            seconds: dict[str, list[float]] = {label: [] for label in VARIANTS}
            for _ in range(ROUNDS):
                for label, (kind, patches) in VARIANTS.items():
                    make = (lambda: None) if kind is None else partial(kind, next(files))
                    with ExitStack() as stack:
                        for target, replacement in patches:
                            stack.enter_context(patch(target, replacement))
                        seconds[label].append(_timed(partial(engine, playbook, inputs, make)))
            medians = {label: statistics.median(times) for label, times in seconds.items()}
            alone = medians["no journal"]
            for label, median in medians.items():
                print(f"{label:<30} {median:6.3f} s  {alone / median:6.3f} of no journal")
            print(json.dumps({label.strip(" ."): round(alone / median, 3)
                              for label, median in medians.items()}))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
