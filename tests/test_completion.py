"""Shell completion (`eval "$(_OUTBOUND_COMPLETE=bash_source outbound)"`): what a Tab offers."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runner.journal import INTENT_LOG_SUFFIX, Journal
from tests.conftest import ROOT, offered, outbound, values


def test_specs_show_completes_endpoint_names_with_their_summaries(in_repo: Path) -> None:
    assert offered("outbound specs show huawei-isales.app") == [
        ("plain", "huawei-isales.appoint.list", "List reserved outbound calls"),
        ("plain", "huawei-isales.appoint.create", "Create a reserved outbound call")]
    assert len(values("outbound specs show ")) == 5


def test_a_spec_of_the_working_directory_is_offered_and_a_broken_one_passed_over(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "mine.yaml").write_text(
        "spec_version: 1\nservice: mine\nendpoints:\n  leads.list: {summary: My leads}\n")
    (tmp_path / "specs" / "broken.yaml").write_text("service: [unclosed\n")
    monkeypatch.chdir(tmp_path)
    assert offered("outbound specs show mi") == [("plain", "mine.leads.list", "My leads")]
    assert "huawei-isales.appoint.list" in values("outbound specs show ")


def test_spec_arguments_offer_spec_names_and_files(in_repo: Path) -> None:
    assert offered("outbound specs diff huawei-isales c") == [("plain", "crm", "_"),
                                                             ("file", "c", "_")]
    assert values("outbound specs export-openapi sp") == ["speech-openapi", "sp"]


def _run(journal: Path, *options: str) -> str:
    """A --sim run of the shipped campaign, journalled in `journal`; its run id."""
    assert outbound("run", "playbooks/speech-callbacks.yaml", "--sim", "-q", "--journal",
                    str(journal), *options).exit_code == 0
    listed = outbound("runs", "list", "--journal", str(journal), "--format", "json").output
    return str(json.loads(listed)[0]["run_id"])


def test_run_ids_come_from_the_journal_newest_first(in_repo: Path, tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite"
    ids = [_run(journal), _run(journal)]
    shown = offered(f"outbound runs show --journal {journal} ")
    assert [value for _, value, _ in shown] == ["latest", ids[1], ids[0]]
    assert shown[1][2].startswith("Reserve iSales callbacks for customers of running speech "
                                  "tasks, started 20")
    assert values(f"outbound runs show --journal {journal} {ids[1][:-3]}") == [ids[1]]


def test_runs_list_offers_the_playbooks_the_journal_has_runs_of(tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite"
    for run_id, name, file in [("run-1", "callbacks", "callbacks.yaml"),
                               ("run-2", "canary", "canary.yaml"),
                               ("run-3", "callbacks", "./callbacks.yaml")]:
        writer = Journal(journal)
        writer.begin(run_id, name, file, "-", {}, None)
        writer.close()
    assert offered(f"outbound runs list --journal {journal} --playbook ") == [
        ("plain", "callbacks", "./callbacks.yaml"), ("plain", "canary", "canary.yaml")]
    assert values(f"outbound runs list --journal {journal} --playbook can") == ["canary"]
    assert values(f"outbound runs list --journal {tmp_path / 'none.sqlite'} --playbook ") == []


def test_a_report_offers_the_runs_of_every_journal_it_names(in_repo: Path,
                                                             tmp_path: Path) -> None:
    first, second = tmp_path / "shard-1.sqlite", tmp_path / "shard-2.sqlite"
    ids = [_run(first), _run(second)]
    assert values(f"outbound runs report --journal {first} --journal {second} 2") == [
        ids[1], ids[0]]


def test_a_shards_resume_offers_the_runs_of_its_own_journal(in_repo: Path,
                                                             own_journal: Path) -> None:
    assert outbound("run", "playbooks/speech-callbacks.yaml", "--sim", "-q", "--shard",
                    "2/3").exit_code == 0
    shard_runs = values("outbound run playbooks/speech-callbacks.yaml --shard 2/3 --resume ")
    assert len(shard_runs) == 2
    assert values("outbound run playbooks/speech-callbacks.yaml --resume ") == ["latest"]


def test_resume_offers_latest_and_the_default_journals_runs(own_journal: Path) -> None:
    assert offered("outbound run playbooks/x.yaml --resume ") == [
        ("plain", "latest",
         "the newest run of this playbook with these inputs, if it did not finish")]
    assert not own_journal.exists()  # looking did not make one


def test_a_file_that_is_no_journal_offers_only_latest(tmp_path: Path) -> None:
    other = tmp_path / "notes.txt"
    other.write_text("not a database\n")
    assert values(f"outbound runs show --journal {other} ") == ["latest"]
    assert other.read_text() == "not a database\n"


def test_resolve_offers_the_items_whose_writes_have_an_unknown_outcome(
        in_repo: Path, tmp_path: Path) -> None:
    journal, plan = tmp_path / "j.sqlite", tmp_path / "faults.yaml"
    plan.write_text("seed: 1\nfaults:\n  - {kind: reset_after, rate: 1.0, times: 2, "
                    "on: huawei-isales.appoint.create}\n")  # two creates made, never answered
    assert outbound("run", "playbooks/speech-callbacks.yaml", "--sim", "--sim-faults",
                    str(plan), "-q", "--journal", str(journal)).exit_code == 1
    resolve = f"outbound runs resolve --journal {journal} latest "
    assert offered(resolve) == [("plain", "reserve[0]", "huawei-isales.appoint.create"),
                                ("plain", "reserve[1]", "huawei-isales.appoint.create")]
    assert outbound("runs", "resolve", "--journal", str(journal), "latest", "reserve[0]",
                    "--not-sent").exit_code == 0
    assert values(resolve + "re") == ["reserve[1]"]
    assert values(f"outbound runs resolve --journal {journal} no-such-run ") == []


def test_resolve_offers_the_items_that_failed_with_their_reasons(
        in_repo: Path, tmp_path: Path) -> None:
    """`--skip` leaves one out: a number the vendor refuses each time."""
    journal, plan = tmp_path / "j.sqlite", tmp_path / "faults.yaml"
    plan.write_text("faults: [{kind: vendor_code, code: '0200006', times: 2, "
                    "on: huawei-isales.appoint.create}]\n")
    assert outbound("run", "playbooks/speech-callbacks.yaml", "--sim", "--sim-faults",
                    str(plan), "-q", "--journal", str(journal)).exit_code == 1
    resolve = f"outbound runs resolve --journal {journal} latest "
    why = "failed: huawei-isales.appoint.create answered 0200006: database operation error"
    assert offered(resolve) == [("plain", "reserve[0]", why), ("plain", "reserve[1]", why)]
    assert values(resolve + "reserve[0] ") == ["reserve[1]"]  # each item once on the line
    assert outbound("runs", "resolve", "--journal", str(journal), "latest", "reserve[0]",
                    "--skip").exit_code == 0
    assert values(resolve) == ["reserve[1]"]


def test_resolve_offers_a_killed_runs_writes_from_its_intent_log(tmp_path: Path) -> None:
    """What a kill leaves: a create's intent in the intent log, its commit not yet made."""
    path, killed = tmp_path / "j.sqlite", tmp_path / "killed"
    journal = Journal(path)
    journal.begin("run-1", "campaign", "campaign.yaml", "-", {}, None)  # committed at once

    async def send_then_kill() -> None:  # in the event loop, rows wait for a grouped commit
        for iteration in (3, 4):
            journal.intent("reserve", iteration, "huawei-isales.appoint.create", "create",
                           {"calledNo": f"1380000000{iteration}"}, write=True)
        journal.outcome(journal.intent("reserve", 5, "huawei-isales.appoint.create", "create",
                                       {"calledNo": "13800000005"}, write=True),
                        status=200, result_code="0200000", outcome="ok", duration=0.01,
                        response={"returnCode": "0200000"})
        killed.mkdir()
        for file in tmp_path.glob("j.sqlite*"):
            shutil.copy(file, killed / file.name)

    asyncio.run(send_then_kill())
    journal.close()
    log = killed / f"j.sqlite{INTENT_LOG_SUFFIX}"
    before = log.read_bytes()
    assert values(f"outbound runs resolve --journal {killed / 'j.sqlite'} run-1 ") == [
        "reserve[3]", "reserve[4]"]
    assert log.read_bytes() == before  # read, not copied in


def test_the_readmes_line_turns_completion_on_in_bash(in_repo: Path) -> None:
    line = next(line.strip() for line in (ROOT / "README.md").read_text().splitlines()
                if line.strip().startswith('eval "$(_OUTBOUND_COMPLETE=bash_source outbound)"'))
    script = (line.split("#")[0] + "\nCOMP_WORDS=(outbound specs show huawei-isales.call)"
              "; COMP_CWORD=3; _outbound_completion outbound; echo \"${COMPREPLY[@]}\"\n")
    bin_dir = Path(sys.executable).parent  # where pip put `outbound`, as on a user's PATH
    if not (bin_dir / "outbound").exists():
        pytest.skip("the outbound command is not installed beside this Python")
    done = subprocess.run(["bash", "--norc", "-c", script], capture_output=True, text=True,
                          env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"},
                          timeout=60)
    assert (done.stdout, done.stderr) == ("huawei-isales.callresult.detail\n", "")
