"""The journal file as the engine writes it: opened, locked, its rows grouped into commits.

Rows are grouped: inside the event loop they gather for up to GROUP_SECONDS and are committed
together (a commit per row cost the benchmark 40% of its throughput), a call's outcome folded
into its intent's row when both are still waiting. A write's intent must be on disk before
the request leaves, and waiting for a commit before each one idled the loop (the benchmark ran
at 0.75 of its journal-less throughput, 0.81 with the log): so `intent()` of a write appends
the row to the *intent log* beside the file (runner/journal/intent_log.py), emptied after
each commit, and its answer too once it comes. A read a kill forgets is just read again.
If the journal cannot be written (a full disk), `intent()` raises `JournalError`: no call is
sent unrecorded.

No secret reaches the file: what goes to the intent log is masked first, and what waits for
a commit is checked for secrets by the commit, every text at once (_mask_waiting).

One run writes a journal at a time: the writer holds a lock on the intent log (a second run
on the same file is refused); readers (`runs list`) copy the log in only when nobody holds it.

Checkpoints (copying the WAL into the database file, with an fsync) run in a thread of their
own every CHECKPOINT_EVERY commits: SQLite's automatic ones ran inside a commit, stalling the
event loop, and cost the benchmark a third of the journal's time.
"""

from __future__ import annotations

import asyncio
import secrets as random_tokens
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import orjson

from runner.errors import Finding, InputError, JournalError, Location
from runner.journal.intent_log import IntentLog, open_log
from runner.journal.paths import (
    check_is_journal,
    folders_to_make,
    open_to_write,
    remove_made,
)
from runner.journal.rows import (
    ANSWER_KEPT,
    CALL_JSON,
    CHECKPOINT_EVERY,
    GROUP_SECONDS,
    INSERT_CALL,
    INSERT_ITEM,
    INTENT_SIZE,
    ITEM_JSON,
    NO_OUTCOME,
    OUTCOME_JSON,
    UNKEYED_FAILURES,
    UPDATE_OUTCOME,
    UPSERT_STEP,
    json_text,
    key_of,
    loaded_json,
    masked_json,
    masked_row,
    run_warnings,
)
from runner.secrets import REDACTOR

# sqlite3 binds None as NULL only after looking for an adapter, raising and clearing an
# AttributeError for each None (the PEP 246 protocol search), and most values in a journal
# row are None (an answer's error, a read's response, an item's reason). An adapter
# registered for None is found first: an empty dict's `get` returns None for any value, in
# C. Storing the chain benchmark's rows takes a fifth fewer instructions, the same NULLs
# stored.
_NOTHING: dict[None, None] = {}
sqlite3.register_adapter(type(None), _NOTHING.get)


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + random_tokens.token_hex(3)


