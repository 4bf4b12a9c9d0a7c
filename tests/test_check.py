"""`outbound check` against a served simulator: silent when nothing drifted, and each drift
reported as exactly that finding, with its severity and exit code; then the same offline."""

from __future__ import annotations

import json
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from runner.sim import demo_credentials
from tests.conftest import JUNIT_XSD, outbound, use_simulator

PROBE = "playbooks/contract-probe.yaml"


@pytest.fixture
def live(served: str, monkeypatch: pytest.MonkeyPatch, in_repo: Path) -> str:
    use_simulator(monkeypatch, served)
    _faults(served)
    return served


def _faults(base: str, *faults: dict[str, Any]) -> None:
    request = urllib.request.Request(f"{base}/_sim/faults", method="PUT",
                                     data=json.dumps({"faults": list(faults)}).encode())
    urllib.request.urlopen(request, timeout=5).close()


def _check(*args: str) -> tuple[int, list[dict[str, Any]], str | None]:
    result = outbound("check", PROBE, "--format", "json", *args)
    document = json.loads(result.output)
    return result.exit_code, document["findings"], document["problem"]


def test_no_drift_no_finding(live: str) -> None:
    assert _check() == (0, [], None)


@pytest.mark.parametrize(("fault", "expected", "code"), [
    ({"action": "remove", "field": "data.*.appointId", "on": "huawei-isales.appoint.list"},
     [("breaking", "huawei-isales.appoint.list", "$.data[].appointId", "required field gone")],
     1),
    ({"action": "remove", "field": "data.*.taskName", "on": "huawei-isales.appoint.list"},
     [("breaking", "huawei-isales.appoint.list", "$.data[].taskName",
       "documented field missing")], 1),
    ({"action": "retype", "field": "totalCount", "value": "4", "on": "huawei-isales.appoint.list"},
     [("breaking", "huawei-isales.appoint.list", "$.totalCount", "type changed")], 1),
    ({"action": "add", "field": "data.nickname", "value": "x", "on": "callresult.detail"},
     [("warning", "huawei-isales.callresult.detail", "$.data.nickname",
       "undocumented field added")], 0),
    ({"action": "retype", "field": "data.list.*.taskStatus", "value": 9, "on": "task.page"},
     [("warning", "speech-openapi.task.page", "$.data.list[].taskStatus", "new enum value")], 0),
    ({"action": "retype", "field": "data.callStatus", "value": True, "on": "callresult.detail"},
     [("breaking", "huawei-isales.callresult.detail", "$.data.callStatus",
       "enum value no longer matches")], 1),
    ({"action": "rename", "field": "returnCode", "to": "retCode", "on": "callresult.detail"},
     [("breaking", "huawei-isales.callresult.detail", "$.returnCode", "envelope code moved"),
      ("breaking", "huawei-isales.callresult.detail", "$.returnCode", "required field gone"),
      ("warning", "huawei-isales.callresult.detail", "$.retCode", "undocumented field added")],
     1),
    ({"action": "retype", "field": "data.*.taskStatus", "value": "9", "on": "appoint.list"},
     [("warning", "huawei-isales.appoint.list", "$.data[].taskStatus",
       "value with no documented meaning")], 0),
    ({"action": "new_code", "code": "0200099", "on": "callresult.detail"},
     [("warning", "huawei-isales.callresult.detail", "$.returnCode",
       "result code not in the spec")], 0),
])
def test_each_drift_is_exactly_its_finding(live: str, fault: dict[str, Any],
                                           expected: list[tuple[str, ...]], code: int) -> None:
    _faults(live, {"kind": "drift", **{k: v for k, v in fault.items()}})
    exit_code, findings, problem = _check()
    assert problem is None
    got = sorted((f["severity"], f["endpoint"], f["path"], f["kind"]) for f in findings)
    assert got == sorted(expected)
    assert exit_code == code


def test_fail_on_warning_and_slow_answers(live: str) -> None:
    _faults(live, {"kind": "latency", "seconds": 0.3, "on": "crm.tasks.list"})
    exit_code, findings, _ = _check("--slow", "0.2")
    assert [(f["severity"], f["endpoint"], f["kind"]) for f in findings] == [
        ("warning", "crm.tasks.list", "slow answer")]
    assert exit_code == 0
    assert _check("--slow", "0.2", "--fail-on", "warning")[0] == 1


