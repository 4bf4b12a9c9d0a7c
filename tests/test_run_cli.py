"""`outbound run` as a user runs it: the shipped playbooks on the embedded simulator."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FAILING_LIST, outbound

SHIPPED = ["playbooks/speech-callbacks.yaml", "playbooks/crm-callbacks.yaml"]


@pytest.mark.parametrize("playbook", SHIPPED)
def test_every_shipped_playbook_runs_green_on_the_simulator(in_repo: Path, playbook: str,
                                                            tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = outbound("run", playbook, "--sim", "--report-json", str(report))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1].startswith("run ok in ")
    document = json.loads(report.read_text())
    assert document["status"] == "ok" and document["exit_code"] == 0
    assert all(step["status"] == "ok" for step in document["steps"])


def test_the_callback_playbook_reserves_confirms_and_gets_results(in_repo: Path,
                                                                  tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = outbound("run", SHIPPED[0], "--sim", "--report-json", str(report))
    assert result.exit_code == 0, result.output
    document = json.loads(report.read_text())
    steps = {step["id"]: step for step in document["steps"]}
    assert steps["running"]["calls"] == 2  # three running tasks, two a page
    assert (steps["reserve"]["succeeded"], steps["reserve"]["skipped"]) == (4, 1)
    assert steps["results"]["result_codes"]["0200000"] == 4
    assert steps["results"]["result_codes"]["0200007"] >= 1  # polled before the call was made
    outputs = document["outputs"]
    assert (outputs["reserved"], outputs["answered"]) == (4, 2)
    assert {r["number"]: r["fail_code"] for r in outputs["results"]} == {
        "13800000001": "00000", "13800000017": "00537", "13800000029": "00604",
        "13800000035": "00000"}


def test_inputs_from_var_are_typed_by_their_schema(in_repo: Path, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    customers = '[{"speech_task": 1620, "number": "13800000004"}]'
    result = outbound("run", SHIPPED[0], "--sim", "--var", "vdn_id=42", "--var",
                      f"customers={customers}", "--report-json", str(report))
    assert result.exit_code == 0, result.output
    document = json.loads(report.read_text())
    assert document["inputs"]["vdn_id"] == 42
    assert document["outputs"]["reserved"] == 1


def test_a_vars_file_supplies_inputs(in_repo: Path, tmp_path: Path) -> None:
    vars_file = tmp_path / "vars.yaml"
    vars_file.write_text("customers:\n  - {speech_task: 1623, number: '13800000009'}\n")
    result = outbound("run", SHIPPED[0], "--sim", "--vars-file", str(vars_file))
    assert result.exit_code == 0, result.output
    assert "answered: 0" in result.stdout


def test_a_vars_file_s_problems_are_reported_at_their_place_in_it(in_repo: Path,
                                                                  tmp_path: Path) -> None:
    vars_file = tmp_path / "vars.yaml"
    vars_file.write_text("vdn_id: 99999\ncustomers:\n  - {speech_task: 1623, number: '12ab'}\n"
                         "agnet: ops\n")
    result = outbound("run", SHIPPED[0], "--sim", "--vars-file", str(vars_file),
                      "--var", "lead_minutes=0")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: {vars_file}:4:8 (agnet): the playbook has no input 'agnet'; did you mean "
        "'agent'?",
        f"error: {vars_file}:1:9 (vdn_id): 99999 is greater than the maximum of 9999 "
        "(iSales VDN)",
        "error: input lead_minutes: 0 is less than the minimum of 6 (how far ahead to reserve; "
        "automatic reservations are called 5 minutes early)",
        f"error: {vars_file}:3:33 (customers[0].number): '12ab' does not match "
        "'^[0-9*#]{1,24}$'"]


def test_the_shipped_customer_export_feeds_the_shipped_playbook(in_repo: Path,
                                                                tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = outbound("run", SHIPPED[0], "--sim", "--csv", "customers=playbooks/customers.csv",
                      "--report-json", str(report))
    assert result.exit_code == 0, result.output
    document = json.loads(report.read_text())
    assert document["inputs"]["customers"] == [
        {"speech_task": 1618, "number": "13800000001"},
        {"speech_task": 1619, "number": "13800000002"},
        {"speech_task": 1623, "number": "13800000035"}]
    assert document["outputs"]["reserved"] == 2  # task 1619 is not running


def test_dry_run_shows_the_requests_and_sends_nothing(in_repo: Path) -> None:
    result = outbound("run", SHIPPED[0], "--dry-run")  # no URLs, no secrets: nothing is sent
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "  plan  running  GET /speech/openapi/v1/task/outbound/page?pageSize=2&pageNum=1&" \
           "taskStatus=3" in lines
    assert "  plan  confirm  POST /rest/isales/v1/openapi/campaigns/8/appoint/list" in lines
    assert "  ----  reserve: not planned, its requests depend on the responses of " \
           "steps.running" in lines
    done = ("dry run done: 2 requests planned (2 lists), 2 steps not planned (they depend on "
            "answers); nothing was sent")  # what a real run would send, counted
    assert lines[-1] == done
    quiet = outbound("run", SHIPPED[0], "--dry-run", "-q")
    assert quiet.stdout == done + "\n"  # a cron log must not read it as a run that went ok


def test_a_dry_run_cannot_draw_an_html_report_or_record(in_repo: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    result = outbound("run", SHIPPED[1], "--sim", "--dry-run", "--report-html", str(report))
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == ("error: --report-html draws a run from its journal, and a dry run "
                             "sends and journals nothing (drop --dry-run, or try --sim)\n")
    recorded = outbound("run", SHIPPED[1], "--dry-run", "--record", str(tmp_path / "cassettes"))
    assert (recorded.exit_code, recorded.stderr) == (2, (
        "error: --record keeps the exchanges a run has, and a dry run sends nothing (drop "
        "--dry-run, or try --sim)\n"))
    assert not (tmp_path / "cassettes").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--var", "vdn_id=10000"], "error: input vdn_id: 10000 is greater than the maximum of 9999"
                                " (iSales VDN)"),
    (["--var", "vdn_id=abc"], "error: input vdn_id: 'abc' is not of type 'integer'"),
    (["--var", "vdnid=8"], "error: --var vdnid: the playbook has no input 'vdnid'; did you mean"
                           " 'vdn_id'?"),
    (["--var", "novalue"], "error: --var 'novalue': expected NAME=VALUE"),
    (["--var", 'customers=[{"speech_task": 1618}]'],
     "error: input customers[0].number: 'number' is a required property"),
    (["--var", "customers=13800000001"],
     "error: input customers: 13800000001 is not of type 'array' (a list is given as JSON: "
     "--var 'customers=[{...}, ...]', or as the rows of a CSV file: --csv customers=FILE)"),
    (["--var", 'customers=[{"speech_task": 1618]'],
     "error: input customers: '[{\"speech_task\": 1618]' is not of type 'array' (it is not valid "
     "JSON: look at its quotes, commas and brackets)"),
    (["--var", "vdn_id=8", "--var", "lead_minutes=12,13"],
     "error: input lead_minutes: '12,13' is not of type 'integer'"),
])
def test_bad_vars_are_refused_before_anything_runs(in_repo: Path, args: list[str],
                                                   message: str) -> None:
    result = outbound("run", SHIPPED[0], "--sim", *args)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [message]
    assert result.stdout == ""


def test_a_duration_given_as_an_input_is_checked_before_the_creates(in_repo: Path,
                                                                    tmp_path: Path) -> None:
    """`--var poll_every=abc` feeds the last step's retry delay: found when that step ran, the
    reservations before it would have been made by a run that then stops."""
    report = tmp_path / "report.json"
    result = outbound("run", "playbooks/speech-callbacks.yaml", "--sim", "--var",
                      "poll_every=abc", "--report-json", str(report))
    assert result.exit_code == 2
    assert result.stderr == (
        "error: step results: playbooks/speech-callbacks.yaml:101:14 (steps[3].retry.delay): "
        "'{{ inputs.poll_every }}' gave 'abc', which is not a duration (e.g. 5s, 2m)\n")
    steps = json.loads(report.read_text())["steps"]
    assert [(s["id"], s["status"], s["calls"]) for s in steps] == [("results", "failed", 0)]


def test_a_missing_playbook_file(in_repo: Path) -> None:
    result = outbound("run", "playbooks/nope.yaml", "--sim")
    assert result.exit_code == 2
    assert result.stderr == "error: playbooks/nope.yaml: no such file\n"


def test_a_live_run_names_every_missing_setting_at_once_before_sending(
        in_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SPEECH_URL", "ISALES_URL", "SPEECH_PRIVATE_KEY", "SPEECH_PRIVATE_KEY_FILE",
                 "ISALES_SK", "ISALES_SK_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SPEECH_APP_ID", "app")
    monkeypatch.setenv("ISALES_AK", "ak")
    result = outbound("run", SHIPPED[0])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: service speech: playbooks/speech-callbacks.yaml:19:15 (services.speech.base_url):"
        " the environment variable SPEECH_URL is not set in '{{ env.SPEECH_URL }}'",
        "error: service speech credentials.private_key: playbooks/speech-callbacks.yaml:20:67 "
        "(services.speech.credentials.private_key): secret SPEECH_PRIVATE_KEY is not set: set "
        "the environment variable SPEECH_PRIVATE_KEY, or SPEECH_PRIVATE_KEY_FILE to a file "
        "holding it",
        "error: service isales: playbooks/speech-callbacks.yaml:24:15 (services.isales.base_url):"
        " the environment variable ISALES_URL is not set in '{{ env.ISALES_URL }}'",
        "error: service isales credentials.sk: playbooks/speech-callbacks.yaml:25:56 "
        "(services.isales.credentials.sk): secret ISALES_SK is not set: set the environment "
        "variable ISALES_SK, or ISALES_SK_FILE to a file holding it"]
    assert result.stdout == ""  # the run never started


@pytest.mark.parametrize(("url", "why"), [
    ("ftp://crm.example", ""),
    ("http://crm.example:api", " (Port could not be cast to integer value as 'api')"),
    ("https://crm.example:99999", " (Port out of range 0-65535)"),
    ("https:///v1", " (it names no host and port to connect to)"),
])
def test_a_base_url_that_is_no_address_stops_the_run_before_it_starts(
        in_repo: Path, monkeypatch: pytest.MonkeyPatch, own_journal: Path, url: str,
        why: str) -> None:
    for name, value in {"CRM_URL": url, "CRM_API_KEY": "key", "ISALES_URL": "http://v",
                        "ISALES_AK": "ak", "ISALES_SK": "sk"}.items():
        monkeypatch.setenv(name, value)
    result = outbound("run", "playbooks/crm-callbacks.yaml")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: playbooks/crm-callbacks.yaml:11:15 (services.crm.base_url): service crm: "
        f"base_url {url!r} is not an http(s) URL{why}\n")
    assert not own_journal.exists()  # no run was begun


def test_a_vendor_error_code_fails_the_run_with_its_meaning(in_repo: Path) -> None:
    result = outbound("run", SHIPPED[0], "--sim", "--var", "campaign_id=404")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == ("error: step reserve: 4 items of 5 failed, more than max_failures (0); "
                        "no new item was started:")
    # the four reservations in flight at once (concurrency 4), failed alike: told once
    assert lines[1:] == ["error:   4 items (iterations 0, 1, 3, 4): huawei-isales.appoint.create "
                         "answered 0200007: the outbound campaign does not exist"]
    assert "  FAIL  reserve" in result.stdout


def _written(tmp_path: Path, text: str) -> Path:
    """A playbook of the test's own, as a file."""
    playbook = tmp_path / "p.yaml"
    playbook.write_text(text)
    return playbook


