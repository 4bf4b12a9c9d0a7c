"""What the journal's tables hold: their schema and statements, and the values read back."""

from __future__ import annotations

import json
import math
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import orjson

from runner.errors import ITEM_REASON
from runner.secrets import REDACTOR

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, playbook TEXT NOT NULL, file TEXT NOT NULL,
    playbook_sha TEXT NOT NULL, inputs TEXT NOT NULL, shard TEXT,
    started_at REAL NOT NULL, finished_at REAL, status TEXT NOT NULL, exit_code INTEGER,
    outputs TEXT, error TEXT, resumed INTEGER NOT NULL DEFAULT 0, item_keys TEXT,
    item_lists TEXT, warnings TEXT);
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY, run_id TEXT NOT NULL, step TEXT NOT NULL, iteration INTEGER,
    endpoint TEXT NOT NULL, kind TEXT NOT NULL, params TEXT NOT NULL, sent_at REAL NOT NULL,
    finished_at REAL, status INTEGER, result_code TEXT, outcome TEXT, duration REAL,
    error TEXT, facts TEXT, response TEXT, item_key TEXT);
CREATE INDEX IF NOT EXISTS calls_by_item ON calls (run_id, step, iteration);
CREATE TABLE IF NOT EXISTS items (
    run_id TEXT NOT NULL, step TEXT NOT NULL, iteration INTEGER NOT NULL,
    status TEXT NOT NULL, record TEXT, reason TEXT, finished_at REAL NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0, key TEXT, PRIMARY KEY (run_id, step, iteration))
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS steps (
    run_id TEXT NOT NULL, step TEXT NOT NULL, status TEXT NOT NULL, calls INTEGER NOT NULL,
    iterations INTEGER NOT NULL, succeeded INTEGER NOT NULL, skipped INTEGER NOT NULL,
    failed INTEGER NOT NULL, retries INTEGER NOT NULL, duration REAL NOT NULL, error TEXT,
    finished_at REAL NOT NULL, PRIMARY KEY (run_id, step));
