"""The journal's own promises, on a real SQLite file: what is written where, and when."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from runner.journal import GROUP_SECONDS, Journal
from tests.conftest import outbound

CREATE = "huawei-isales.appoint.create"


def _rows(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT id, step, iteration, kind, outcome, status FROM calls "
                          "ORDER BY id").fetchall()


def test_an_outcome_after_its_intents_commit_completes_the_same_row(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    journal.begin("run-1", "p", "p.yaml", "-", {}, None)

    async def calls() -> None:
        first = journal.intent("reserve", 0, CREATE, "create", {"n": 0}, write=True)
        journal.outcome(first, status=200, result_code="0", outcome="ok", duration=0.01)
        second = journal.intent("reserve", 1, CREATE, "create", {"n": 1}, write=True)
        await asyncio.sleep(GROUP_SECONDS * 3)  # its intent is committed meanwhile
        assert _rows(path)[-1][4] is None
        journal.outcome(second, status=200, result_code="0", outcome="ok", duration=0.2)

    asyncio.run(calls())
    journal.close()
    assert _rows(path) == [(1, "reserve", 0, "create", "ok", 200),
                           (2, "reserve", 1, "create", "ok", 200)]


def test_a_reader_leaves_the_intent_log_of_a_run_still_writing_alone(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    log = tmp_path / "journal.sqlite-intents"
    writer = Journal(path)
    writer.begin("run-1", "p", "p.yaml", "-", {}, None)

    async def send_and_read() -> None:
        writer.intent("reserve", 0, CREATE, "create", {"n": 0}, write=True)
        held = log.read_bytes()
        assert held.count(b"\n") == 1 and b'"reserve"' in held
        reader = Journal(path, reader=True)  # `runs list` while the run goes on
        assert reader.run("run-1")["calls"] == {}  # not committed yet, and not taken over
        assert log.read_bytes() == held

    asyncio.run(send_and_read())
    writer.close()  # its own commit: no clash with a row a reader copied in
    assert writer.failure is None
    assert _rows(path) == [(1, "reserve", 0, "create", None, None)]
    assert log.read_bytes() == b""


def test_reading_a_journal_that_is_not_there_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "journal.sqlite"
    listed = outbound("runs", "list", "--journal", str(missing))
    assert listed.exit_code == 0
    assert listed.stdout == f"No runs: there is no journal at {missing}\n"
    shown = outbound("runs", "show", "some-run", "--journal", str(missing))
    assert shown.exit_code == 2
    assert shown.stderr == (f"error: journal {missing}: no such file (no run was journaled "
                            "there; --journal PATH names another)\n")
    assert not (tmp_path / "typo").exists()