def test_a_rendered_param_outside_its_rule_is_refused_unsent(tmp_path: Path) -> None:
    playbook = _written(tmp_path, """\
playbook_version: 1
name: one reservation
services:
  isales: {spec: huawei-isales}
inputs:
  number: {type: string}
steps:
  - id: reserve
    call: isales.appoint.create
    params: {vdnId: 8, taskId: "2201", callType: "1", calledNo: "{{ inputs.number }}",
             userAccount: ops, appointTime: "{{ now_ms() + 3600000 }}"}
""")
    result = outbound("run", str(playbook), "--sim", "--var", "number=138-0000")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: step reserve: {playbook}:10:65 (steps[0].params.calledNo): "
        "huawei-isales.appoint.create param calledNo: '138-0000' does not match "
        "'^[0-9*#]{1,24}$' (called number: at most 24 characters of digits, * and #)"]
    assert "  FAIL  reserve  0 calls" in result.stdout


LATER_STEP_READS_AN_INPUT = """\
playbook_version: 1
name: reserve, then confirm
services:
  isales: {spec: huawei-isales}
inputs:
  vdn: {type: integer}
  confirm: {type: boolean, default: true}
  team: {type: string, default: ""}
steps:
  - id: reserve
    for_each: ["13800000001", "13800000002"]
    call: isales.appoint.create
    params: {vdnId: 8, taskId: "2201", callType: "1", calledNo: "{{ item }}", userAccount: ops,
             appointTime: "{{ now_ms() + 3600000 }}"}
  - id: confirm
    when: "{{ inputs.confirm }}"
    call: isales.appoint.list
    params: {vdnId: "{{ inputs.vdn }}", taskId: "2201", offset: 0, limit: 10}
  - id: by_team
    when: "{{ inputs.team != '' }}"
    call: isales.appoint.list
    params: {vdnId: 8, taskId: "{{ inputs.team }}", offset: 0, limit: 10}
"""


