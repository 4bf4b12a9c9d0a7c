"""The run journal: one SQLite file recording every run and every call, so nothing is lost.

Each call has an *intent* (step, iteration, endpoint, rendered params), recorded before the
request is sent, and an *outcome* (HTTP status, result code, duration), recorded after. Each
item's result (the record later steps read) is written when the item finishes. A crash, a kill
or a failure therefore leaves an exact account: `--resume` skips finished items, feeds their
recorded results to later steps, looks up creates (and other writes) whose outcome is unknown
(an intent with no outcome) before deciding to send them again, and never sends again one the
vendor answered ok (its answer is kept, for the item to finish from). A write of unknown
outcome that no reconcile can look up waits for its operator, who asks the vendor and records
the answer with `outbound runs resolve` (`resolve()`).

Everything written goes through the redactor first: no secret reaches the file. The file uses
WAL with `synchronous=NORMAL`: a committed row survives the process being killed.

Rows are grouped: inside the event loop they gather for up to GROUP_SECONDS and are committed
together (a commit per row cost the benchmark 40% of its throughput), a call's outcome folded
into its intent's row when both are still waiting. A write's intent must be on disk before
the request leaves, and waiting for a commit before each one idled the loop (the benchmark ran
at 0.75 of its journal-less throughput, 0.81 with the log): so `intent()` of a write appends
the row to the *intent log* beside the file (`journal.sqlite-intents`, one line and one
write(2) each, as safe against a kill as the WAL), emptied after each commit. Whoever opens
the journal next copies what a kill left in the log into the file first, so a create the kill
caught is an intent with no outcome, which `--resume` reconciles. A read a kill forgets is
just read again. If the journal cannot be written (a full disk), `intent()` raises
`JournalError`: no call is sent unrecorded.

One run writes a journal at a time: the writer holds a lock on the intent log (a second run
on the same file is refused); readers (`runs list`) copy the log in only when nobody holds it.

Checkpoints (copying the WAL into the database file, with an fsync) run in a thread of their
own every CHECKPOINT_EVERY commits: SQLite's automatic ones ran inside a commit, stalling the
event loop, and cost the benchmark a third of the journal's time.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import json
import os
import secrets as random_tokens
import sqlite3
import threading
import time
from collections.abc import Container, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from runner.errors import Finding, InputError, JournalError, Location, OutboundError
from runner.secrets import REDACTOR


def default_path() -> Path:
    """$OUTBOUND_JOURNAL, else .outbound/journal.sqlite in the working directory."""
    return Path(os.environ.get("OUTBOUND_JOURNAL") or Path(".outbound") / "journal.sqlite")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, playbook TEXT NOT NULL, file TEXT NOT NULL,
    playbook_sha TEXT NOT NULL, inputs TEXT NOT NULL, shard TEXT,
    started_at REAL NOT NULL, finished_at REAL, status TEXT NOT NULL, exit_code INTEGER,
    outputs TEXT, error TEXT, resumed INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY, run_id TEXT NOT NULL, step TEXT NOT NULL, iteration INTEGER,
    endpoint TEXT NOT NULL, kind TEXT NOT NULL, params TEXT NOT NULL, sent_at REAL NOT NULL,
    finished_at REAL, status INTEGER, result_code TEXT, outcome TEXT, duration REAL,
    error TEXT, facts TEXT, response TEXT);
CREATE INDEX IF NOT EXISTS calls_by_item ON calls (run_id, step, iteration);
CREATE TABLE IF NOT EXISTS items (
    run_id TEXT NOT NULL, step TEXT NOT NULL, iteration INTEGER NOT NULL,
    status TEXT NOT NULL, record TEXT, reason TEXT, finished_at REAL NOT NULL,
    PRIMARY KEY (run_id, step, iteration)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS steps (
    run_id TEXT NOT NULL, step TEXT NOT NULL, status TEXT NOT NULL, calls INTEGER NOT NULL,
    iterations INTEGER NOT NULL, succeeded INTEGER NOT NULL, skipped INTEGER NOT NULL,
    failed INTEGER NOT NULL, retries INTEGER NOT NULL, duration REAL NOT NULL, error TEXT,
    finished_at REAL NOT NULL, PRIMARY KEY (run_id, step));
"""
WHOLE_STEP = -1  # the `iteration` of a step without for_each
_INTENT_COLUMNS = "id, run_id, step, iteration, endpoint, kind, params, sent_at"
_CALL = (f"INSERT INTO calls ({_INTENT_COLUMNS}, finished_at, status, result_code, outcome, "
         f"duration, error, facts, response) VALUES ({', '.join('?' * 16)})")