CREATE TABLE IF NOT EXISTS sim_worlds (run_id TEXT PRIMARY KEY, world TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS attempts (
    run_id TEXT NOT NULL, attempt INTEGER NOT NULL, started_at REAL NOT NULL, finished_at REAL,
    PRIMARY KEY (run_id, attempt)) WITHOUT ROWID;
"""
WHOLE_STEP = -1  # the `iteration` of a step without for_each
# a call's intent: `item_key` is its item's `key` (a for_each's declared identity), if any
INTENT_COLUMNS = "id, run_id, step, iteration, endpoint, kind, params, sent_at, item_key"
INTENT_SIZE = INTENT_COLUMNS.count(",") + 1
OUTCOME_COLUMNS = "finished_at, status, result_code, outcome, duration, error, facts, response"
INSERT_CALL = (f"INSERT INTO calls ({INTENT_COLUMNS}, {OUTCOME_COLUMNS}) VALUES "
               f"({', '.join('?' * (INTENT_SIZE + 8))})")
INSERT_LOGGED = (f"INSERT OR IGNORE INTO calls ({INTENT_COLUMNS}) VALUES "
                 f"({', '.join('?' * INTENT_SIZE)})")
NO_OUTCOME = (None,) * 8  # a call row's outcome columns before the answer
UPDATE_OUTCOME = (f"UPDATE calls SET {' = ?, '.join(OUTCOME_COLUMNS.split(', '))} = ? "
                  "WHERE id = ?")
ADDED_COLUMNS = {  # to journals from before they were
    # {step: its for_each's key, as the playbook had it}; of a for_each with no key, its list
    # the warnings of its attempts that ended, as the JSON report has them
    "runs": ("item_keys TEXT", "item_lists TEXT", "warnings TEXT"),
    "calls": ("facts TEXT", "response TEXT", "item_key TEXT"),
    "items": ("attempt INTEGER NOT NULL DEFAULT 0", "key TEXT")}
ITEM_COLUMNS = "run_id, step, iteration, status, record, reason, finished_at, attempt, key"
# A resume goes through a keyed for_each's list again, and an item whose key did not render,
# known by nothing, fails again there if the list still has it: the failures earlier attempts
# recorded of such items go as the step begins, so that the run names each one once, and
# their iterations are given to such items again, so that it names each as before. Only
# those with no call: the key is rendered before any is sent (an earlier version's journal
# has items with calls and no key).
UNKEYED_FAILURES = (
    "FROM items WHERE run_id = ? AND step = ? AND key IS NULL AND status = 'failed' "
    "AND NOT EXISTS (SELECT 1 FROM calls WHERE calls.run_id = items.run_id AND calls.step = "
    "items.step AND calls.iteration = items.iteration)")
INSERT_ITEM = f"INSERT OR REPLACE INTO items ({ITEM_COLUMNS}) VALUES ({', '.join('?' * 9)})"
UPSERT_STEP = (  # a resumed run's step: its calls, retries and time added to the attempts' before
    "INSERT INTO steps (run_id, step, status, calls, iterations, succeeded, skipped, failed, "
    "retries, duration, error, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (run_id, step) DO "
    "UPDATE SET status = excluded.status, calls = calls + excluded.calls, iterations = "
    "excluded.iterations, succeeded = excluded.succeeded, skipped = excluded.skipped, failed = "
    "excluded.failed, retries = retries + excluded.retries, duration = duration + "
    "excluded.duration, error = excluded.error, finished_at = excluded.finished_at")


def _places(columns: str, *names: str) -> tuple[int, ...]:
    return tuple(columns.split(", ").index(name) for name in names)


# the JSON columns in a row of INSERT_CALL, UPDATE_OUTCOME and INSERT_ITEM: what may hold a
# secret that the commit masks (see JournalFile._mask_waiting)
CALL_JSON = _places(f"{INTENT_COLUMNS}, {OUTCOME_COLUMNS}", "params", "facts", "response")
OUTCOME_JSON = _places(OUTCOME_COLUMNS, "facts", "response")
ITEM_JSON = _places(ITEM_COLUMNS, "record")
BY_HAND = "resolved by hand: "  # the error text of a call `runs resolve` settled
RECONCILED = "reconciled by --resume: "  # that of a write a resume looked up
RESOLUTIONS = {  # how `runs resolve` settles a write whose outcome is unknown
    "not-sent": "the vendor did not act on it; --resume sends it again",
    "answer": "the vendor made it and answered so; --resume finishes the item from the answer",
    "skip": "the item is left out of the run",
}
INTENT_LOG_SUFFIX = "-intents"
CHECKPOINT_EVERY = 200  # commits between background checkpoints
GROUP_SECONDS = 0.05  # how long rows may gather before their commit
ANSWER_KEPT = 4096  # characters of a failed call's answer kept


@dataclass(frozen=True)
class UnknownWrite:
    """A create (or another write) whose request may have been sent, with no recorded
    outcome."""

    call_id: int
    params: dict[str, Any]
    endpoint: str = ""
    sent_at: float = 0.0  # when it left (time.time()): a lookup waits out its timeouts
    item_key: str | None = None  # its item's, where the for_each has a `key`
    error: str | None = None  # why no answer is known (None: none recorded, as a kill leaves)


@dataclass(frozen=True)
class AnsweredWrite:
    """A create (or another write) the vendor answered ok, in an item that did not finish
    (it failed after); or one whose answer was given by hand (`runs resolve --answer`); or
    one an earlier resume's lookup `found` made (`body`: the item of the spec's `reconcile`
    list that shows it)."""

    call_id: int
    status: int
    body: Any
    by_hand: bool = False
    found: bool = False


@dataclass
class Recorded:
    """What an earlier attempt of a run finished, for `--resume`."""

    run_id: str
    inputs: dict[str, Any]
    status: str
    playbook: str = ""  # its name, and the SHA-256 of its file, when the run began
    playbook_sha: str = ""
    items: dict[tuple[str, int], tuple[str, Any]] = field(default_factory=dict)
    attempts: dict[tuple[str, int], int] = field(default_factory=dict)  # of the items' finish
    # of a for_each with a `key`: the iteration each item's key had (its calls' too), and the
    # highest iteration each such step used
    keys: dict[str, dict[str, int]] = field(default_factory=dict)
    last_iteration: dict[str, int] = field(default_factory=dict)
    key_sources: dict[str, str] | None = None  # each step's key template (None: not recorded)
    list_sources: dict[str, str] | None = None  # each keyless for_each's list, as written
    unknown: dict[tuple[str, int], UnknownWrite] = field(default_factory=dict)
    answered: dict[tuple[str, int], AnsweredWrite] = field(default_factory=dict)
    # the items `runs resolve --skip` left out, each told as a failed item's reason is
    left_out: dict[tuple[str, int], str] = field(default_factory=dict)

    def finished(self, step: str, iteration: int | None) -> tuple[str, Any] | None:
        """(status, record) of an item that finished (ok or skipped), else None."""
        return self.items.get((step, key_of(iteration)))

    def in_order(self, step: str, finished: Iterable[int]) -> list[int]:
        """A for_each's finished items (their iterations) in the order later steps go through
        them: those of each earlier attempt in the order it had them, then this attempt's by
        iteration. An item that failed before and is made now comes last rather than moving
        the others along: a later step matches its items to the journal's by their place."""
        def place(iteration: int) -> tuple[float, int]:
            attempt = self.attempts.get((step, iteration))  # 0 the first, 1 its first resume
            return (math.inf if attempt is None else attempt, iteration)

        return sorted(finished, key=place)

    def went_through(self, step: str) -> bool:
        """Whether the attempts before went through any item of `step`: finished it, or sent
        a write for it."""
        return any(done == step for done, _ in chain(self.items, self.unknown, self.answered))

    def unknown_write(self, step: str, iteration: int | None) -> UnknownWrite | None:
        return self.unknown.get((step, key_of(iteration)))

    def answered_write(self, step: str, iteration: int | None) -> AnsweredWrite | None:
        return self.answered.get((step, key_of(iteration)))

    def left_out_at(self, step: str, iteration: int | None) -> str | None:
        """Why item `iteration` of `step` was left out by `runs resolve --skip`, if it was."""
        return self.left_out.get((step, key_of(iteration)))