def test_a_later_step_s_param_given_by_an_input_is_checked_before_the_creates(
        tmp_path: Path) -> None:
    """The input breaks the list's rule: found when that step ran, the reservations before it
    were made, and the run stopped half done. What the inputs alone decide is checked first."""
    playbook = _written(tmp_path, LATER_STEP_READS_AN_INPUT)
    report = tmp_path / "report.json"
    result = outbound("run", str(playbook), "--sim", "--var", "vdn=10000", "--report-json",
                      str(report))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: step confirm: {playbook}:18:21 (steps[1].params.vdnId): "
        "huawei-isales.appoint.list param vdnId: 10000 is greater than the maximum of 9999"]
    assert "  FAIL  confirm  0 calls" in result.stdout
    steps = json.loads(report.read_text())["steps"]
    assert [(s["id"], s["calls"]) for s in steps] == [("confirm", 0)]  # nothing was reserved


def test_what_a_step_the_inputs_turn_off_would_send_is_not_checked(tmp_path: Path) -> None:
    playbook = _written(tmp_path, LATER_STEP_READS_AN_INPUT)
    off = outbound("run", str(playbook), "--sim", "--var", "vdn=10000", "--var", "confirm=false")
    assert off.exit_code == 0, off.output  # the step that would send it does not run
    untold = outbound("run", str(playbook), "--sim", "--var", "vdn=8")
    assert untold.exit_code == 0, untold.output  # no team: by_team, with its empty taskId, is off
    told = outbound("run", str(playbook), "--sim", "--var", "vdn=8", "--var", "team=north")
    assert told.exit_code == 0, told.output


