"""The JUnit and JSON reports, checked against their schemas."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from contextlib import closing
from pathlib import Path

import pytest

from runner.journal import Journal
from runner.validation import file_schema
from tests.conftest import FAILING_LIST, JUNIT_XSD, isales_playbook, outbound

BLOCKLISTED = """\
playbook_version: 1
name: some numbers are blocklisted
services:
  isales: {spec: huawei-isales}
inputs:
  numbers: {type: array, default: ["13800000001", "99900000002", "13800000003", "99900000004"]}
steps:
  - id: reserve
    for_each: "{{ inputs.numbers }}"
    as: number
    max_failures: 2
    call: isales.appoint.create
    params: {vdnId: 8, taskId: "2201", callType: "1", calledNo: "{{ number }}",
             userAccount: ops, appointTime: "{{ now_ms() + 3600000 }}"}
  - id: listed
    call: isales.appoint.list
    params: {vdnId: 8, taskId: "2201"}
    paginate: all
"""


def test_junit_shows_each_step_and_each_failed_item(tmp_path: Path) -> None:
    playbook, junit = tmp_path / "p.yaml", tmp_path / "junit.xml"
    playbook.write_text(BLOCKLISTED)
    result = outbound("run", str(playbook), "--sim", "--report-junit", str(junit))
    assert result.exit_code == 1  # partial: two items failed within max_failures
    JUNIT_XSD.validate(str(junit))
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("4", "2")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == {"reserve", "listed", "reserve[1]", "reserve[3]"}
    failure = cases["reserve[1]"].find("failure")
    assert failure is not None
    assert failure.get("message") == (
        "iteration 1: huawei-isales.appoint.create answered 04000003: the reserved number is "
        "blocklisted (the vendor says: the reserved number is a blocklisted number)")
    assert cases["reserve"].find("failure") is None  # the step itself went on


@pytest.mark.parametrize(("numbers", "told"), [
    ('["99900000002", "99900000004"]', "every item was left out by hand (runs resolve --skip)"),
    ('["13800000001", "99900000002"]',
     "every item was skipped: 1 by when, 1 left out by hand (runs resolve --skip)")])
def test_junit_says_why_a_step_had_every_item_skipped(tmp_path: Path, numbers: str,
                                                       told: str) -> None:
    """By its `when`, by hand, or both: the step's own test case says which."""
    playbook, junit = tmp_path / "p.yaml", tmp_path / "junit.xml"
    playbook.write_text(BLOCKLISTED.replace(
        "    as: number\n", "    as: number\n    when: \"{{ number != '13800000001' }}\"\n"))
    scheduled = ["run", str(playbook), "--sim", "--var", f"numbers={numbers}", "--resume",
                 "latest", "--report-junit", str(junit)]
    assert outbound(*scheduled).exit_code == 1  # the blocklisted ones failed
    failed = [case.get("name") for case in ET.parse(junit).iter("testcase")
              if case.find("failure") is not None]
    assert outbound("runs", "resolve", "latest", *failed, "--skip").exit_code == 0
    assert outbound(*scheduled).exit_code == 0
    JUNIT_XSD.validate(str(junit))
    skipped = ET.parse(junit).find(".//testcase[@name='reserve']/skipped")
    assert skipped is not None and skipped.get("message") == told


def test_junit_of_a_run_that_failed_outside_its_steps_is_not_green(tmp_path: Path) -> None:
    playbook, junit = tmp_path / "p.yaml", tmp_path / "junit.xml"
    playbook.write_text("playbook_version: 1\nname: outputs fail\nservices:\n"
                        "  crm: {spec: crm}\nsteps:\n"
                        "  - {id: tasks, call: crm.tasks.list, paginate: all}\n"
                        "outputs:\n  first: '{{ steps.tasks.items[99].task_id }}'\n")
    result = outbound("run", str(playbook), "--sim", "--report-junit", str(junit))
    assert result.exit_code == 1  # the list had been read: the run failed, not its input
    JUNIT_XSD.validate(str(junit))
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures")) == ("2", "1")
    failure = suite.find("testcase[@name='run']/failure")
    assert failure is not None and failure.get("message") == (
        f"{playbook}:8:10 (outputs.first): list object has no element 99 in "
        "'{{ steps.tasks.items[99].task_id }}'")
    assert suite.find("system-err") is None