def test_a_recorded_check_replays_offline_with_the_same_findings(live: str,
                                                                 tmp_path: Path) -> None:
    _faults(live, {"kind": "drift", "action": "retype", "field": "data.*.callType",
                   "value": 2, "on": "appoint.list"})
    cassettes = tmp_path / "cassettes"
    live_code, live_findings, _ = _check("--record", str(cassettes))
    assert live_findings and live_code == 1
    recorded = sorted(cassettes.glob("*.json"))
    assert len(recorded) == 4
    first = json.loads(recorded[0].read_text())
    assert (first["endpoint"], first["method"]) == ("huawei-isales.appoint.list", "POST")
    assert first["path"].startswith("/rest/isales/v1/openapi/campaigns/")
    assert demo_credentials.ISALES_SK not in "".join(p.read_text() for p in recorded)
    offline_code, offline_findings, _ = _check("--replay", str(cassettes))
    assert (offline_code, offline_findings) == (live_code, live_findings)
    mixed = outbound("check", PROBE, "--replay", str(cassettes), "--sim", "--record",
                     str(tmp_path / "again"))
    assert (mixed.exit_code, mixed.stderr) == (2, "error: --replay checks recorded answers "
                                               "without calling anything; --sim, --record "
                                               "would do nothing with it\n")