_LOGGED = f"INSERT OR IGNORE INTO calls ({_INTENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_NO_OUTCOME = (None,) * 8  # a call row's outcome columns before the answer
_OUTCOME = ("UPDATE calls SET finished_at = ?, status = ?, result_code = ?, outcome = ?, "
            "duration = ?, error = ?, facts = ?, response = ? WHERE id = ?")
_ADDED_COLUMNS = {"calls": ("facts TEXT", "response TEXT")}  # journals from before they were
_ITEM = ("INSERT OR REPLACE INTO items (run_id, step, iteration, status, record, reason, "
         "finished_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
BY_HAND = "resolved by hand: "  # the error text of a call `runs resolve` settled
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


@dataclass(frozen=True)
class AnsweredWrite:
    """A create (or another write) the vendor answered ok, in an item that did not finish
    (it failed after); or one whose answer was given by hand (`runs resolve --answer`)."""

    call_id: int
    status: int
    body: Any
    by_hand: bool = False


@dataclass
class Recorded:
    """What an earlier attempt of a run finished, for `--resume`."""

    run_id: str
    inputs: dict[str, Any]
    status: str
    playbook: str = ""  # its name, and the SHA-256 of its file, when the run began
    playbook_sha: str = ""
    items: dict[tuple[str, int], tuple[str, Any]] = field(default_factory=dict)
    unknown: dict[tuple[str, int], UnknownWrite] = field(default_factory=dict)
    answered: dict[tuple[str, int], AnsweredWrite] = field(default_factory=dict)

    def finished(self, step: str, iteration: int | None) -> tuple[str, Any] | None:
        """(status, record) of an item that finished (ok or skipped), else None."""
        return self.items.get((step, _key(iteration)))

    def unknown_write(self, step: str, iteration: int | None) -> UnknownWrite | None:
        return self.unknown.get((step, _key(iteration)))

    def answered_write(self, step: str, iteration: int | None) -> AnsweredWrite | None:
        return self.answered.get((step, _key(iteration)))


@dataclass(frozen=True)
class Pruned:
    """What `Journal.prune` removed (or would), and how many runs are left."""

    runs: int
    unfinished: int  # of those removed: they can no longer be resumed
    calls: int
    kept: int


def _key(iteration: int | None) -> int:
    return WHOLE_STEP if iteration is None else iteration


def _json(value: Any) -> str:
    """JSON text with every secret masked (one pass over the text, not a walk of the value)."""
    try:
        text = orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):  # e.g. an integer past 64 bits
        text = json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))
    return REDACTOR.text(text)


def _loaded(text: str | None) -> Any:
    """A JSON column's value; the text itself where a journal of an earlier version cut it
    short (a failed call's answer)."""
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _check_is_journal(path: Path) -> None:
    """An InputError unless `path` is a journal: there, and holding the runs table."""
    if not path.is_file():
        raise InputError.plain(f"journal {path}: no such file (no run was journaled there; "
                               "--journal PATH names another)")
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            found = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = "
                               "'runs'").fetchone()
    except sqlite3.Error as exc:
        raise InputError.plain(f"journal {path}: cannot be opened ({exc})") from None
    if found is None:
        raise InputError.plain(f"journal {path}: not a journal (it has no runs); --journal "
                               "PATH names the journal file")


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + random_tokens.token_hex(3)


