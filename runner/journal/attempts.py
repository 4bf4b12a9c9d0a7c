"""How long a run ran: the time of each of its attempts, added up.

A campaign paused at its calling window's close at 20:00 and resumed at 09:00 ran for minutes,
not for the thirteen hours between its start and its end: `runs list`, `runs show` and the
reports a finished run's journal gives count the attempts' time, as its steps' do.
"""

from __future__ import annotations

import math
import sqlite3

_ATTEMPTS = ("SELECT attempt, started_at, finished_at FROM attempts WHERE run_id = ? "
             "ORDER BY attempt")
# where an attempt has no end (it was killed), the last thing it did: its last call, by when
# it was answered, or sent where a later attempt settled it (looked it up, or its operator)
_LAST_CALL = ("SELECT MAX(CASE WHEN finished_at < :following THEN finished_at ELSE sent_at END) "
              "FROM calls WHERE run_id = :run AND sent_at >= :started AND sent_at < :following")


def ran_seconds(db: sqlite3.Connection, run_id: str) -> float | None:
    """The seconds run `run_id`'s attempts ran, a killed one's until its last call; None for a
    run journaled before attempts were (its time is then its span)."""
    attempts = db.execute(_ATTEMPTS, (run_id,)).fetchall()
    if not attempts or [attempt for attempt, _, _ in attempts] != list(range(len(attempts))):
        return None
    ran = 0.0
    followings = [started for _, started, _ in attempts[1:]] + [math.inf]
    for (_, started, finished), following in zip(attempts, followings, strict=True):
        if finished is None:
            last = db.execute(_LAST_CALL, {"run": run_id, "started": started,
                                           "following": following}).fetchone()[0]
            finished = last or started
        ran += max(finished - started, 0.0)
    return ran