@pytest.mark.parametrize(("people", "exit_code"), [
    ('[{"number": "13800000001"}, {"customer": "Li"}]', 1),  # the first was reserved: run failed
    ('[{"customer": "Li"}, {"number": "13800000001"}]', 2),  # nothing was sent: fix the input
])
def test_exit_2_says_nothing_was_sent(tmp_path: Path, people: str, exit_code: int) -> None:
    playbook = _written(tmp_path, """\
playbook_version: 1
name: reserve
services:
  isales: {spec: huawei-isales}
inputs:
  people: {type: array}
steps:
  - id: reserve
    for_each: "{{ inputs.people }}"
    as: person
    call: isales.appoint.create
    params: {vdnId: 8, taskId: "2201", callType: "1", calledNo: "{{ person.number }}",
             userAccount: ops, appointTime: 1900000000000}
""")
    journal = tmp_path / "journal.sqlite"
    result = outbound("run", str(playbook), "--sim", "--var", f"people={people}", "--journal",
                      str(journal), "-q")
    assert result.exit_code == exit_code
    assert "no key 'number' here (the keys: customer)" in result.stderr
    listed = json.loads(outbound("runs", "list", "--journal", str(journal), "--format",
                                 "json").stdout)
    assert [(run["exit_code"], run["calls"]) for run in listed] == [(exit_code, 2 - exit_code)]


