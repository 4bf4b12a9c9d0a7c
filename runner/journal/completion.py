"""A journal read for shell completion: as the file stands, without opening it as a journal
(no lock taken, no intent log copied in, nothing made), and never failing: none where there
is no journal, or no such run."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from runner.errors import why_in
from runner.journal.intent_log import logged_rows
from runner.journal.paths import read_only
from runner.journal.rows import (
    BY_HAND,
    FINISHED_ITEMS,
    INTENT_LOG_SUFFIX,
    PENDING,
    WRITES,
    item_path,
    last_writes,
)

_NEWEST_RUNS = "SELECT run_id, playbook, started_at FROM runs ORDER BY started_at DESC LIMIT ?"
# a run's failed items, but those of a keyed for_each whose key did not render: `runs resolve
# --skip` refuses them (no resume could tell them from the others)
_FAILED = ("SELECT step, iteration, reason FROM items WHERE run_id = ? AND status = 'failed' "
           "AND (key IS NOT NULL OR step NOT IN (SELECT keyed.key FROM runs, "
           "json_each(runs.item_keys) AS keyed WHERE runs.run_id = ?)) ORDER BY step, iteration")


def newest_runs(path: Path, limit: int) -> list[tuple[str, str, float]]:
    """The newest `limit` runs of the journal at `path`: (run_id, playbook, started_at)."""
    try:
        with closing(read_only(path)) as db:
            return db.execute(_NEWEST_RUNS, (limit,)).fetchall()
    except sqlite3.Error:
        return []


def playbooks_run(path: Path) -> list[tuple[str, str]]:
    """(name, file) of each playbook the journal at `path` has runs of, the newest run's
    first."""
    try:
        with closing(read_only(path)) as db:
            return db.execute("SELECT playbook, file FROM runs GROUP BY playbook, file "
                              "ORDER BY MAX(started_at) DESC").fetchall()
    except sqlite3.Error:
        return []


def items_to_settle(path: Path, run_id: str) -> list[tuple[str, str]]:
    """What `runs resolve` settles in run `run_id` (or the newest, for "latest"), as
    `reserve[3]` or a step's name, each with a word on it: the writes whose outcome is unknown
    (their endpoint; what a kill left in the intent log is read too, not copied in), then the
    items that failed (their reason: `--skip` leaves one out)."""
    try:
        with closing(read_only(path)) as db:
            if run_id == "latest":
                newest = db.execute(_NEWEST_RUNS, (1,)).fetchone()
                run_id = newest[0] if newest else ""
            finished = set(db.execute(FINISHED_ITEMS, (run_id,)))
            writes = {row[0]: list(row) for row in db.execute(WRITES, (run_id,))}
            failed = db.execute(_FAILED, (run_id, run_id)).fetchall()
    except sqlite3.Error:
        return []
    _read_intent_log(path, run_id, writes)
    _, unknown = last_writes(
        (row for _, row in sorted(writes.items()) if row[4] in PENDING), finished)
    said = {(step, iteration)  # settled already (--not-sent): --resume goes on
            for _id, step, iteration, _params, _outcome, _status, _response, error, *_ in
            writes.values() if (error or "").startswith(BY_HAND)}
    unsettled = [(item_path(step, iteration), write.endpoint)
                 for (step, iteration), write in sorted(unknown.items())]
    return unsettled + [(item_path(step, iteration), f"failed: {why_in(reason or '')}")
                        for step, iteration, reason in failed
                        if (step, iteration) not in unknown and (step, iteration) not in said]


def _read_intent_log(path: Path, run_id: str, writes: dict[Any, list[Any]]) -> None:
    """Add to `writes` (WRITES' rows by call id) the intents and outcomes that the intent log
    beside `path` holds for run `run_id`, as copying it in would."""
    try:
        intents, outcomes = logged_rows(Path(f"{path}{INTENT_LOG_SUFFIX}").read_bytes())
    except OSError:
        return
    for call_id, run, step, iteration, endpoint, _kind, params, sent_at, key in intents:
        if run == run_id:
            writes.setdefault(call_id, [call_id, step, iteration, params, None, None, None,
                                        None, endpoint, sent_at, key])
    for _finished_at, status, _code, outcome, _duration, error, _facts, response, call_id in (
            outcomes):
        if call_id in writes:
            writes[call_id][4:8] = [outcome, status, response, error]
