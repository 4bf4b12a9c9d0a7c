"""The journal's methods clocked as the running engine calls them, in the chain benchmark.

Runs the chain (bench_chain.py) with the real journal, ROUNDS times, each of the journal's
methods timed where the engine calls it: a create's intent and answer apart from a read's
(the intent log's write(2)s among them), the items, the commits, closing, and the answers'
enumerated values the executor reads for it. Prints the milliseconds of a run each takes
(median): where the journal's share of the run goes, which bench_journal_parts.py measures
by taking it away part by part.

    .venv/bin/python tests/bench/bench_journal_clocked.py [IN_FLIGHT]
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any
from unittest.mock import patch

from bench_chain import CHAINS, IN_FLIGHT, ROUNDS, _timed, chain_playbook, engine, start_server

from runner.journal import Journal, intent_log, store
from runner.spec import model

KIND = {True: "create", False: "read"}
# (whose method, which, what its time is counted as, from the call's arguments)
CLOCKED: list[tuple[type, str, Callable[..., str]]] = [
    (store.JournalFile, "intent", lambda *args, write, **kwargs: f"intent of a {KIND[write]}"),
    (store.JournalFile, "outcome", lambda journal, call_id, **kwargs:
        f"answer of a {KIND[call_id in journal._writes_sent]}"),
    (intent_log.IntentLog, "_write", lambda *args: "  of them, intent log write(2)s"),
    (store.JournalFile, "item", lambda *args, **kwargs: "items"),
    (store.JournalFile, "_commit", lambda *args: "commits"),
    (store.JournalFile, "close", lambda *args: "closing"),
    (model.Endpoint, "facts", lambda *args: "answers' enumerated values"),
]

SHOWN = ["the run", "intent of a create", "answer of a create",
         "  of them, intent log write(2)s", "intent of a read", "answer of a read", "items",
         "commits", "closing", "answers' enumerated values"]


def _clocked(spent: dict[str, float], label: Callable[..., str],
             method: Callable[..., Any]) -> Callable[..., Any]:
    """`method`, adding the seconds each call takes to `spent` under its label."""
    def clocked(*args: Any, **kwargs: Any) -> Any:
        name, started = label(*args, **kwargs), time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - started
    return clocked


def main() -> None:
    server, base = start_server("0")
    try:
        with tempfile.TemporaryDirectory() as folder:
            playbook, inputs = chain_playbook(folder, base)
            print(f"{CHAINS} create -> detail chains, {IN_FLIGHT} in flight, {base}, with the "
                  f"journal; median of {ROUNDS} runs")
            spent: dict[str, float] = {}
            runs: dict[str, list[float]] = {}
            with ExitStack() as stack:
                for owner, name, label in CLOCKED:
                    stack.enter_context(patch.object(owner, name, _clocked(
                        spent, label, getattr(owner, name))))
                for n in range(ROUNDS):
                    spent.clear()
                    journal = partial(Journal, Path(folder) / f"j{n}.sqlite")
                    seconds = _timed(partial(engine, playbook, inputs, journal))
                    for name, value in {"the run": seconds, **spent}.items():
                        runs.setdefault(name, []).append(value)
        for name in SHOWN:
            print(f"{name:<34} {statistics.median(runs.get(name, [0.0])) * 1000:7.1f} ms")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