class Journal:
    """One journal file. Methods are called from the engine's event loop, one at a time.

    `reader`: opened to read (`runs list`); it never refuses to open, copies in the intent
    log only when no run is writing the journal, and creates nothing: a journal that is not
    there is an error. `existing` (a reader's by default): the file must be a journal already,
    never made one (`runs prune` pointed at the wrong file).
    """

    def __init__(self, path: str | Path, *, reader: bool = False,
                 existing: bool | None = None) -> None:
        self.path = Path(path)
        if reader if existing is None else existing:
            _check_is_journal(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA wal_autocheckpoint=0")  # see _checkpoint_soon
            self.db.executescript(_SCHEMA)
            self._add_missing_columns()
            self._others_writing = False  # another process holds the intent log
            self._log: int | None = self._open_intent_log(reader)
        except (OSError, sqlite3.Error) as exc:
            raise InputError.plain(f"journal {self.path}: cannot be opened ({exc})") from None
        self.run_id = ""
        self._commit_scheduled: asyncio.TimerHandle | None = None
        self._next_call = int(self.db.execute("SELECT COALESCE(MAX(id), 0) FROM calls")
                              .fetchone()[0]) + 1
        self._calls: dict[int, list[Any]] = {}  # rows not yet committed, by call id
        self._outcomes: list[tuple[Any, ...]] = []  # of calls committed before
        self._items: list[tuple[Any, ...]] = []
        self._logged = False  # the intent log holds rows not yet committed
        self._commits = 0
        self._checkpointer: threading.Thread | None = None
        self.failure: JournalError | None = None

    def _add_missing_columns(self) -> None:
        for table, columns in _ADDED_COLUMNS.items():
            present = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
            for column in columns:
                if column.split()[0] not in present:
                    self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column}")

    def _open_intent_log(self, reader: bool) -> int | None:
        """Lock the intent log and copy what a killed run left in it into the file; the open
        log for a writer, None for a reader."""
        log = os.open(f"{self.path}{INTENT_LOG_SUFFIX}", os.O_RDWR | os.O_CREAT | os.O_APPEND,
                      0o600)
        try:
            fcntl.flock(log, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(log)
            if reader:
                self._others_writing = True
                return None
            raise InputError.plain(
                f"journal {self.path} is being written by another run; wait for it to end "
                "(runs that overlap need a journal each: --journal PATH)") from None
        try:
            self._copy_in(log)
        except BaseException:
            os.close(log)
            raise
        if reader:
            os.close(log)  # which unlocks it
            return None
        return log

    def _copy_in(self, log: int) -> None:
        """Insert the intents the log holds (those already in the file are left as they are)."""
        size = os.fstat(log).st_size
        if not size:
            return
        rows = []
        for line in os.pread(log, size, 0).splitlines():
            try:
                rows.append(tuple(orjson.loads(line)))
            except orjson.JSONDecodeError:  # cut short by the kill: that call was not sent
                continue
        with self.db:
            self.db.executemany(_LOGGED, rows)
        os.ftruncate(log, 0)

    def close(self) -> None:
        if self._commit_scheduled is not None:  # a commit queued on the loop: do it now
            self._commit_scheduled.cancel()
        self._commit()
        if self._log is not None:
            os.close(self._log)
            self._log = None
        if self._checkpointer is not None:
            self._checkpointer.join()
        self.db.close()  # the last connection to close checkpoints the rest

    def _write(self, sql: str, parameters: tuple[Any, ...]) -> None:
        """Run a statement in the open transaction; it is committed with the rows queued."""
        if self.failure is not None:  # being reported already; nothing more can land
            return
        try:
            if not self.db.in_transaction:
                self.db.execute("BEGIN")
            self.db.execute(sql, parameters)
        except sqlite3.Error as exc:
            self._failed(exc)
            return
        self._commit_soon()

    def _commit_soon(self) -> None:
        """Commit within GROUP_SECONDS inside the event loop; outside it, at once."""
        if self._commit_scheduled is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._commit()
            return
        self._commit_scheduled = loop.call_later(GROUP_SECONDS, self._commit)

    def _commit(self) -> None:
        self._commit_scheduled = None
        if self.failure is not None:
            return
        try:
            if (self._calls or self._outcomes or self._items) and not self.db.in_transaction:
                self.db.execute("BEGIN")
            if self._calls:
                self.db.executemany(_CALL, self._calls.values())
                self._calls.clear()
            if self._outcomes:
                self.db.executemany(_OUTCOME, self._outcomes)
                self._outcomes.clear()
            if self._items:
                self.db.executemany(_ITEM, self._items)
                self._items.clear()
            if self.db.in_transaction:
                self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._failed(exc)
            return
        if self._logged and self._log is not None:  # each row of the log is in the file now
            try:
                os.ftruncate(self._log, 0)
                self._logged = False
            except OSError:
                pass  # copied in again next time, harmlessly (INSERT OR IGNORE)
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY == 0:
            self._checkpoint_soon()

    def _failed(self, error: Exception) -> JournalError:
        """The journal cannot be written: the call at hand, and every later one, stops unsent."""
        self.failure = JournalError([Finding(Location(), (
            f"journal {self.path}: cannot be written ({error}); the run stops here, since a "
            "call it cannot record must not be sent"))])
        try:
            if self.db.in_transaction:  # SQLite may have rolled back already
                self.db.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        return self.failure

    def _checkpoint_soon(self) -> None:
        """Copy the WAL into the database file in another thread (its own connection; SQLite
        does the work without the GIL), one checkpoint at a time."""
        if self._checkpointer is not None and self._checkpointer.is_alive():
            return

        def checkpoint() -> None:
            try:
                with closing(sqlite3.connect(self.path)) as db:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:
                pass  # the WAL grows until the next one; closing checkpoints in any case

        self._checkpointer = threading.Thread(target=checkpoint, name="journal-checkpoint",
                                              daemon=True)
        self._checkpointer.start()

    # ------------------------------------------------------------ writing a run

    def begin(self, run_id: str, playbook: str, file: str, playbook_sha: str,
              inputs: Mapping[str, Any], shard: str | None) -> None:
        self.run_id = run_id
        self._write(
            "INSERT INTO runs (run_id, playbook, file, playbook_sha, inputs, shard, started_at,"
            " status) VALUES (?, ?, ?, ?, ?, ?, ?, 'running')",
            (run_id, playbook, file, playbook_sha, _json(dict(inputs)), shard, time.time()))

    def reopen(self, run_id: str) -> None:
        self.run_id = run_id
        self._write("UPDATE runs SET status = 'running', finished_at = NULL, exit_code = "
                        "NULL, resumed = resumed + 1 WHERE run_id = ?", (run_id,))

    def intent(self, step: str, iteration: int | None, endpoint: str, kind: str,
               params: dict[str, Any], *, write: bool) -> int:
        """Record a call about to be sent; its id. A `write`'s intent is on disk on return
        (in the intent log). JournalError if the journal cannot be written."""
        if self.failure is not None:
            raise self.failure
        call_id, self._next_call = self._next_call, self._next_call + 1
        intent = (call_id, self.run_id, step, _key(iteration), endpoint, kind,
                  _json(params), time.time())
        if write:
            if self._log is None:
                raise RuntimeError(f"journal {self.path} is not open for writing")
            line = orjson.dumps(intent) + b"\n"
            try:
                if os.write(self._log, line) != len(line):  # the disk filled up mid-line
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            except OSError as exc:
                raise self._failed(exc) from None
            self._logged = True
        self._calls[call_id] = [*intent, *_NO_OUTCOME]
        self._commit_soon()
        return call_id

    def outcome(self, call_id: int, *, status: int | None, result_code: str | None,
                outcome: str, duration: float, error: str | None = None,
                facts: Mapping[str, list[Any]] | None = None, response: Any = None) -> None:
        """`outcome`: ok, failed (the vendor answered no), unknown (no answer to go by).

        `facts` are the answer's enumerated values (callStatus, failCode, ...) for reports;
        `response` is the answer of a failed call (past ANSWER_KEPT characters of JSON, kept
        as a text: its start), or of a write answered ok, whole (if its item fails after,
        `--resume` reads it rather than send it again).
        """
        kept = None if response is None else _json(response)
        if kept is not None and outcome != "ok" and len(kept) > ANSWER_KEPT:
            kept = orjson.dumps(kept[:ANSWER_KEPT] + " [cut]").decode()  # still JSON: a text
        answer = (time.time(), status, result_code, outcome, duration,
                  REDACTOR.text(error) if error else None, _json(facts) if facts else None,
                  kept)
        row = self._calls.get(call_id)
        if row is not None:  # its intent is not committed yet: one row for both
            row[8:] = answer
        else:
            self._outcomes.append((*answer, call_id))
        self._commit_soon()

    def item(self, step: str, iteration: int | None, status: str, record: Any = None,
             reason: str | None = None) -> None:
        self._items.append((self.run_id, step, _key(iteration), status,
                            _json(record) if record is not None else None,
                            REDACTOR.text(reason) if reason else None, time.time()))
        self._commit_soon()

    def step(self, step: str, status: str, calls: int, iterations: int, succeeded: int,
             skipped: int, failed: int, retries: int, duration: float,
             error: str | None) -> None:
        self._write(
            "INSERT OR REPLACE INTO steps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self.run_id, step, status, calls, iterations, succeeded, skipped, failed, retries,
             duration, REDACTOR.text(error) if error else None, time.time()))

    def finish(self, status: str, exit_code: int, outputs: Mapping[str, Any],
               error: str | None) -> None:
        self._write(
            "UPDATE runs SET finished_at = ?, status = ?, exit_code = ?, outputs = ?, error = ? "
            "WHERE run_id = ?",
            (time.time(), status, exit_code, _json(dict(outputs)),
             REDACTOR.text(error) if error else None, self.run_id))

    # ------------------------------------------------------------ reading

    def recorded(self, run_id: str) -> Recorded:
        """What run `run_id` finished, and which of its creates have an unknown outcome."""
        self._commit()
        row = self.db.execute("SELECT inputs, status, playbook, playbook_sha FROM runs WHERE "
                              "run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise self._no_run(run_id)
        recorded = Recorded(run_id, json.loads(row[0]), row[1], row[2], row[3])
        for step, iteration, status, record in self.db.execute(
                "SELECT step, iteration, status, record FROM items WHERE run_id = ? AND "
                "status IN ('ok', 'skipped')", (run_id,)):
            recorded.items[(step, iteration)] = (status, json.loads(record) if record else None)
        recorded.answered, recorded.unknown = self._pending_writes(run_id, recorded.items)
        return recorded

    def _pending_writes(self, run_id: str, finished: Container[tuple[str, int]]) -> tuple[
            dict[tuple[str, int], AnsweredWrite], dict[tuple[str, int], UnknownWrite]]:
        """The writes (every kind but the reads, list and detail) of the items not `finished`,
        each item's last one: those answered ok, and those whose outcome is unknown."""
        answered: dict[tuple[str, int], AnsweredWrite] = {}
        unknown: dict[tuple[str, int], UnknownWrite] = {}
        # in the order sent: the last one counts. One answered ok is not sent again; its
        # answer is kept, except in journals written before answers were, where it is looked
        # up as one whose outcome is unknown
        for call_id, step, iteration, params, outcome, status, response, error, endpoint in (
                self.db.execute(
                "SELECT id, step, iteration, params, outcome, status, response, error, endpoint "
                "FROM calls WHERE run_id = ? AND kind NOT IN ('list', 'detail') AND (outcome "
                "IS NULL OR outcome IN ('unknown', 'ok')) ORDER BY id", (run_id,))):
            key = (step, iteration)
            if key in finished:
                continue
            if outcome == "ok" and response is not None:
                answered[key] = AnsweredWrite(call_id, status, json.loads(response),
                                              bool(error and error.startswith(BY_HAND)))
                unknown.pop(key, None)
            else:
                unknown[key] = UnknownWrite(call_id, json.loads(params), endpoint)
                answered.pop(key, None)
        return answered, unknown

    def resolve(self, run_id: str, step: str, iteration: int | None, how: str,
                answer: Any = None) -> None:
        """Settle, as its operator found out, a write of run `run_id` whose outcome is unknown
        and which no `reconcile` can look up: `how` is one of RESOLUTIONS."""
        recorded = self.recorded(run_id)
        key = (step, _key(iteration))
        unknown = recorded.unknown.get(key)
        if unknown is None:
            where = f"{step}[{iteration}]" if iteration is not None else step
            pending = ", ".join(f"{s}[{i}]" if i != WHOLE_STEP else s
                                for s, i in sorted(recorded.unknown))
            raise InputError.plain(f"run {run_id} has no write of unknown outcome at {where}"
                                   + (f" (those it has: {pending})" if pending else
                                      " (it has none)"))
        said = BY_HAND + RESOLUTIONS[how]
        self.db.execute("BEGIN")
        if how == "skip":
            self.db.execute(_ITEM, (run_id, step, key[1], "skipped", None, said, time.time()))
        else:
            ok = how == "answer"
            self.db.execute(_OUTCOME, (time.time(), 200 if ok else None, None,
                                       "ok" if ok else "failed", None, said, None,
                                       _json(answer) if ok else None, unknown.call_id))
        self.db.execute("COMMIT")

    def latest_unfinished(self, file: str, shard: str | None,
                          inputs: Mapping[str, Any]) -> tuple[str | None, str | None]:
        """The newest run of playbook `file` (and shard) that did not finish ok and has these
        inputs (as journalled: masked alike), if any; and if not, the newest unfinished run
        with other inputs, if any."""
        self._commit()
        wanted = json.loads(_json(dict(inputs)))
        other = None
        for run_id, journalled in self.db.execute(
                "SELECT run_id, inputs FROM runs WHERE file = ? AND shard IS ? AND status != "
                "'ok' ORDER BY started_at DESC", (file, shard)):
            if json.loads(journalled) == wanted:
                return str(run_id), None
            other = other or str(run_id)
        return None, other

    def prune(self, started_before: float, *, dry_run: bool = False) -> Pruned:
        """Remove every run started before `started_before` (a time.time()), with its calls,
        items and steps, and give the file the room back. The caller holds the journal as its
        writer, so none of them is being run."""
        self._commit()
        old = "SELECT run_id FROM runs WHERE started_at < ?"
        (runs, unfinished), = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(status != 'ok'), 0) FROM runs WHERE started_at < ?",
            (started_before,))
        calls, = self.db.execute(f"SELECT COUNT(*) FROM calls WHERE run_id IN ({old})",
                                 (started_before,)).fetchone()
        kept, = self.db.execute("SELECT COUNT(*) FROM runs WHERE started_at >= ?",
                                (started_before,)).fetchone()
        if dry_run or not runs:
            return Pruned(runs, unfinished, calls, kept)
        self.db.execute("BEGIN")
        for table in ("calls", "items", "steps"):
            self.db.execute(f"DELETE FROM {table} WHERE run_id IN ({old})", (started_before,))
        self.db.execute("DELETE FROM runs WHERE started_at < ?", (started_before,))
        self.db.execute("COMMIT")
        self.db.execute("VACUUM")
        return Pruned(runs, unfinished, calls, kept)

    def has_run(self, run_id: str) -> bool:
        self._commit()
        return self.db.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() \
            is not None

    def _no_run(self, run_id: str) -> OutboundError:
        known = [r[0] for r in self.db.execute(
            "SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 5")]
        return InputError.plain(f"journal {self.path} has no run {run_id!r}"
                                + (f" (latest: {', '.join(known)})" if known else ""))

    def run_id_of(self, given: str) -> str:
        """`given`, or for "latest" the id of the newest run."""
        if given != "latest":
            return given
        newest = self.runs(1)
        if not newest:
            raise InputError.plain(f"journal {self.path} has no runs yet")
        return str(newest[0]["run_id"])

    def run_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM runs").fetchone()[0])

    def runs(self, limit: int | None = 50) -> list[dict[str, Any]]:
        """The newest `limit` runs (None: every run), newest first."""
        self._commit()
        rows = self.db.execute(
            "SELECT r.run_id, r.playbook, r.status, r.exit_code, r.started_at, r.finished_at,"
            " r.shard, r.resumed, (SELECT COUNT(*) FROM calls c WHERE c.run_id = r.run_id),"
            " (SELECT COUNT(*) FROM items i WHERE i.run_id = r.run_id AND i.status = 'failed')"
            " FROM runs r ORDER BY r.started_at DESC LIMIT ?", (-1 if limit is None else limit,))
        keys = ("run_id", "playbook", "status", "exit_code", "started_at", "finished_at",
                "shard", "resumed", "calls", "failed_items")
        found = [dict(zip(keys, row, strict=True)) for row in rows]
        for run in found:
            run["status"] = self._status(run["run_id"], run["status"])
        return found

    def _status(self, run_id: str, status: str) -> str:
        """`killed` for a run recorded as running that no process is writing (the lock on
        the intent log ends with its process, however it ended); `--resume` continues it."""
        if status != "running" or self._others_writing or run_id == self.run_id:
            return status
        return "killed"

    def run(self, run_id: str) -> dict[str, Any]:
        """One run: its row, steps, failed items and calls."""
        self._commit()
        row = self.db.execute("SELECT run_id, playbook, file, inputs, shard, started_at, "
                              "finished_at, status, exit_code, outputs, error, resumed FROM "
                              "runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise self._no_run(run_id)
        keys = ("run_id", "playbook", "file", "inputs", "shard", "started_at", "finished_at",
                "status", "exit_code", "outputs", "error", "resumed")
        run = dict(zip(keys, row, strict=True))
        run["status"] = self._status(run_id, run["status"])
        run["inputs"] = json.loads(run["inputs"])
        run["outputs"] = json.loads(run["outputs"]) if run["outputs"] else {}
        step_keys = ("step", "status", "calls", "iterations", "succeeded", "skipped", "failed",
                     "retries", "duration", "error")
        run["steps"] = [dict(zip(step_keys, r, strict=True)) for r in self.db.execute(
            f"SELECT {', '.join(step_keys)} FROM steps WHERE run_id = ? ORDER BY finished_at",
            (run_id,))]
        run["failures"] = [{"step": s, "iteration": None if i == WHOLE_STEP else i,
                            "reason": why} for s, i, why in self.db.execute(
            "SELECT step, iteration, reason FROM items WHERE run_id = ? AND status = 'failed' "
            "ORDER BY step, iteration", (run_id,))]
        finished = set(self.db.execute("SELECT step, iteration FROM items WHERE run_id = ? "
                                       "AND status IN ('ok', 'skipped')", (run_id,)))
        run["unknown_writes"] = [
            {"step": step, "iteration": None if iteration == WHOLE_STEP else iteration,
             "endpoint": write.endpoint, "params": write.params}
            for (step, iteration), write in sorted(self._pending_writes(run_id, finished)[1]
                                                   .items())]
        run["calls"] = dict(self.db.execute(
            "SELECT COALESCE(outcome, 'no outcome'), COUNT(*) FROM calls WHERE run_id = ? "
            "GROUP BY 1", (run_id,)).fetchall())
        return run

    def calls(self, run_id: str) -> Iterator[dict[str, Any]]:
        """Every call of a run, in order, with its intent and outcome."""
        self._commit()
        keys = ("step", "iteration", "endpoint", "kind", "params", "sent_at", "finished_at",
                "status", "result_code", "outcome", "duration", "error", "facts", "response")
        for row in self.db.execute(f"SELECT {', '.join(keys)} FROM calls WHERE run_id = ? "
                                   "ORDER BY id", (run_id,)):
            call = dict(zip(keys, row, strict=True))
            call["iteration"] = None if call["iteration"] == WHOLE_STEP else call["iteration"]
            for key in ("params", "facts", "response"):
                call[key] = _loaded(call[key])
            yield call