def test_a_rendered_number_where_text_goes_says_how_to_make_it_text(tmp_path: Path) -> None:
    playbook = _written(tmp_path, """\
playbook_version: 1
name: one result
services:
  isales: {spec: huawei-isales}
steps:
  - id: result
    call: isales.callresult.detail
    params: {vdnId: 8, callId: "{{ 17 }}"}
""")  # quoted in YAML already: the template's own value is the number
    result = outbound("run", str(playbook), "--sim")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: step result: {playbook}:8:32 (steps[0].params.callId): "
        "huawei-isales.callresult.detail param callId: 17 is not of type 'string' (a template "
        "rendered it: `| string` makes it text)"]


def test_for_each_over_a_key_the_answer_lacks_names_it(tmp_path: Path) -> None:
    playbook = _written(tmp_path, """\
playbook_version: 1
name: tasks
services:
  crm: {spec: crm}
inputs:
  key: {type: string, default: items}
steps:
  - id: tasks
    call: crm.tasks.list
    params: {status: running}
  - id: pause
    for_each: "{{ steps.tasks.response[inputs.key] }}"
    wait: 1s
""")  # a key named at run time: validate cannot see it is not there
    result = outbound("run", str(playbook), "--sim")
    assert result.exit_code == 1  # the list was read: the run failed, not only its input
    assert result.stderr.splitlines() == [
        f"error: step pause: {playbook}:11:5 (steps[1]): for_each must give a list, got the "
        "method 'items' of a mapping that has no key 'items'"]


def test_a_lone_wait_is_not_shown_as_items(tmp_path: Path) -> None:
    playbook = _written(tmp_path, """\
playbook_version: 1
name: pauses
services:
  crm: {spec: crm}
steps:
  - id: settle
    wait: 2m
  - id: each
    for_each: "{{ [1, 2] }}"
    wait: 1s
""")
    result = outbound("run", str(playbook), "--sim")
    assert result.exit_code == 0, result.output
    assert [line for line in result.stdout.splitlines() if line.startswith("  ok  ")] == [
        "  ok    settle  0 calls, 0.00s", "  ok    each  0 calls, 2 ok, 0 skipped, 0 failed, 0.00s"]


def _reserving(tmp_path: Path, count: int, called_no: str) -> Path:
    """A playbook reserving a call for each of `count` numbers, going past every failure."""
    return _written(tmp_path, f"""\
playbook_version: 1
name: reservations
services:
  isales: {{spec: huawei-isales}}
steps:
  - id: reserve
    for_each: "{{{{ range({count}) | list }}}}"
    as: n
    max_failures: 100%
    call: isales.appoint.create
    params: {{vdnId: 8, taskId: "2201", callType: "1", userAccount: ops,
             calledNo: "{called_no}", appointTime: "{{{{ now_ms() + 600000 }}}}"}}
""")


