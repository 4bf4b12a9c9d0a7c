"""The intent log beside a journal file (`journal.sqlite-intents`): what must survive a kill
before the next commit.

A write's intent is appended before the request leaves, one line in one write(2): as safe
against a kill as SQLite's WAL, without waiting for a commit. A write's answer is appended
too, once it comes: a kill before the commit otherwise lost up to GROUP_SECONDS of answered
creates (144 at 3,000 a second), each then a look-up on resume, or a question for its
operator where the spec has no `reconcile`. What a resume's look-up found of a write is
appended as its answer, alike. The log is emptied after each commit; whoever opens the
journal next copies what a kill left in it into the file.

The writer holds a lock (flock(2)) on the log for as long as its run goes: a second run on
the same journal is refused.
"""

from __future__ import annotations

import errno
import fcntl
import os
import sqlite3
from pathlib import Path
from typing import Any

import orjson

from runner.errors import InputError
from runner.journal.paths import transaction
from runner.journal.rows import INSERT_LOGGED, INTENT_LOG_SUFFIX, INTENT_SIZE, UPDATE_OUTCOME


def open_log(journal: Path, db: sqlite3.Connection, *,
             reader: bool) -> tuple[IntentLog | None, bool]:
    """Lock the log of `journal` and copy what a killed run left in it into the file (`db`).
    The open log for a writer (None for a reader), and whether another run holds it: a
    reader then leaves it as it is, and a writer is refused (InputError)."""
    log = IntentLog(journal)
    try:
        if not log.locked:
            if reader:
                return None, True
            raise InputError.plain(
                f"journal {journal} is being written by another run; wait for it to end "
                "(runs that overlap need a journal each: --journal PATH)")
        log.copy_into(db)
    except BaseException:
        log.close()
        raise
    if reader:
        log.close()
        return None, False
    return log, False


class IntentLog:
    """The log of one journal file, opened and locked (`locked` False: another run holds it,
    and nothing may be appended)."""

    def __init__(self, journal: Path) -> None:
        self.path = Path(f"{journal}{INTENT_LOG_SUFFIX}")
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.locked = True
        except BlockingIOError:
            self.locked = False
        self.holds_rows = False  # lines not yet committed to the journal file

    def copy_into(self, db: sqlite3.Connection) -> None:
        """Commit to the journal file `db` what a killed run left in the log (the intents and
        answers already there are left as they are), and empty it."""
        size = os.fstat(self._fd).st_size
        if not size:
            return
        self.holds_rows = True
        intents, outcomes = logged_rows(os.pread(self._fd, size, 0))
        with transaction(db):
            db.executemany(INSERT_LOGGED, intents)
            db.executemany(UPDATE_OUTCOME, outcomes)
        self.emptied()

    def intent(self, row: tuple[Any, ...]) -> None:
        """Append a write's intent: on disk on return. OSError if it is not all there."""
        self._write(orjson.dumps(row) + b"\n")

    def answer(self, row: tuple[Any, ...]) -> None:
        """Append a write's answer (an UPDATE_OUTCOME row). OSError if it is not all there."""
        self._write(orjson.dumps({"outcome": row}) + b"\n")

    def _write(self, data: bytes) -> None:
        if os.write(self._fd, data) != len(data):  # the disk filled up mid-line
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.holds_rows = True

    def emptied(self) -> None:
        """Every row the log holds is committed to the file now."""
        if self.holds_rows:
            try:
                os.ftruncate(self._fd, 0)
                self.holds_rows = False
            except OSError:
                pass  # copied in again next time, harmlessly (INSERT OR IGNORE)

    def close(self) -> None:
        os.close(self._fd)  # which unlocks it


def logged_rows(log: bytes) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The intent log's lines: each write's intent (an INSERT_LOGGED row), and the outcomes
    of those answered before the kill (`{"outcome": [...]}`, an UPDATE_OUTCOME row). A line
    the kill cut short is left out: its call was not sent, or its answer is not known."""
    intents, outcomes = [], []
    for line in log.splitlines():
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(row, dict):
            outcomes.append(tuple(row["outcome"]))
        else:  # a log from before item keys has no item_key
            intents.append((*row, None) if len(row) == INTENT_SIZE - 1 else tuple(row))
    return intents, outcomes