def test_junit_of_a_failed_step(in_repo: Path, tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    result = outbound("run", "playbooks/speech-callbacks.yaml", "--sim", "--var",
                      "campaign_id=404", "--report-junit", str(junit))
    assert result.exit_code == 1
    JUNIT_XSD.validate(str(junit))
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    failure = cases["reserve"].find("failure")
    assert failure is not None and "answered 0200007" in (failure.text or "")


def test_junit_counts_a_failed_step_without_for_each_once(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    assert outbound("run", str(FAILING_LIST), "--sim", "--report-junit",
                    str(junit)).exit_code == 2
    JUNIT_XSD.validate(str(junit))
    root = ET.parse(junit).getroot()
    assert [c.get("name") for c in root.iter("testcase")] == ["list"]
    assert root.get("failures") == "1"


@pytest.mark.parametrize(("args", "status"), [
    (["playbooks/crm-callbacks.yaml", "--sim"], "ok"),
    (["playbooks/speech-callbacks.yaml", "--sim", "--var", "campaign_id=404"], "failed"),
    (["playbooks/crm-callbacks.yaml", "--dry-run"], "ok"),
    (["BLOCKLISTED", "--sim"], "partial"),
])
def test_json_reports_match_the_shipped_schema(in_repo: Path, tmp_path: Path,
                                               args: list[str], status: str) -> None:
    if args[0] == "BLOCKLISTED":
        args[0] = str(tmp_path / "p.yaml")
        Path(args[0]).write_text(BLOCKLISTED)
    report = tmp_path / "report.json"
    outbound("run", *args, "--report-json", str(report))
    document = json.loads(report.read_text())
    assert file_schema("report").issues(document) == []
    assert document["status"] == status
    assert (document["run_id"] is None) == ("--dry-run" in args)
    if status == "partial":  # and so is the step whose items failed
        assert [(s["id"], s["status"]) for s in document["steps"]] == [
            ("reserve", "partial"), ("listed", "ok")]


def test_a_dry_runs_report_lists_each_request_it_would_send(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTE", "internal-note-7f3a")  # a secret: masked in the plan too
    playbook, report = tmp_path / "p.yaml", tmp_path / "plan.json"
    playbook.write_text(BLOCKLISTED.replace('"{{ number }}",', '"{{ number }}", remark: '
                                            '"{{ secret(\'NOTE\') }}",'))
    result = outbound("run", str(playbook), "--dry-run", "--report-json", str(report))
    assert result.exit_code == 0, result.output
    document = json.loads(report.read_text())
    assert file_schema("report").issues(document) == []
    planned = document["planned"]
    assert [(p["step"], p["iteration"], p["kind"], p["body"]["calledNo"], p["body"]["remark"])
            for p in planned[:4]] == [("reserve", n, "create", number, "[redacted]") for n, number
                                      in enumerate(["13800000001", "99900000002", "13800000003",
                                                    "99900000004"])]
    assert [(p["step"], p["kind"]) for p in planned[4:]] == [("listed", "list")]
    assert planned[0]["url"] == "/rest/isales/v1/openapi/campaigns/8/appoint/create"
    assert "internal-note-7f3a" not in report.read_text()


def test_merge_refuses_a_report_twice_or_of_another_playbook(in_repo: Path,
                                                             tmp_path: Path) -> None:
    shard, other, merged = tmp_path / "s1.json", tmp_path / "o.json", tmp_path / "m.json"
    assert outbound("run", "playbooks/crm-callbacks.yaml", "--sim", "--shard", "1/2",
                    "--report-json", str(shard)).exit_code == 0
    assert outbound("run", "playbooks/speech-callbacks.yaml", "--sim",
                    "--report-json", str(other)).exit_code == 0
    run_id = json.loads(shard.read_text())["run_id"]
    twice = outbound("runs", "merge", str(shard), str(shard), "--report-json", str(merged))
    assert twice.exit_code == 2
    assert twice.stderr == (f"error: {shard}: run {run_id} is in {shard} already: merged "
                            "twice, it would count twice\n")
    mixed = outbound("runs", "merge", str(shard), str(other), "--report-json", str(merged))
    assert mixed.exit_code == 2
    assert "only the shards of one run merge" in mixed.stderr
    results = tmp_path / "results.json"  # another JSON file: said once, not key by key
    results.write_text('{"passed": 3}')
    stranger = outbound("runs", "merge", str(shard), str(results), "--report-json", str(merged))
    assert (stranger.exit_code, stranger.stderr) == (2, (
        f"error: {results}: not a report written by --report-json (it has no report_version);"
        " runs merge takes the shards' JSON reports\n"))
    assert not merged.exists()


def test_a_report_goes_where_asked_or_the_run_does_not_start(in_repo: Path,
                                                             tmp_path: Path) -> None:
    nested = tmp_path / "reports" / "today" / "run.json"
    assert outbound("run", "playbooks/crm-callbacks.yaml", "--sim", "--report-json",
                    str(nested)).exit_code == 0
    assert json.loads(nested.read_text())["status"] == "ok"  # its folders were made
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    refused = outbound("run", "playbooks/crm-callbacks.yaml", "--sim", "--report-junit",
                       str(blocked / "junit.xml"))
    assert refused.exit_code == 2
    assert refused.stderr.startswith(f"error: --report-junit: cannot make the folder {blocked} ")
    assert "run " not in refused.stdout  # nothing ran


def test_no_report_is_written_over_a_file_the_command_reads(in_repo: Path, tmp_path: Path,
                                                            own_journal: Path) -> None:
    """A report named like the journal, the playbook or an input file would destroy it (the
    journal: every run it holds); two reports named alike would lose one. Refused before
    anything runs."""
    playbook = tmp_path / "p.yaml"
    playbook.write_bytes((in_repo / "playbooks/crm-callbacks.yaml").read_bytes())
    run = ("run", str(playbook), "--sim")
    assert outbound(*run, "--report-json", str(tmp_path / "first.json")).exit_code == 0
    kept = {path: path.read_bytes() for path in (playbook, own_journal)}
    link = tmp_path / "link.yaml"
    link.symlink_to(playbook)
    faults = tmp_path / "faults.yaml"
    faults.write_text("seed: 1\nfaults: []\n")
    refused = {
        ("--report-html", str(own_journal)):
            f"--report-html {own_journal} is the journal: the report would be written over "
            "it; name another file",
        ("--report-json", f"{own_journal}-intents"):
            f"--report-json {own_journal}-intents is the journal's intents file: the report "
            "would be written over it; name another file",
        ("--report-junit", str(link)):
            f"--report-junit {link} is the playbook: the report would be written over it; "
            "name another file",
        ("--sim-faults", str(faults), "--report-json", str(faults)):
            f"--report-json {faults} is the --sim-faults plan: the report would be written "
            "over it; name another file",
        ("--report-json", str(tmp_path / "r"), "--report-junit", str(tmp_path / "." / "r")):
            f"--report-junit {tmp_path / 'r'} is the file --report-json writes too; give "
            "each its own",
    }
    for options, said in refused.items():
        result = outbound(*run, *options)
        assert (result.exit_code, result.stderr, result.stdout) == (2, f"error: {said}\n", "")
    html = outbound("runs", "report", "latest", "--html", str(own_journal))
    assert html.stderr == (f"error: --html {own_journal} is the journal: the report would be "
                           "written over it; name another file\n")
    first = tmp_path / "first.json"
    merged = outbound("runs", "merge", str(first), "--report-json", str(first))
    assert merged.stderr == (f"error: --report-json {first} is a report being merged: the "
                             "report would be written over it; name another file\n")
    assert {path: path.read_bytes() for path in kept} == kept
    assert outbound("runs", "list").exit_code == 0


def test_a_report_that_cannot_be_written_says_the_run_is_journaled(in_repo: Path) -> None:
    result = outbound("run", "playbooks/crm-callbacks.yaml", "--sim", "--report-json",
                      "/dev/full")
    assert result.exit_code == 1
    run_id = result.stdout.splitlines()[1].split()[1]
    assert result.stderr == ("error: --report-json /dev/full: cannot be written (No space "
                             f"left on device); the run itself ended ok (run {run_id}), and "
                             "its journal has it\n")


def test_merge_keeps_each_shards_items_left_out_by_hand(in_repo: Path, tmp_path: Path) -> None:
    """Shard 1's report names an item left out by hand; shard 2's is of a version before
    reports named them."""
    for shard in ("1", "2"):
        assert outbound("run", "playbooks/speech-callbacks.yaml", "--sim", "--shard",
                        f"{shard}/2", "--report-json", str(tmp_path / f"{shard}.json")
                        ).exit_code == 0
    left_out = {"iteration": 3, "key": "13800000035", "reason": "iteration 3 (key "
                "13800000035): resolved by hand: the item is left out of the run; it had "
                "failed: blocklisted"}
    for shard, change in (("1", lambda step: step["left_out"].append(left_out)),
                          ("2", lambda step: step.pop("left_out"))):
        report = json.loads((tmp_path / f"{shard}.json").read_text())
        change(next(step for step in report["steps"] if step["id"] == "reserve"))
        (tmp_path / f"{shard}.json").write_text(json.dumps(report))
    merged, junit = tmp_path / "merged.json", tmp_path / "merged.xml"
    assert outbound("runs", "merge", str(tmp_path / "1.json"), str(tmp_path / "2.json"),
                    "--report-json", str(merged), "--report-junit", str(junit)).exit_code == 0
    document = json.loads(merged.read_text())
    assert file_schema("report").issues(document) == []
    reserve = next(step for step in document["steps"] if step["id"] == "reserve")
    assert reserve["left_out"] == [left_out]
    JUNIT_XSD.validate(str(junit))
    case = ET.parse(junit).find(".//testcase[@name='reserve[3] (key 13800000035)']/skipped")
    assert case is not None and case.get("message") == left_out["reason"]


def test_merge_makes_its_folder_and_names_one_it_cannot(in_repo: Path, tmp_path: Path) -> None:
    shard = tmp_path / "s1.json"
    assert outbound("run", "playbooks/crm-callbacks.yaml", "--sim", "--shard", "1/2",
                    "--report-json", str(shard)).exit_code == 0
    merged = tmp_path / "out" / "merged.json"
    assert outbound("runs", "merge", str(shard), "--report-json", str(merged)).exit_code == 0
    assert json.loads(merged.read_text())["merged_from"]
    blocked = outbound("runs", "merge", str(shard), "--report-json", str(shard / "m.json"))
    assert blocked.exit_code == 2
    assert blocked.stderr == (f"error: --report-json {shard / 'm.json'}: cannot be written "
                              f"({shard} is a file, not a folder)\n")


def test_a_failed_call_keeps_how_long_the_vendor_took(tmp_path: Path) -> None:
    playbook, journal = tmp_path / "p.yaml", tmp_path / "journal.sqlite"
    playbook.write_text(BLOCKLISTED)
    result = outbound("run", str(playbook), "--sim", "--journal", str(journal))
    assert result.exit_code == 1
    run_id = json.loads(outbound("runs", "list", "--journal", str(journal), "--format",
                                 "json").stdout)[0]["run_id"]
    with closing(Journal(journal, reader=True)) as reader:
        calls = list(reader.calls(run_id))
    failed = [call for call in calls if call["outcome"] == "failed"]
    assert len(failed) == 2 and all(call["duration"] > 0 for call in calls)


def test_a_run_found_finished_still_leaves_its_reports_drawn_from_the_journal(
        in_repo: Path, tmp_path: Path) -> None:
    """The next scheduled job finds the campaign done and sends nothing; the reports it was
    asked for are the finished run's, from the journal: its steps' counts over both
    attempts, as the attempts' own reports had them."""
    playbook = "playbooks/speech-callbacks.yaml"
    reports = [tmp_path / f"report-{n}.json" for n in range(3)]
    paused = outbound("run", playbook, "--sim", "--max-creates", "2", "--report-json",
                      str(reports[0]))
    assert paused.exit_code == 75, paused.output
    for n in (1, 2):
        job = outbound("run", playbook, "--sim", "--resume", "latest", "--report-json",
                       str(reports[n]), "--report-junit", str(tmp_path / f"junit-{n}.xml"))
        assert job.exit_code == 0, job.output
    assert "already finished; nothing to do" in job.stdout
    attempts, journaled = [json.loads(r.read_text()) for r in reports[:2]], json.loads(
        reports[2].read_text())
    assert file_schema("report").issues(journaled) == []
    finished = attempts[1]
    for field in ("run_id", "playbook", "file", "inputs", "status", "exit_code", "outputs"):
        assert journaled[field] == finished[field], field
    for step in journaled["steps"]:
        own = [s for attempt in attempts for s in attempt["steps"] if s["id"] == step["id"]]
        assert step["calls"] == sum(s["calls"] for s in own), step["id"]
        assert (step["status"], step["succeeded"], step["failed"]) == (
            own[-1]["status"], own[-1]["succeeded"], own[-1]["failed"])
        codes: dict[str, int] = {}
        for s in own:
            for code, count in s["result_codes"].items():
                codes[code] = codes.get(code, 0) + count
        assert step["result_codes"] == codes, step["id"]
    assert [s["id"] for s in journaled["steps"]] == [s["id"] for s in finished["steps"]]
    JUNIT_XSD.validate(str(tmp_path / "junit-2.xml"))
    names = [[case.get("name") for case in ET.parse(tmp_path / f"junit-{n}.xml").iter(
        "testcase")] for n in (1, 2)]
    assert names[1] == names[0] == [s["id"] for s in finished["steps"]]


REPEATING = isales_playbook("Reserve each number once", """\
steps:
  - id: reserve
    for_each: ["13790000001", "13790000001", "13790000002"]
    as: number
    key: "{{ number }}"
    concurrency: 1
    call: isales.appoint.create
    params: {vdnId: 8, taskId: "2201", callType: "2", calledNo: "{{ number }}",
             userAccount: ops, appointTime: "{{ now_ms() + 600000 }}"}
""")


def test_a_finished_runs_reports_keep_the_warnings_of_every_attempt(tmp_path: Path) -> None:
    """The list repeats a number: each attempt that goes through the list warns and skips
    it. The run's report the journal gives, once it is done, has every attempt's warnings,
    those about the same item once (its steps count every attempt's calls too), and `runs
    show` tells them."""
    playbook, reports = tmp_path / "p.yaml", [tmp_path / f"report-{n}.json" for n in range(3)]
    playbook.write_text(REPEATING)
    paused = outbound("run", str(playbook), "--sim", "--max-creates", "1", "--report-json",
                      str(reports[0]))
    assert paused.exit_code == 75, paused.output
    for n in (1, 2):
        job = outbound("run", str(playbook), "--sim", "--resume", "latest", "--report-json",
                       str(reports[n]))
        assert job.exit_code == 0, job.output
    assert "already finished; nothing to do" in job.stdout
    first, resumed, journaled = (json.loads(r.read_text())["warnings"] for r in reports)
    assert first == [{"step": "reserve", "message": "iteration 1 (key 13790000001): an earlier "
                      "item had the same key (the list shows it again): skipped, not run "
                      "twice"}]
    assert resumed == [{"step": "reserve", "message": "iteration 2 (key 13790000001): an "
                        "earlier item had the same key (the list shows it again): skipped, "
                        "not run twice"}]  # numbered past the first attempt's items
    assert journaled == first
    assert file_schema("report").issues(json.loads(reports[2].read_text())) == []
    shown = outbound("runs", "show", "latest").stdout.splitlines()
    assert [line for line in shown if line.startswith("warn  ")] == [
        f"warn  reserve: {warning['message']}" for warning in journaled]