def test_many_failed_items_are_counted_not_all_listed(tmp_path: Path) -> None:
    playbook = _reserving(tmp_path, 25, "{{ '9990000%04d' % n }}")  # blocklisted
    result = outbound("run", str(playbook), "--sim", "-q")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[:2] == ["error: 25 items failed within max_failures:",
                         "error:   step reserve: 25 items (iterations 0, 1, 2, 3, 4, ...): "
                         "huawei-isales.appoint.create answered 04000003: the reserved number "
                         "is blocklisted (the vendor says: the reserved number is a blocklisted "
                         "number)"]  # failed alike: told once
    run_id = re.fullmatch(r"error:   outbound runs show (\S+) lists every one", lines[2])
    assert run_id is not None and len(lines) == 3
    shown = outbound("runs", "show", run_id.group(1))
    assert shown.stdout.count("failed reserve[") == 25
    by_reason = shown.stdout.splitlines()
    at = by_reason.index("failed items by reason:")
    assert by_reason[at + 2].split(None, 2) == [
        "25", "reserve", "huawei-isales.appoint.create answered 04000003: the reserved number "
        "is blocklisted (the vendor says: the reserved number is a blocklisted number)"]
    assert by_reason[at + 3] == (  # the item is named once, not again as "iteration 0: "
        "failed reserve[0]: huawei-isales.appoint.create answered 04000003: the reserved number "
        "is blocklisted (the vendor says: the reserved number is a blocklisted number)")
    console = outbound("run", str(playbook), "--sim").stdout.splitlines()
    step = next(line for line in console if "  reserve  " in line)
    assert step.startswith("  PART  reserve  25 calls, 0 ok, 0 skipped, 25 failed, ")
    under = console[console.index(step) + 1]
    assert under.startswith("        iteration 0: huawei-isales.appoint.create ")


def test_past_ten_reasons_the_error_counts_the_rest(tmp_path: Path) -> None:
    playbook = _reserving(tmp_path, 13, "{{ '99900' if n < 2 else '1' * (23 + n) }}")
    result = outbound("run", str(playbook), "--sim", "-q")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "error: 13 items failed within max_failures:"
    assert lines[1].startswith("error:   step reserve: 2 items (iterations 0, 1): "
                               "huawei-isales.appoint.create answered 04000003: ")
    for n, line in enumerate(lines[2:11], start=2):  # each too long its own way
        assert line.startswith(f"error:   step reserve: iteration {n}: huawei-isales.appoint."
                               f"create param calledNo: '{'1' * (23 + n)}' does not match ")
    listed = re.fullmatch(r"error:   \.\.\. and 2 more \(outbound runs show (\S+) lists every "
                          r"one\)", lines[11])
    assert listed is not None and len(lines) == 12
    shown = outbound("runs", "show", listed.group(1)).stdout  # 12 reasons: no count of each
    assert shown.count("failed reserve[") == 13 and "by reason" not in shown


def test_a_number_where_the_vendor_documents_text_is_not_told_to_quote_it(
        in_repo: Path, tmp_path: Path) -> None:
    plan = tmp_path / "drift.yaml"  # a YAML hint is for playbook authors, not vendors' answers
    plan.write_text("faults:\n  - {kind: drift, action: retype, field: tasks.*.task_id, "
                    "value: 12347, on: crm.tasks.list, times: 1}\n")
    result = outbound("run", "playbooks/crm-callbacks.yaml", "--sim", "--sim-faults", str(plan))
    assert result.exit_code == 1
    assert result.stderr == ("error: step tasks: crm.tasks.list response (tasks[0].task_id): "
                             "12347 is not of type 'string' (the response breaks the spec)\n")


def test_output_cut_short_by_its_reader_ends_quietly(in_repo: Path) -> None:
    # `outbound run ... --dry-run | head`: no "internal error", the shell's exit for it
    with subprocess.Popen(
            [sys.executable, "-m", "runner", "run", "docs/demo-campaign.yaml", "--sim",
             "--dry-run", "--var", "count=3000"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None and process.stderr is not None
        assert process.stdout.readline().startswith(b"Callback campaign")
        process.stdout.close()
        assert process.wait(timeout=60) == 141
        assert process.stderr.read() == b""


def test_a_failed_step_without_for_each_shows_its_reason_under_it() -> None:
    result = outbound("run", str(FAILING_LIST), "--sim")
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    failed = lines.index(next(line for line in lines if line.startswith("  FAIL  list")))
    assert lines[failed + 1].startswith(f"        {FAILING_LIST}:9:")
    assert "ZeroDivisionError" in lines[failed + 1]
