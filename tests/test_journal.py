"""The journal's own promises, on a real SQLite file: what is written where, and when."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from runner.errors import InputError
from runner.journal import GROUP_SECONDS, INTENT_LOG_SUFFIX, AnsweredWrite, Journal
from runner.journal.rows import SCHEMA
from tests.conftest import outbound

CREATE = "huawei-isales.appoint.create"


def _rows(path: Path) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as db:
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
        with closing(Journal(path, reader=True)) as reader:  # `runs list` while it goes on
            assert reader.run("run-1")["calls"] == {}  # not committed yet, nor taken over
        assert log.read_bytes() == held

    asyncio.run(send_and_read())
    writer.close()  # its own commit: no clash with a row a reader copied in
    assert writer.failure is None
    assert _rows(path) == [(1, "reserve", 0, "create", None, None)]
    assert log.read_bytes() == b""


def test_reading_a_journal_that_is_not_there_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "journal.sqlite"
    said = f"there is no journal at {missing} (no run was journaled there; --journal PATH " \
        "names another)"
    listed = outbound("runs", "list", "--journal", str(missing))
    assert listed.exit_code == 0
    assert listed.stdout == f"No runs: {said}\n"
    shown = outbound("runs", "show", "some-run", "--journal", str(missing))
    assert shown.exit_code == 2
    assert shown.stderr == f"error: {said}\n"
    resumed = outbound("run", "playbooks/crm-callbacks.yaml", "--sim", "--resume", "some-run",
                       "--journal", str(missing))
    assert resumed.exit_code == 2
    assert resumed.stderr == f"error: --resume some-run: {said}\n"
    mistyped = outbound("run", "playbooks/crm-callbacks.yaml", "--sim", "--journal",
                        str(missing), "--var", "nope=1")  # refused before the run began
    assert mistyped.exit_code == 2
    assert not (tmp_path / "typo").exists()  # nor the folder made for it


def test_a_journal_not_there_points_at_the_shards_journals_beside_it(
        in_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = tmp_path / "journal.sqlite"
    monkeypatch.setenv("OUTBOUND_JOURNAL", str(journal))  # the default: shards write beside it
    for shard in ("1/2", "2/2"):
        assert outbound("run", "playbooks/crm-callbacks.yaml", "--sim", "-q", "--shard",
                        shard).exit_code == 0
    listed = outbound("runs", "list")
    assert listed.stdout == (
        f"No runs: there is no journal at {journal} (the shards' journals are beside it: "
        "journal.shard-1-of-2.sqlite, journal.shard-2-of-2.sqlite; --journal PATH names "
        "another)\n")
    shard = outbound("runs", "list", "--journal", str(tmp_path / "journal.shard-2-of-2.sqlite"))
    assert shard.stdout.splitlines()[1].split()[1] == "ok"
    # a run refused before it began (an input mistyped) leaves no journal of its own
    refused = outbound("run", "playbooks/crm-callbacks.yaml", "--sim", "--var", "nope=1")
    assert refused.exit_code == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "journal.shard-1-of-2.sqlite", "journal.shard-1-of-2.sqlite-intents",
        "journal.shard-2-of-2.sqlite", "journal.shard-2-of-2.sqlite-intents"]
    with closing(sqlite3.connect(journal)) as db:  # one with no runs (an earlier version's)
        db.executescript(SCHEMA)
    beside = ("(the shards' journals are beside it: journal.shard-1-of-2.sqlite, "
              "journal.shard-2-of-2.sqlite; --journal PATH names one)")
    assert outbound("runs", "list").stdout == f"No runs: journal {journal} has no runs yet " \
        f"{beside}\n"
    assert outbound("runs", "show", "latest").stderr == f"error: journal {journal} has no " \
        f"runs yet {beside}\n"


def _age(path: Path, run_ids: list[str], days: float) -> None:
    """Make runs look `days` older: the test cannot wait a month."""
    with closing(sqlite3.connect(path)) as db, db:
        db.executemany("UPDATE runs SET started_at = started_at - ? WHERE run_id = ?",
                       [(days * 86400, run_id) for run_id in run_ids])


def test_prune_removes_old_runs_whole_and_keeps_the_recent_ones(in_repo: Path,
                                                                  tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite"
    run_ids = []
    for extra in ((), (), ("--var", "campaign_id=404")):  # the last one fails
        result = outbound("run", "playbooks/speech-callbacks.yaml", "--sim", "--journal",
                          str(journal), *extra)
        run_ids.append(result.stdout.splitlines()[1].split()[1])
    old, recent = [run_ids[0], run_ids[2]], run_ids[1]
    _age(journal, old, 40)

    looked = outbound("runs", "prune", "--older-than", "30d", "--journal", str(journal),
                      "--dry-run")
    assert looked.exit_code == 0, looked.output
    assert looked.stdout.startswith("would remove 2 runs started more than 30d ago (")
    assert looked.stdout.endswith("; 1 of them unfinished, which could no longer be resumed); "
                                  "1 kept\n")
    pruned = outbound("runs", "prune", "--older-than", "30d", "--journal", str(journal))
    assert pruned.exit_code == 0, pruned.output
    assert pruned.stdout.startswith("removed 2 runs started more than 30d ago (")
    with closing(sqlite3.connect(journal)) as db:
        for table in ("runs", "calls", "items", "steps"):
            left = {row[0] for row in db.execute(f"SELECT DISTINCT run_id FROM {table}")}
            assert left == {recent}, table
        assert db.execute("SELECT run_id FROM sim_worlds").fetchall() == []  # the failed one's
    listed = outbound("runs", "list", "--journal", str(journal), "--format", "json")
    assert [run["run_id"] for run in json.loads(listed.stdout)] == [recent]
    gone = outbound("run", "playbooks/speech-callbacks.yaml", "--sim", "--journal",
                    str(journal), "--resume", run_ids[2])
    assert gone.exit_code == 2
    assert f"has no run {run_ids[2]!r}" in gone.stderr
    again = outbound("runs", "prune", "--older-than", "30d", "--journal", str(journal))
    assert again.stdout == "no run started more than 30d ago; 1 kept\n"


def test_prune_keeps_a_finished_campaigns_run_for_the_scheduled_command(
        in_repo: Path, tmp_path: Path) -> None:
    """The newest run of a playbook stays however old: without it, the next scheduled job
    (--resume latest, the same inputs) would take the finished campaign for one never run."""
    journal = tmp_path / "journal.sqlite"
    scheduled = ["run", "playbooks/speech-callbacks.yaml", "--sim", "--journal", str(journal),
                 "--resume", "latest"]
    runs = [outbound(*scheduled, *extra) for extra in (("--var", "campaign_id=404"), ())]
    assert [r.exit_code for r in runs] == [1, 0]
    failed, finished = (json.loads(outbound("runs", "list", "--journal", str(journal),
                                            "--format", "json").stdout)[n]["run_id"]
                        for n in (1, 0))
    _age(journal, [failed, finished], 40)
    pruned = outbound("runs", "prune", "--older-than", "30d", "--journal", str(journal))
    assert pruned.exit_code == 0, pruned.output
    assert pruned.stdout.startswith("removed 1 run started more than 30d ago (")
    assert ("; 1 kept (1 of them older, each the newest run of its playbook, which --resume "
            "latest goes by); the journal went from") in pruned.stdout
    again = outbound(*scheduled)
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith(f"run {finished} of these inputs already finished; nothing "
                                   "to do")
    assert outbound("runs", "prune", "--older-than", "30d", "--journal", str(journal)).stdout \
        == ("no run started more than 30d ago to remove; 1 kept (1 of them older, each the "
            "newest run of its playbook, which --resume latest goes by)\n")


def test_prune_says_what_it_needs(in_repo: Path, tmp_path: Path) -> None:
    result = outbound("runs", "prune", "--older-than", "a month")
    assert result.exit_code == 2
    assert result.stderr == "error: --older-than a month: not a duration (e.g. 30d, 12h, 90m)\n"
    missing = tmp_path / "none.sqlite"
    result = outbound("runs", "prune", "--older-than", "30d", "--journal", str(missing))
    assert result.stdout == (f"No runs: there is no journal at {missing} (no run was "
                             "journaled there; --journal PATH names another)\n")
    assert not missing.exists()


def _held(path: Path) -> int:
    """How many of this process's open files are `path` or a file beside it (-wal, -shm)."""
    return sum(os.readlink(fd).startswith(str(path)) for fd in Path("/proc/self/fd").iterdir()
               if fd.is_symlink())


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc (Linux)")
def test_an_opening_refused_keeps_nothing_of_the_journal_open(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    Journal(path).close()
    another_run = os.open(f"{path}{INTENT_LOG_SUFFIX}", os.O_RDWR)
    try:
        fcntl.flock(another_run, fcntl.LOCK_EX)  # as the run writing the journal holds it
        with pytest.raises(InputError, match="is being written by another run") as refused:
            Journal(path)
        assert refused.value  # the error (and its traceback) still there: nothing it holds
        assert _held(path) == 1  # the other run's lock
    finally:
        os.close(another_run)
    path.write_bytes(bytes(range(256)) * 8)  # not a database at all
    with pytest.raises(InputError, match="cannot be opened") as refused:
        Journal(path)
    assert _held(path) == 0


def test_a_file_that_is_not_a_journal_is_never_made_one(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"")  # empty: SQLite would take it for a new database
    for command in (["runs", "list"], ["runs", "show", "x"],
                    ["runs", "prune", "--older-than", "1d"]):
        result = outbound(*command, "--journal", str(notes))
        assert result.exit_code == 2, command
        assert result.stderr == (f"error: journal {notes}: not a journal (it has no runs); "
                                 "--journal PATH names the journal file\n")
    assert notes.read_bytes() == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_run_never_writes_its_journal_into_another_programs_database(
        in_repo: Path, tmp_path: Path) -> None:
    crm = tmp_path / "crm.db"
    with closing(sqlite3.connect(crm)) as db, db:
        db.execute("CREATE TABLE customers (id, phone)")
    before = crm.read_bytes()
    result = outbound("run", "playbooks/crm-callbacks.yaml", "--sim", "--journal", str(crm))
    assert result.exit_code == 2
    assert result.stderr == (f"error: journal {crm}: not a journal but another database (its "
                             "tables: customers); --journal PATH names a journal file, or "
                             "where to start one\n")
    assert result.stdout == ""  # nothing was run
    assert crm.read_bytes() == before  # not even switched to WAL
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crm.db"]


def test_a_long_failed_answer_is_kept_cut_and_the_report_still_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    journal.begin("run-1", "p", "p.yaml", "-", {}, None)
    call = journal.intent("reserve", 0, CREATE, "create", {"n": 0}, write=True)
    answer = {"resultCode": "04000001", "resultDesc": "refused", "data": ["x" * 50] * 200}
    journal.outcome(call, status=200, result_code="04000001", outcome="failed", duration=0.1,
                    error="refused", response=answer)
    journal.item("reserve", 0, "failed", reason="refused")
    journal.finish("failed", 1, {}, "refused")
    journal.close()

    with closing(Journal(path, reader=True)) as reader:
        kept = next(reader.calls("run-1"))["response"]
    assert isinstance(kept, str) and 4096 <= len(kept) < 4200
    assert kept.startswith('{"resultCode":"04000001","resultDesc":"refused"')
    report = tmp_path / "report.html"
    result = outbound("runs", "report", "run-1", "--html", str(report), "--journal", str(path))
    assert result.exit_code == 0, result.output
    assert "04000001" in report.read_text()

    with closing(sqlite3.connect(path)) as db, db:  # as earlier versions cut it: JSON no more
        db.execute("UPDATE calls SET response = substr(json(?), 1, 4096)", (json.dumps(answer),))
    with closing(Journal(path, reader=True)) as reader:
        assert len(next(reader.calls("run-1"))["response"]) == 4096


def test_a_resume_adds_the_warnings_no_earlier_attempt_gave(tmp_path: Path) -> None:
    """A warning about the same item (by its key, else its place) or about the run is kept
    once; the same warning about another item is kept."""
    path = tmp_path / "journal.sqlite"
    why = "the answer breaks the spec (kept: invalid_response is warn)"
    journal = Journal(path)
    journal.begin("run-1", "p", "p.yaml", "-", {}, None)
    journal.warned("list", f"iteration 0: {why}")
    journal.warned("make", f"iteration 1 (key 7): {why}")
    journal.warned(None, "the playbook's window closes in 5 minutes")
    journal.finish("paused", 75, {}, None)
    journal.reopen("run-1")
    journal.warned(None, "the playbook's window closes in 5 minutes")
    journal.warned("list", f"iteration 0: {why}")
    journal.warned("list", f"iteration 1: {why}")
    journal.warned("make", f"iteration 4 (key 7): {why}")  # 7 numbered anew by the resume
    journal.warned("make", f"iteration 5 (key 8): {why}")
    journal.finish("ok", 0, {}, None)
    journal.close()

    with closing(Journal(path, reader=True)) as reader:
        warnings = reader.run("run-1")["warnings"]
    assert [(w["step"], w["message"]) for w in warnings] == [
        ("list", f"iteration 0: {why}"), ("make", f"iteration 1 (key 7): {why}"),
        (None, "the playbook's window closes in 5 minutes"),
        ("list", f"iteration 1: {why}"), ("make", f"iteration 5 (key 8): {why}")]


def test_a_resume_forgets_only_the_callless_failures_of_a_keyed_step(tmp_path: Path) -> None:
    """Those of items whose key did not render go as the step begins again; an item that
    failed after its call stays, though it has no key (as an earlier version wrote it)."""
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    journal.begin("run-1", "p", "p.yaml", "-", {}, None)
    call = journal.intent("reserve", 0, CREATE, "create", {"n": 0}, write=True)
    journal.outcome(call, status=200, result_code="0200001", outcome="failed", duration=0.1,
                    error="refused")
    journal.item("reserve", 0, "failed", reason="iteration 0: refused")
    journal.item("reserve", 1, "failed", reason="iteration 1: no key 'n' here")
    journal.item("other", 0, "failed", reason="iteration 0: no key 'n' here")
    journal.finish("failed", 1, {}, "failed")
    journal.reopen("run-1")
    assert journal.keyed_again("reserve") == [1]  # for the resume to number that item as before
    journal.finish("failed", 1, {}, "failed")
    journal.close()

    with closing(Journal(path, reader=True)) as reader:
        failures = reader.run("run-1")["failures"]
    assert [(f["step"], f["iteration"]) for f in failures] == [("other", 0), ("reserve", 0)]


def test_runs_list_chooses_the_runs_of_a_status_and_of_a_playbook(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    for run_id, playbook, status in [("run-1", "a", "ok"), ("run-2", "b", "failed"),
                                     ("run-3", "a", "failed"), ("run-4", "a", None)]:
        journal = Journal(path)
        journal.begin(run_id, playbook, f"{playbook}.yaml", "-", {}, None)
        if status is not None:  # else it is left running, as a killed run is
            journal.finish(status, 1, {}, None)
        journal.close()

    def listed(*options: str) -> list[str]:
        result = outbound("runs", "list", "--journal", str(path), *options)
        assert result.exit_code == 0, result.output
        return [line.split()[0] for line in result.stdout.splitlines()[1:]]

    assert listed("--status", "failed") == ["run-3", "run-2"]
    assert listed("--status", "killed") == ["run-4"]
    assert listed("--playbook", "a") == listed("--playbook", "a.yaml") == [
        "run-4", "run-3", "run-1"]
    assert listed("--playbook", "a", "--status", "failed") == ["run-3"]
    newest = outbound("runs", "list", "--journal", str(path), "--status", "failed", "--limit",
                      "1").stdout.splitlines()
    assert newest[1].startswith("run-3 ") and newest[2:] == [
        "the newest 1 of 2 runs (--limit 0 lists them all)"]
    none = outbound("runs", "list", "--journal", str(path), "--status", "running")
    assert none.stdout == "No runs of status running\n"
    nameless = outbound("runs", "list", "--journal", str(path), "--playbook", "")
    assert nameless.stdout == "No runs of playbook ''\n"
    killed = json.loads(outbound("runs", "list", "--journal", str(path), "--status", "killed",
                                 "--format", "json").stdout)
    assert [(run["run_id"], run["status"]) for run in killed] == [("run-4", "killed")]
    refused = outbound("runs", "list", "--journal", str(path), "--status", "done")
    assert refused.exit_code == 2 and "'done' is not one of 'ok', 'partial'" in refused.output


def test_runs_list_shows_the_newest_runs_and_says_how_many_it_left_out(
        in_repo: Path, tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite"
    for _ in range(3):
        assert outbound("run", "playbooks/crm-callbacks.yaml", "--sim", "-q", "--journal",
                        str(journal)).exit_code == 0
    every = json.loads(outbound("runs", "list", "--journal", str(journal), "--format", "json",
                                "--limit", "0").stdout)
    assert len(every) == 3
    listed = outbound("runs", "list", "--journal", str(journal), "--limit", "2").stdout
    rows = listed.splitlines()
    assert [row.split()[0] for row in rows[1:3]] == [run["run_id"] for run in every[:2]]
    assert rows[3:] == ["the newest 2 of 3 runs (--limit 0 lists them all)"]
    assert "newest" not in outbound("runs", "list", "--journal", str(journal)).stdout
    latest = outbound("runs", "show", "latest", "--journal", str(journal)).stdout
    assert latest.startswith(f"run {every[0]['run_id']}  ok (exit 0)\n")
    missing = outbound("runs", "show", "nope", "--journal", str(journal)).stderr
    assert missing == (f"error: journal {journal} has no run 'nope' (latest: "
                       + ", ".join(run["run_id"] for run in every) + ")\n")


def test_runs_show_counts_the_step_a_killed_run_was_in_from_its_calls(tmp_path: Path) -> None:
    """A step's row is written when it ends; the step a kill cut short is told from its
    calls and items."""
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    journal.begin("run-1", "p", "p.yaml", "-", {}, None)
    listed = journal.intent("tasks", None, "crm.tasks.list", "list", {}, write=False)
    journal.outcome(listed, status=200, result_code="0", outcome="ok", duration=0.01)
    journal.step("tasks", "ok", 1, 1, 1, 0, 0, 0, 0.01, None)
    for n in range(3):
        call = journal.intent("reserve", n, CREATE, "create", {"n": n}, write=True)
        if n < 2:
            journal.outcome(call, status=200, result_code="0200000", outcome="ok", duration=0.1)
            journal.item("reserve", n, "ok", {"outputs": {}})
    journal.close()  # as a kill leaves it: no step row for reserve, the run still "running"

    shown = outbound("runs", "show", "run-1", "--journal", str(path))
    assert shown.stdout.splitlines()[0] == "run run-1  killed"  # it has no exit code
    assert shown.stdout.splitlines()[5:8] == [
        "STEP     STATUS  CALLS  ITEMS  OK  SKIPPED  FAILED  RETRIES",
        "tasks    ok      1      1      1   0        0       0",
        "reserve  killed  3      2      2   0        0       -"]
    assert "calls: 3 ok, 1 no outcome\n" in shown.stdout


def test_runs_show_tells_failed_calls_the_run_went_on_from(in_repo: Path, tmp_path: Path,
                                                           ) -> None:
    """A poll of a call's result fails until the call has ended: those failures are no
    failure of the run, and runs show says the item tried again."""
    journal = str(tmp_path / "journal.sqlite")
    assert outbound("run", "playbooks/speech-callbacks.yaml", "--sim", "-q", "--journal",
                    journal).exit_code == 0
    shown = outbound("runs", "show", "latest", "--journal", journal)
    whole = json.loads(outbound("runs", "show", "latest", "--journal", journal, "--format",
                                "json").stdout)
    polls = whole["calls"]["failed"]
    assert polls > 0 and whole["calls_tried_again"] == {"failed": polls}
    assert f"calls: {whole['calls']['ok']} ok, {polls} failed (all tried again)\n" in shown.stdout


def test_failed_calls_not_tried_again_are_told_plainly(tmp_path: Path) -> None:
    playbook = tmp_path / "p.yaml"
    playbook.write_text("""\
playbook_version: 1
name: unknown calls
services:
  isales: {spec: huawei-isales}
steps:
  - id: results
    for_each: ["404", "405", "406"]
    as: call_id
    max_failures: 100%
    call: isales.callresult.detail
    params: {vdnId: 8, callId: "{{ call_id }}"}
""")
    journal = str(tmp_path / "journal.sqlite")
    assert outbound("run", str(playbook), "--sim", "-q", "--journal", journal).exit_code == 1
    shown = outbound("runs", "show", "latest", "--journal", journal).stdout
    assert "calls: 3 failed\n" in shown


def test_a_journal_from_before_item_keys_opens_with_a_killed_runs_intents(
        tmp_path: Path) -> None:
    """A journal an earlier version wrote (no key columns) and the intent log its killed run
    left (lines without an item key) are read, and the create they hold is still unknown."""
    path = tmp_path / "journal.sqlite"
    with closing(sqlite3.connect(path)) as db:
        db.executescript(SCHEMA.replace(", item_key TEXT", "").replace(" key TEXT,", ""))
        db.execute("INSERT INTO runs (run_id, playbook, file, playbook_sha, inputs, started_at, "
                   "status) VALUES ('run-1', 'p', 'p.yaml', '-', '{}', 0, 'running')")
        db.commit()
    old_line = [7, "run-1", "reserve", 3, CREATE, "create", '{"n":3}', 1.0]
    Path(f"{path}{INTENT_LOG_SUFFIX}").write_text(json.dumps(old_line) + "\n")
    journal = Journal(path)
    recorded = journal.recorded("run-1")
    journal.close()
    assert list(recorded.unknown) == [("reserve", 3)]
    assert recorded.unknown[("reserve", 3)].params == {"n": 3}
    assert recorded.keys == {}


def test_a_journal_a_later_version_added_columns_to_is_still_written(
        in_repo: Path, tmp_path: Path) -> None:
    """A later version may add a column to any table (as this one added keys and attempts):
    a job still on this version writes and resumes its runs there, naming its columns."""
    path = tmp_path / "journal.sqlite"
    with closing(sqlite3.connect(path)) as db:
        db.executescript(SCHEMA)
        for table in ("runs", "calls", "items", "steps", "sim_worlds", "attempts"):
            db.execute(f"ALTER TABLE {table} ADD COLUMN later TEXT")
    playbook = ("run", "playbooks/speech-callbacks.yaml", "--sim", "--journal", str(path))
    assert outbound(*playbook, "--max-creates", "1").exit_code == 75  # its world kept
    resumed = outbound(*playbook, "--resume", "latest")
    assert resumed.exit_code == 0, resumed.output
    shown = outbound("runs", "show", "latest", "--journal", str(path)).stdout.splitlines()
    assert shown[0].endswith("ok (exit 0)") and "resumed 1x" in shown[2]


def test_a_killed_attempt_ran_until_its_last_call_though_a_later_one_settled_it(
        tmp_path: Path) -> None:
    """The resume that looks up a killed attempt's create of unknown outcome records what it
    found then: the killed attempt still ran until it sent that create, not until the resume
    began (the start-up between them is no attempt's)."""
    path = tmp_path / "journal.sqlite"
    with closing(Journal(path)) as killed:
        killed.begin("run-1", "p", "p.yaml", "-", {}, None)
        call = killed.intent("reserve", 0, CREATE, "create", {"n": 0}, write=True)
    with closing(Journal(path)) as resumed:
        resumed.reopen("run-1")
        resumed.reconciled(call, found={"n": 0}, how="it happened")
        resumed.finish("ok", 0, {}, None)
    with closing(sqlite3.connect(path)) as db, db:  # the times of a killed run and its resume
        db.execute("UPDATE runs SET started_at = 1000, finished_at = 1120")
        db.execute("UPDATE attempts SET started_at = 1000 WHERE attempt = 0")
        db.execute("UPDATE attempts SET started_at = 1100, finished_at = 1120 WHERE attempt = 1")
        db.execute("UPDATE calls SET sent_at = 1010, finished_at = 1115")  # looked up at 1115
    with closing(Journal(path, reader=True)) as reader:
        assert reader.run("run-1")["ran_s"] == 10 + 20


def test_what_a_lookup_found_outlives_a_kill_before_its_commit(tmp_path: Path) -> None:
    """A resume is killed right after its lookup found an earlier create made: the next
    resume goes by that finding, and does not ask the vendor again."""
    path = tmp_path / "journal.sqlite"
    with closing(Journal(path)) as killed:
        killed.begin("run-1", "p", "p.yaml", "-", {}, None)
        call = killed.intent("reserve", 0, CREATE, "create", {"n": 0}, write=True)
    resumed = Journal(path)
    resumed.reopen("run-1")
    left = tmp_path / "as-the-kill-left-it"
    left.mkdir()

    async def look_up_and_die() -> None:
        resumed.reconciled(call, found={"appointId": "a1"}, how="appoint.list shows it happened")
        for file in tmp_path.glob("journal.sqlite*"):  # the files as they are: not committed
            shutil.copy(file, left / file.name)

    asyncio.run(look_up_and_die())
    resumed.close()
    with closing(Journal(left / "journal.sqlite")) as next_resume:
        recorded = next_resume.recorded("run-1")
    assert recorded.unknown_write("reserve", 0) is None
    assert recorded.answered_write("reserve", 0) == AnsweredWrite(
        call, 200, {"appointId": "a1"}, by_hand=False, found=True)


def test_a_run_journaled_before_attempts_were_took_its_span(in_repo: Path,
                                                            tmp_path: Path) -> None:
    """An earlier version kept no attempts: such a run's time is its start to its end, as it
    was shown then, even once resumed by this one."""
    path = tmp_path / "journal.sqlite"
    with closing(sqlite3.connect(path)) as db:
        db.executescript(SCHEMA)
        db.execute("INSERT INTO runs (run_id, playbook, file, playbook_sha, inputs, started_at, "
                   "finished_at, status, exit_code, resumed) VALUES ('run-1', 'p', 'p.yaml', "
                   "'-', '{}', 1000, 1090, 'ok', 0, 1)")
        db.execute("INSERT INTO attempts VALUES ('run-1', 1, 1080, 1090)")  # resumed since
        db.commit()
    listed, = json.loads(outbound("runs", "list", "--journal", str(path), "--format",
                                  "json").stdout)
    assert listed["ran_s"] is None
    assert outbound("runs", "list", "--journal", str(path)).stdout.splitlines()[1].split()[5] \
        == "90.0s"
    shown = outbound("runs", "show", "run-1", "--journal", str(path)).stdout.splitlines()
    assert shown[2] == "started 1970-01-01 00:16:40 UTC, took 90.0s, resumed 1x"


def test_the_commit_masks_a_secret_among_many_clean_rows(tmp_path: Path) -> None:
    """Rows waiting for a commit are checked for secrets together: one holding a secret, in a
    read's params, an answer's values or an item's record, is masked; the others are kept
    as they came. A write's intent and answer reach the intent log masked."""
    from runner.secrets import REDACTOR

    REDACTOR.add("j0urnal-s3cret")
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    journal.begin("run-1", "p", "p.yaml", "-", {}, None)

    async def calls() -> None:
        for n in range(50):
            read = journal.intent("look", n, "crm.task.list", "list",
                                  {"owner": "j0urnal-s3cret" if n == 7 else f"ops-{n}"},
                                  write=False)
            journal.outcome(read, status=200, result_code="0", outcome="ok", duration=0.01,
                            facts={"state": ["j0urnal-s3cret" if n == 8 else "open"]})
            journal.item("look", n, "ok", {"seen": "j0urnal-s3cret" if n == 9 else n})
        made = journal.intent("make", None, CREATE, "create", {"remark": "j0urnal-s3cret"},
                              write=True)
        journal.outcome(made, status=200, result_code="0", outcome="ok", duration=0.01,
                        response={"remark": "j0urnal-s3cret"})
        log = Path(f"{path}{INTENT_LOG_SUFFIX}").read_text()
        assert log.count("[redacted]") == 2 and "j0urnal" not in log

    asyncio.run(calls())
    journal.close()
    with closing(sqlite3.connect(path)) as db:
        params = [row[0] for row in db.execute("SELECT params FROM calls ORDER BY id")]
        facts = [row[0] for row in db.execute("SELECT facts FROM calls WHERE step = 'look' "
                                              "ORDER BY id")]
        records = [row[0] for row in db.execute("SELECT record FROM items WHERE step = "
                                                "'look' ORDER BY iteration")]
        response = db.execute("SELECT response FROM calls WHERE step = 'make'").fetchone()[0]
    assert params[7] == '{"owner":"[redacted]"}' and params[6] == '{"owner":"ops-6"}'
    assert params[-1] == '{"remark":"[redacted]"}'
    assert facts[8] == '{"state":["[redacted]"]}' and facts[9] == '{"state":["open"]}'
    assert records[9] == '{"seen":"[redacted]"}' and records[10] == '{"seen":10}'
    assert response == '{"remark":"[redacted]"}'
    assert "j0urnal" not in path.read_bytes().decode("utf-8", errors="replace")


def test_runs_show_tells_why_each_write_s_outcome_is_unknown(tmp_path: Path) -> None:
    """What its operator settles it by (runs resolve): a timeout, no outcome at all (a kill),
    or an ok whose answer an earlier version did not keep, which is looked up as unknown."""
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    journal.begin("run-1", "p", "p.yaml", "-", {}, None)
    timed_out, _, kept_no_answer = (  # the second is left with no outcome, as a kill leaves it
        journal.intent("reserve", n, CREATE, "create", {"n": n}, write=True) for n in range(3))
    journal.outcome(timed_out, status=None, result_code=None, outcome="unknown", duration=3,
                    error=f"{CREATE}: no answer within the read timeout (3s)")
    journal.outcome(kept_no_answer, status=200, result_code="0200000", outcome="ok",
                    duration=0.1, response={"returnCode": "0200000"})
    journal.close()
    with closing(sqlite3.connect(path)) as db, db:  # as versions before answers were kept
        db.execute("UPDATE calls SET response = NULL WHERE id = ?", (kept_no_answer,))
    shown = json.loads(outbound("runs", "show", "run-1", "--journal", str(path), "--format",
                                "json").stdout)
    assert [(write["iteration"], write["why"]) for write in shown["unknown_writes"]] == [
        (0, "no answer within the read timeout (3s)"),  # its endpoint is told beside it
        (1, "no outcome recorded: the run was killed (or crashed) with it out"),
        (2, "answered ok, by a version of outbound-runner that kept no answers")]