@dataclass(frozen=True)
class Pruned:
    """What `Journal.prune` removed (or would), and how many runs are left."""

    runs: int
    unfinished: int  # of those removed: they can no longer be resumed
    calls: int
    kept: int
    kept_old: int = 0  # of those kept, started before the time given: each its playbook's newest


# what --resume goes on from (and `runs resolve` settles): a run's finished items, its writes
FINISHED_ITEMS = ("SELECT step, iteration FROM items WHERE run_id = ? AND status IN ('ok', "
                  "'skipped')")
WRITES = ("SELECT id, step, iteration, params, outcome, status, response, error, endpoint, "
           "sent_at, item_key FROM calls WHERE run_id = ? AND kind NOT IN ('list', 'detail') "
           "ORDER BY id")
PENDING = (None, "unknown", "ok")  # the outcomes of a write that may not be sent again
NO_OUTCOME_WHY = "no outcome recorded: the run was killed (or crashed) with it out"
OK_NOT_KEPT = "answered ok, by a version of outbound-runner that kept no answers"


def last_writes(writes: Iterable[Sequence[Any]], finished: Container[tuple[str, int]],
                ) -> tuple[dict[tuple[str, int], AnsweredWrite],
                           dict[tuple[str, int], UnknownWrite]]:
    """Of `writes` (WRITES' rows whose outcome is PENDING, in the order sent), each unfinished
    item's last one: those answered ok, and those whose outcome is unknown."""
    answered: dict[tuple[str, int], AnsweredWrite] = {}
    unknown: dict[tuple[str, int], UnknownWrite] = {}
    # the last one counts. One answered ok is not sent again; its answer is kept, except in
    # journals written before answers were, where it is looked up as one whose outcome is
    # unknown
    for (call_id, step, iteration, params, outcome, status, response, error, endpoint, sent_at,
         item_key) in writes:
        key = (step, iteration)
        if key in finished:
            continue
        if outcome == "ok" and response is not None:
            answered[key] = AnsweredWrite(call_id, status, json.loads(response),
                                          bool(error and error.startswith(BY_HAND)),
                                          bool(error and error.startswith(RECONCILED)))
            unknown.pop(key, None)
        else:
            unknown[key] = UnknownWrite(call_id, json.loads(params), endpoint, sent_at,
                                        item_key, OK_NOT_KEPT if outcome == "ok" else error)
            answered.pop(key, None)
    return answered, unknown


def key_of(iteration: int | None) -> int:
    return WHOLE_STEP if iteration is None else iteration


def item_path(step: str, iteration: int) -> str:
    """An item as `runs resolve` takes it: `reserve[3]`, or a step's name alone."""
    return step if iteration == WHOLE_STEP else f"{step}[{iteration}]"


def json_text(value: Any) -> str:
    """`value` as a JSON column holds it (not yet masked: see masked_json)."""
    try:
        return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):  # e.g. an integer past 64 bits
        return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


def run_warnings(before: list[dict[str, str | None]],
                 now: list[dict[str, str | None]]) -> list[dict[str, str | None]]:
    """A run's warnings once an attempt ends: the earlier attempts', then this one's that no
    earlier attempt gave about the same item. An item is known by its key where its for_each
    has one (a resume numbers a repeated item anew), else by its iteration."""
    told = {_about(warning) for warning in before}
    return before + [warning for warning in now if _about(warning) not in told]


def _about(warning: Mapping[str, str | None]) -> tuple[str | None, ...]:
    said = ITEM_REASON.fullmatch(warning["message"] or "")
    if said is None or said["key"] is None:
        return (warning["step"], warning["message"])
    return (warning["step"], said["key"], said["why"])


def masked_row(row: Sequence[Any], columns: tuple[int, ...]) -> list[Any]:
    """`row` with the texts in its `columns` masked."""
    masked = list(row)
    for column in columns:
        if masked[column] is not None:
            masked[column] = REDACTOR.text(masked[column])
    return masked


def as_journaled(inputs: Mapping[str, Any]) -> Any:
    """A run's inputs as the journal holds them (masked): what a run's recorded inputs are
    compared with."""
    return json.loads(masked_json(dict(inputs)))


def masked_json(value: Any) -> str:
    """JSON text with every secret masked (one pass over the text, not a walk of the value)."""
    return REDACTOR.text(json_text(value))


def loaded_json(text: str | None) -> Any:
    """A JSON column's value; the text itself where a journal of an earlier version cut it
    short (a failed call's answer)."""
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text