def test_replay_of_a_folder_that_holds_no_cassettes_says_so(in_repo: Path,
                                                            tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    report = folder / "run.json"
    for text, held in (('{"report_version": 1, "status": "ok"}',
                        "this holds report_version, status"), ("[1]", "this is a list")):
        report.write_text(text)
        result = outbound("check", PROBE, "--replay", str(folder))
        assert (result.exit_code, result.stderr) == (2, (
            f"error: {report}: not a cassette (one recorded exchange holds endpoint, method, "
            f"path, status, seconds, body; {held}): --replay names a folder --record wrote\n"))


def test_a_check_on_the_embedded_simulator_follows_its_fault_plan(in_repo: Path,
                                                                  tmp_path: Path) -> None:
    plan = tmp_path / "drift.yaml"
    plan.write_text("faults:\n  - {kind: drift, action: retype, field: totalCount, value: '4',"
                    " on: huawei-isales.appoint.list}\n")
    result = outbound("check", PROBE, "--sim", "--sim-faults", str(plan), "--format", "json")
    assert result.exit_code == 1
    assert [(f["endpoint"], f["path"], f["kind"]) for f in json.loads(result.output)[
        "findings"]] == [("huawei-isales.appoint.list", "$.totalCount", "type changed")]
    assert outbound("check", PROBE, "--sim", "--format", "json").exit_code == 0


def test_an_http_error_answer_is_an_outage_not_a_drift(in_repo: Path, tmp_path: Path) -> None:
    plan = tmp_path / "outage.yaml"  # the first detail call hits a 503; the probe retries it
    plan.write_text("faults:\n  - {kind: http_error, status: 503, rate: 1, times: 1, "
                    "on: huawei-isales.callresult.detail}\n")
    result = outbound("check", PROBE, "--sim", "--sim-faults", str(plan), "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert (document["findings"], document["answers"]) == ([], 4)
    assert document["not_compared"] == [{"endpoint": "huawei-isales.callresult.detail",
                                         "status": 503}]
    text = outbound("check", PROBE, "--sim", "--sim-faults", str(plan))
    assert text.output.splitlines() == [
        "not compared: 1 answer was an HTTP error, not the endpoint's answer "
        "(huawei-isales.callresult.detail: 503)",
        "4 answers checked: they match the specs"]


def test_drifts_on_one_endpoint_all_change_its_answer(in_repo: Path, tmp_path: Path) -> None:
    """A vendor's release may retype one field and add another: each drift is found."""
    plan = tmp_path / "drift.yaml"
    plan.write_text("faults:\n"
                    "  - {kind: drift, action: retype, field: data.callStatus, value: 6.5,"
                    " on: callresult.detail}\n"
                    "  - {kind: drift, action: add, field: data.extra, value: 1,"
                    " on: callresult.detail}\n")
    result = outbound("check", PROBE, "--sim", "--sim-faults", str(plan), "--format", "json")
    assert result.exit_code == 1
    assert [(f["path"], f["kind"]) for f in json.loads(result.output)["findings"]] == [
        ("$.data.callStatus", "enum value no longer matches"),
        ("$.data.extra", "undocumented field added")]


def test_a_probe_that_writes_is_refused(in_repo: Path) -> None:
    result = outbound("check", "playbooks/crm-callbacks.yaml", "--sim")
    assert result.exit_code == 2
    assert "step reserve calls huawei-isales.appoint.create (create); a check only reads " \
           "unless --allow-writes" in result.stderr


def _junit(*args: str) -> tuple[int, ET.Element]:
    result = outbound("check", PROBE, "--format", "junit", *args)
    JUNIT_XSD.validate(result.stdout)
    suite = ET.fromstring(result.stdout).find("testsuite")
    assert suite is not None
    return result.exit_code, suite


def _cases(suite: ET.Element) -> dict[str, str]:
    """Each test case's name and how it ended: passed, failure, error or skipped."""
    return {case.get("name", ""): next((c.tag for c in case if c.tag in ("failure", "error",
                                                                          "skipped")),
                                       "passed") for case in suite}


def test_junit_has_a_case_per_endpoint_and_fails_the_drifted_one(live: str) -> None:
    _faults(live, {"kind": "drift", "action": "remove", "field": "data.total", "on": "task.page"})
    code, suite = _junit()
    assert code == 1
    assert _cases(suite) == {"crm.tasks.list": "passed", "huawei-isales.appoint.list": "passed",
                             "huawei-isales.callresult.detail": "passed",
                             "speech-openapi.task.page": "failure"}
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "1", "0")
    failure = suite.find("testcase[@name='speech-openapi.task.page']/failure")
    assert failure is not None
    assert failure.get("message", "").startswith("breaking speech-openapi.task.page $.data.total")


def test_the_steps_a_drift_stopped_the_probe_before_are_named_as_not_checked(
        live: str) -> None:
    _faults(live, {"kind": "drift", "action": "rename", "field": "returnCode", "to": "retCode",
                   "on": "callresult.detail"})
    text = outbound("check", PROBE)
    assert "not checked: steps speech_tasks, crm_tasks (the probe stopped before them)\n" \
        in text.stdout
    assert json.loads(outbound("check", PROBE, "--format", "json").stdout)["not_reached"] == [
        "speech_tasks", "crm_tasks"]
    code, suite = _junit()
    assert code == 1
    assert _cases(suite) == {"huawei-isales.appoint.list": "passed",
                             "huawei-isales.callresult.detail": "failure",
                             "step speech_tasks": "skipped", "step crm_tasks": "skipped"}
    assert (suite.get("tests"), suite.get("skipped")) == ("4", "2")


def test_junit_fails_a_warning_when_warnings_fail_the_check(live: str) -> None:
    _faults(live, {"kind": "drift", "action": "add", "field": "data.nickname", "value": "x",
                   "on": "callresult.detail"})
    assert _cases(_junit()[1])["huawei-isales.callresult.detail"] == "passed"
    code, suite = _junit("--fail-on", "warning")
    assert code == 1
    assert _cases(suite)["huawei-isales.callresult.detail"] == "failure"


def test_junit_shows_a_probe_that_could_not_run_as_an_error(live: str,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    monkeypatch.setenv("ISALES_URL", "http://127.0.0.1:9")  # nothing listens there
    code, suite = _junit()
    assert code == 1
    assert _cases(suite) == {"probe": "error", "step call_result": "skipped",
                             "step speech_tasks": "skipped", "step crm_tasks": "skipped"}
    error = suite.find("testcase/error")
    assert error is not None and "cannot connect to http://127.0.0.1:9" in (error.text or "")


def test_a_campaign_recorded_by_run_is_checked_offline(in_repo: Path, tmp_path: Path) -> None:
    cassettes = tmp_path / "run-cassettes"
    result = outbound("run", "playbooks/speech-callbacks.yaml", "--sim", "--record",
                      str(cassettes))
    assert result.exit_code == 0, result.output
    assert len(list(cassettes.glob("*.json"))) == 31  # every call of the campaign
    replay = outbound("check", "playbooks/speech-callbacks.yaml", "--replay", str(cassettes))
    assert replay.exit_code == 0, replay.output
    assert replay.output.strip() == "31 answers checked: they match the specs"


def test_a_finding_shows_values_as_they_came_on_the_wire(live: str) -> None:
    _faults(live, {"kind": "drift", "action": "retype", "field": "data.callStatus",
                   "value": None, "on": "callresult.detail"})
    _, findings, _ = _check()
    assert [(f["spec_says"], f["came_back"]) for f in findings] == [
        ('one of 5, 6, "5", "6"', "null")]