class JournalFile:
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
            check_is_journal(self.path)
        self._made = folders_to_make(self.path)  # see close(discard=True)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = open_to_write(self.path)
            try:
                self._log, self._others_writing = open_log(self.path, self.db, reader=reader)
            except BaseException:  # refused: another run writes it
                self.db.close()
                raise
        except (OSError, sqlite3.Error) as exc:
            raise InputError.plain(f"journal {self.path}: cannot be opened ({exc})") from None
        self.run_id = ""
        self.attempt = 0  # the run's first; its first resume is 1, ...
        self._commit_scheduled: asyncio.TimerHandle | None = None
        self._next_call = int(self.db.execute("SELECT COALESCE(MAX(id), 0) FROM calls")
                              .fetchone()[0]) + 1
        self._calls: dict[int, list[Any]] = {}  # rows not yet committed, by call id
        self._outcomes: list[Sequence[Any]] = []  # of calls committed before
        self._items: list[Sequence[Any]] = []
        self._item_keys: dict[tuple[str, int | None], str] = {}  # of items running, see keyed()
        self._unchecked: list[str] = []  # texts of the rows waiting, not yet checked for secrets
        self._writes_sent: set[int] = set()  # writes logged and sent, not yet answered
        self._commits = 0
        self._warnings: list[dict[str, str | None]] = []  # this attempt's
        self._checkpointer: threading.Thread | None = None
        self.failure: JournalError | None = None

    def close(self, *, discard: bool = False) -> None:
        """Commit what waits and close. `discard`: a journal this opening made (and the
        folders it made for it) is removed, such as one no run was begun in: a command
        refused leaves nothing behind."""
        if self._commit_scheduled is not None:  # a commit queued on the loop: do it now
            self._commit_scheduled.cancel()
        self._commit()
        if self._checkpointer is not None:
            self._checkpointer.join()
        self.db.close()  # the last connection to close checkpoints the rest
        if self._log is not None:
            if discard and self._made is not None:  # the log's lock keeps other runs out
                remove_made(self.path, self._made)
            self._log.close()
            self._log = None

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
        self._mask_waiting()
        try:
            if (self._calls or self._outcomes or self._items) and not self.db.in_transaction:
                self.db.execute("BEGIN")
            if self._calls:
                self.db.executemany(INSERT_CALL, self._calls.values())
                self._calls.clear()
            if self._outcomes:
                self.db.executemany(UPDATE_OUTCOME, self._outcomes)
                self._outcomes.clear()
            if self._items:
                self.db.executemany(INSERT_ITEM, self._items)
                self._items.clear()
            if self.db.in_transaction:
                self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._failed(exc)
            return
        if self._log is not None:  # each row of the log is in the file now
            self._log.emptied()
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY == 0:
            self._checkpoint_soon()

    def _mask_waiting(self) -> None:
        """Mask the secrets the rows waiting hold. Their texts are checked all at once, one
        pass in C over them joined; only should one hold a secret are they masked one by
        one (a read's params, answers' values, items' records: masking each as it came was a
        Python call for each, a tenth of the journal's instructions in the chain benchmark)."""
        if not self._unchecked:
            return
        clean = REDACTOR.holds_none("\0".join(self._unchecked))
        self._unchecked.clear()
        if clean:
            return
        for row in self._calls.values():
            row[:] = masked_row(row, CALL_JSON)
        self._outcomes = [masked_row(row, OUTCOME_JSON) for row in self._outcomes]
        self._items = [masked_row(row, ITEM_JSON) for row in self._items]

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
              inputs: Mapping[str, Any], shard: str | None,
              item_keys: Mapping[str, str] | None = None,
              item_lists: Mapping[str, str] | None = None) -> None:
        """`item_keys`: each for_each's `key` template by step id, and `item_lists` each
        keyless for_each's list as the playbook writes it (a resume with others would match
        the recorded items to other items); None: not known."""
        self.run_id = run_id
        started = time.time()
        self._write(
            "INSERT INTO runs (run_id, playbook, file, playbook_sha, inputs, shard, started_at,"
            " status, item_keys, item_lists) VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)",
            (run_id, playbook, file, playbook_sha, masked_json(dict(inputs)), shard, started,
             None if item_keys is None else masked_json(dict(item_keys)),
             None if item_lists is None else masked_json(dict(item_lists))))
        self._write("INSERT INTO attempts (run_id, attempt, started_at) VALUES (?, 0, ?)",
                    (run_id, started))

    def reopen(self, run_id: str) -> None:
        self.run_id = run_id
        self._write("UPDATE runs SET status = 'running', finished_at = NULL, exit_code = "
                        "NULL, resumed = resumed + 1 WHERE run_id = ?", (run_id,))
        found = self.db.execute("SELECT resumed FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        self.attempt = found[0] if found else 0
        self._write("INSERT OR REPLACE INTO attempts (run_id, attempt, started_at) VALUES "
                    "(?, ?, ?)", (run_id, self.attempt, time.time()))

    def intent(self, step: str, iteration: int | None, endpoint: str, kind: str,
               params: dict[str, Any], *, write: bool) -> int:
        """Record a call about to be sent; its id. A `write`'s intent is on disk on return
        (in the intent log). JournalError if the journal cannot be written."""
        if self.failure is not None:
            raise self.failure
        call_id, self._next_call = self._next_call, self._next_call + 1
        item_key = self._item_keys.get((step, iteration)) if self._item_keys else None
        intent = (call_id, self.run_id, step, key_of(iteration), endpoint, kind,
                  masked_json(params) if write else self._unmasked(params), time.time(),
                  item_key)
        if write:
            try:
                self._logging().intent(intent)
            except OSError as exc:
                raise self._failed(exc) from None
            self._writes_sent.add(call_id)
        self._calls[call_id] = [*intent, *NO_OUTCOME]
        self._commit_soon()
        return call_id

    def _logging(self) -> IntentLog:
        if self._log is None:
            raise RuntimeError(f"journal {self.path} is not open for writing")
        return self._log

    def _unmasked(self, value: Any) -> str:
        """`value` as JSON text, its secrets masked by the commit (see _mask_waiting)."""
        text = json_text(value)
        self._unchecked.append(text)
        return text

    def outcome(self, call_id: int, *, status: int | None, result_code: str | None,
                outcome: str, duration: float, error: str | None = None,
                facts: Mapping[str, list[Any]] | None = None, response: Any = None) -> None:
        """`outcome`: ok, failed (the vendor answered no), unknown (no answer to go by).

        `facts` are the answer's enumerated values (callStatus, failCode, ...) for reports;
        `response` is the answer of a failed call (past ANSWER_KEPT characters of JSON, kept
        as a text: its start), or of a write answered ok, whole (if its item fails after,
        `--resume` reads it rather than send it again).
        """
        write = call_id in self._writes_sent  # its answer goes to the intent log: masked now
        encoded = masked_json if write or outcome != "ok" else self._unmasked
        kept = None if response is None else encoded(response)
        if kept is not None and outcome != "ok" and len(kept) > ANSWER_KEPT:
            kept = orjson.dumps(kept[:ANSWER_KEPT] + " [cut]").decode()  # still JSON: a text
        answer = (time.time(), status, result_code, outcome, duration,
                  REDACTOR.text(error) if error else None, encoded(facts) if facts else None,
                  kept)
        if write:  # a write's answer is on disk too: a kill keeps it
            self._writes_sent.discard(call_id)
            try:
                self._logging().answer((*answer, call_id))
            except OSError as exc:
                self._failed(exc)  # the next intent is refused; this call is already made
        row = self._calls.get(call_id)
        if row is not None:  # its intent is not committed yet: one row for both
            row[INTENT_SIZE:] = answer
        else:
            self._outcomes.append((*answer, call_id))
        self._commit_soon()

    def keyed(self, step: str, iteration: int, key: str) -> None:
        """Item `iteration` of `step` has the for_each's `key` given: its calls and its row
        carry it, so that --resume finds the item by its key wherever the list now has it."""
        self._item_keys[(step, iteration)] = REDACTOR.text(key)

    def keyed_again(self, step: str) -> list[int]:
        """A resume begins going through the list of `step`, a keyed for_each, again: the
        failures earlier attempts recorded of its items whose key did not render go (see
        UNKEYED_FAILURES); their iterations, lowest first."""
        where = (self.run_id, step)
        forgotten = [iteration for (iteration,) in self.db.execute(
            f"SELECT iteration {UNKEYED_FAILURES} ORDER BY iteration", where)]
        self._write(f"DELETE {UNKEYED_FAILURES}", where)
        return forgotten

    def item(self, step: str, iteration: int | None, status: str, record: Any = None,
             reason: str | None = None) -> None:
        item_key = self._item_keys.pop((step, iteration), None) if self._item_keys else None
        self._items.append((self.run_id, step, key_of(iteration), status,
                            self._unmasked(record) if record is not None else None,
                            REDACTOR.text(reason) if reason else None, time.time(),
                            self.attempt, item_key))
        self._commit_soon()

    def step(self, step: str, status: str, calls: int, iterations: int, succeeded: int,
             skipped: int, failed: int, retries: int, duration: float,
             error: str | None) -> None:
        self._write(UPSERT_STEP, (self.run_id, step, status, calls, iterations, succeeded,
                                  skipped, failed, retries, duration,
                                  REDACTOR.text(error) if error else None, time.time()))

    def keep_world(self, world: Mapping[str, Any] | None) -> None:
        """The embedded simulator's world as a --sim run left it, for its resume (None: the
        run needs none any more)."""
        if world is None:
            self._write("DELETE FROM sim_worlds WHERE run_id = ?", (self.run_id,))
        else:
            self._write("INSERT OR REPLACE INTO sim_worlds (run_id, world) VALUES (?, ?)",
                        (self.run_id, masked_json(dict(world))))

    def warned(self, step: str | None, message: str) -> None:
        """A warning the run gave (`step` None: the run's), kept with the run when this
        attempt ends: the reports its journal gives have it."""
        self._warnings.append({"step": step, "message": message})

    def _warnings_before(self) -> list[dict[str, str | None]]:
        """The warnings the run's earlier attempts gave."""
        try:
            found = self.db.execute("SELECT warnings FROM runs WHERE run_id = ?",
                                    (self.run_id,)).fetchone()
        except sqlite3.Error:  # the journal is failing: the finish says so, not this
            return []
        return (loaded_json(found[0]) if found else None) or []

    def finish(self, status: str, exit_code: int, outputs: Mapping[str, Any],
               error: str | None) -> None:
        """This attempt's end; the run's warnings are the earlier attempts' and those of its
        own they did not give (run_warnings)."""
        finished = time.time()
        warnings = run_warnings(self._warnings_before(), self._warnings)
        self._write(
            "UPDATE runs SET finished_at = ?, status = ?, exit_code = ?, outputs = ?, error = ?, "
            "warnings = ? WHERE run_id = ?",
            (finished, status, exit_code, masked_json(dict(outputs)),
             REDACTOR.text(error) if error else None, masked_json(warnings), self.run_id))
        self._write("UPDATE attempts SET finished_at = ? WHERE run_id = ? AND attempt = ?",
                    (finished, self.run_id, self.attempt))
        self._warnings = []

