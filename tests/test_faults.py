"""Every fault kind against a create, a list and a detail endpoint, over real HTTP.

One `outbound sim serve` process; each case puts a fault plan in place (PUT /_sim/faults) that
strikes its endpoint once, runs a create -> list -> detail playbook with `outbound run`, and
checks the documented behaviour (README: "Calls that fail"): exit code, message, the retries
made, and how many reservations the simulator made (never more than the one intended).
"""

from __future__ import annotations

import itertools
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import isales_playbook, outbound, use_simulator

PLAYBOOK = isales_playbook("fault probe", """\
    timeout: {connect: 2s, read: 1s, total: 3s}
    retries: {attempts: 3, delay: 10ms, max_delay: 50ms}
inputs:
  number: {type: string}
steps:
  - id: make
    call: isales.appoint.create
    params: {vdnId: 8, taskId: "2201", callType: "2", calledNo: "{{ inputs.number }}",
             userAccount: ops, appointTime: "{{ now_ms() + 60000 }}"}
    outputs: {id: "{{ values.appointId }}"}
  - id: listed
    call: isales.appoint.list
    params: {vdnId: 8, taskId: "2201", calledNo: "{{ inputs.number }}"}
    paginate: all
    expect: ["{{ items | length == 1 }}"]
  - id: result
    call: isales.callresult.detail
    params: {vdnId: 8, callId: "{{ steps.make.outputs.id }}"}
    expect: ["{{ response.data.callStatus | string in ['5', '6'] }}"]
""")
ENDPOINTS = {"create": ("make", "huawei-isales.appoint.create"),
             "list": ("listed", "huawei-isales.appoint.list"),
             "detail": ("result", "huawei-isales.callresult.detail")}
DRIFT_FIELDS = {"create": "returnObject", "list": "data.*.appointId", "detail": "data.callStatus"}

# fault name -> (the fault, what a read does, what a create does, is a reservation made)
# each either recovers ("ok", retries) or fails ("fail", message); a create is retried only
# when the vendor refused it without acting (429, a throttle code) or it never left
FAULTS: dict[str, tuple[dict[str, Any], tuple[str, Any], tuple[str, Any], bool]] = {
    "latency": ({"kind": "latency", "seconds": 0.05}, ("ok", 0), ("ok", 0), True),
    "http 503": ({"kind": "http_error", "status": 503}, ("ok", 1),
                 ("fail", "answered HTTP 503: a server error"), False),
    "429 seconds": ({"kind": "rate_limited", "retry_after": 0.2}, ("ok", 1), ("ok", 1), True),
    "429 http-date": ({"kind": "rate_limited", "retry_after": 1, "retry_after_form": "http-date"},
                      ("ok", 1), ("ok", 1), True),
    "too fast": ({"kind": "vendor_code", "code": "0200022"}, ("ok", 1), ("ok", 1), True),
    "database error": ({"kind": "vendor_code", "code": "0200006"}, ("ok", 1),
                       ("fail", "answered 0200006: database operation error"), False),
    "reset before": ({"kind": "reset_before"}, ("ok", 1), ("fail", "the connection failed"),
                     False),
    "reset after": ({"kind": "reset_after"}, ("ok", 1), ("fail", "the connection failed"), True),
    "timeout": ({"kind": "timeout", "seconds": 4}, ("ok", 1), ("fail", "no answer in time"),
                False),
    "truncated": ({"kind": "truncated"}, ("fail", "answered HTTP 200 with a body that is not "
                                                  "JSON: '{\"resultCode\":\"0200000\""),
                  ("fail", "answered HTTP 200 with a body that is not JSON"), True),
    "html page": ({"kind": "html", "status": 502}, ("ok", 1),
                  ("fail", "answered HTTP 502: a server error; body: '<html><head><title>502"),
                  False),
    "wrong content type": ({"kind": "wrong_content_type"}, ("ok", 0), ("ok", 0), True),
    "drift: field removed": ({"kind": "drift", "action": "remove"},
                             ("fail", "(the response breaks the spec)"),
                             ("fail", "(the response breaks the spec)"), True),
    "drift: new code": ({"kind": "drift", "action": "new_code", "code": "0299999"},
                        ("fail", "answered 0299999: a result code the spec does not document"),
                        ("fail", "answered 0299999: a result code the spec does not document"),
                        True),
}
NUMBERS = (f"1390000{n:04d}" for n in itertools.count())


def _control(base: str, method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    with urllib.request.urlopen(request, timeout=5) as answer:
        return json.load(answer)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("name", FAULTS)
def test_each_fault_on_each_endpoint(served: str, name: str, endpoint: str, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    fault, read, create, processed = FAULTS[name]
    step, qualified = ENDPOINTS[endpoint]
    plan = {**fault, "on": qualified, "times": 1}
    if fault["kind"] == "drift" and fault["action"] == "remove":
        plan["field"] = DRIFT_FIELDS[endpoint]
    _control(served, "PUT", "/_sim/faults", {"seed": 1, "faults": [plan]})
    use_simulator(monkeypatch, served)
    playbook, report = tmp_path / "probe.yaml", tmp_path / "report.json"
    playbook.write_text(PLAYBOOK)
    before = _control(served, "GET", "/_sim/state")["calls"].get(ENDPOINTS["create"][1], 0)

    result = outbound("run", str(playbook), "--var", f"number={next(NUMBERS)}",
                      "--report-json", str(report))

    made = _control(served, "GET", "/_sim/state")["calls"][ENDPOINTS["create"][1]] - before
    steps = {s["id"]: s for s in json.loads(report.read_text())["steps"]}
    assert "Traceback" not in result.output
    if endpoint == "create":
        assert made == (1 if processed else 0)  # a create is never made twice
        outcome, detail = create
        if outcome == "fail":
            assert result.exit_code == 1, result.output
            assert detail in result.stderr
            assert steps["make"]["calls"] == 1 and steps["make"]["retries"] == 0
        else:
            assert result.exit_code == 0, result.output
            assert steps["make"]["retries"] == detail
        return
    assert made == 1
    outcome, detail = read
    if outcome == "ok":
        assert result.exit_code == 0, result.output
        assert steps[step]["retries"] == detail
    else:
        assert result.exit_code == 1, result.output
        assert detail in result.stderr
        assert f"{qualified}" in result.stderr
    if fault["kind"] == "wrong_content_type":
        assert f"{qualified} labelled its JSON answer 'text/html; charset=utf-8'" in result.stdout


def test_a_thousand_reservations_ride_through_flaky_reads(in_repo: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = outbound("run", "tests/data/playbooks/thousand-reservations.yaml", "--sim",
                      "--sim-faults", "tests/data/faults/flaky-reads.yaml",
                      "--report-json", str(report))
    assert result.exit_code == 0, result.output
    document = json.loads(report.read_text())
    # the simulator's own list holds 1,000 reservations, each number once
    assert document["outputs"] == {"reserved": 1000, "listed": 1000, "results": 1000}
    steps = {s["id"]: s for s in document["steps"]}
    assert steps["reserve"]["calls"] == 1000 and steps["reserve"]["retries"] == 0
    assert steps["results"]["retries"] > 100  # 17% of reads were struck, and retried


def test_a_read_that_never_answers_says_how_often_it_was_tried(in_repo: Path,
                                                                tmp_path: Path) -> None:
    """A read is sent again when it times out; when no attempt was answered, the error says
    how many were made, and not that the outcome is unknown (a read changes nothing)."""
    plan = tmp_path / "faults.yaml"
    plan.write_text("faults:\n  - {kind: timeout, on: task.page}\n")
    result = outbound("run", "playbooks/speech-callbacks.yaml", "--sim", "--sim-faults", str(plan))
    assert result.exit_code == 1
    assert result.stderr == ("error: step running, tried 4 times: speech-openapi.task.page: no "
                             "answer in time (ReadTimeout)\n")


ONE_PAGE = """\
playbook_version: 1
name: one page
services:
  speech:
    spec: speech-openapi
    base_url: "{{ env.SPEECH_URL }}"
    credentials:
      app_id: "{{ env.SPEECH_APP_ID }}"
      private_key: "{{ secret('SPEECH_PRIVATE_KEY') }}"
steps:
  - id: page
    call: speech.task.page
    params: {pageSize: 2, pageNum: 1}
    outputs: {page: "{{ response }}"}
outputs: {page: "{{ steps.page.outputs.page }}"}
"""


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(("extra", "why"), [
    (_nested(900), "nested more than 64 levels deep"),
    (float("nan"), "not JSON (NaN is no JSON value)"),
], ids=["nested 900 deep", "NaN"])
def test_an_answer_json_loads_takes_but_json_is_not_is_refused(
        served: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_repo: Path,
        extra: Any, why: str) -> None:
    """An answer nested hundreds of levels deep (a broken gateway's garbage), or holding a NaN
    (no JSON value: a careless serializer's), fails its call as an invalid answer, saying why.
    Kept as an output, the first broke the run's own walks of it (an internal error, the run
    journaled as interrupted), and the second went into the JSON report as it came, which
    then no JSON reader but Python's could read."""
    playbook, report = tmp_path / "page.yaml", tmp_path / "report.json"
    playbook.write_text(ONE_PAGE)
    _control(served, "PUT", "/_sim/faults", {"faults": [
        {"kind": "drift", "action": "add", "field": "extra", "value": extra, "on": "task.page"}]})
    use_simulator(monkeypatch, served)
    result = outbound("run", str(playbook), "--report-json", str(report))
    _control(served, "PUT", "/_sim/faults", {"faults": []})
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: step page: speech-openapi.task.page answered HTTP 200 "
                                    f"with a body that is {why}: ")
    shown = outbound("runs", "show", "latest")
    assert why in shown.stdout and "interrupted" not in shown.stdout
    json.loads(report.read_text(), parse_constant=pytest.fail)  # JSON as any reader takes it


def test_an_answer_past_the_parsers_own_depth_is_refused_the_same_way() -> None:
    from runner.engine.responses import MAX_DEPTH, NotJSON, decoded

    assert decoded(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) is not None
    assert decoded(b'{"a": "' + b"[" * 1000 + b'"}') == {"a": "[" * 1000}  # brackets in text
    for depth in (MAX_DEPTH + 1, 100_000):  # the second, json.loads cannot parse at all
        with pytest.raises(NotJSON, match='nested more than 64 levels deep'):
            decoded(b"[" * depth + b"]" * depth)


def test_a_fault_plan_that_breaks_its_schema_is_refused(in_repo: Path, tmp_path: Path) -> None:
    plan = tmp_path / "faults.yaml"
    plan.write_text("faults:\n  - {kind: http_eror, rate: 2}\n")
    result = outbound("run", "playbooks/crm-callbacks.yaml", "--sim", "--sim-faults", str(plan))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {plan}:2:12 (faults[0].kind): 'http_eror' is not "
                                    "one of")


def test_a_fault_aimed_at_no_endpoint_is_refused(in_repo: Path, tmp_path: Path,
                                                 served: str) -> None:
    """A target that matches nothing (a misspelled endpoint) would never come up, and the
    run would pass as if it had ridden out the fault."""
    plan = tmp_path / "faults.yaml"
    plan.write_text("faults:\n"
                    "  - {kind: http_error, on: huawei-isales.appoint.creat}\n"
                    "  - {kind: reset_after, on: [list, detal]}\n"
                    "  - {kind: latency, on: [appoint.create, crm.tasks.list, create, '*']}\n")
    said = [f"{plan}:2:28 (faults[0].on): no endpoint or kind 'huawei-isales.appoint.creat'; "
            "did you mean 'huawei-isales.appoint.create'? (`on` takes SERVICE.ENDPOINT, "
            "ENDPOINT, a kind such as create, or *)",
            f"{plan}:3:36 (faults[1].on[1]): no endpoint or kind 'detal'; did you mean "
            "'detail'? (`on` takes SERVICE.ENDPOINT, ENDPOINT, a kind such as create, or *)"]
    result = outbound("run", "playbooks/crm-callbacks.yaml", "--sim", "--sim-faults", str(plan))
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [f"error: {line}" for line in said]
    assert outbound("validate", str(plan)).output.splitlines()[:-1] == said
    with pytest.raises(urllib.error.HTTPError) as refused:
        _control(served, "PUT", "/_sim/faults", {"faults": [{"kind": "html", "on": "lst"}]})
    assert refused.value.code == 400
    assert json.load(refused.value)["problems"] == [
        "no endpoint or kind 'lst'; did you mean 'list'? (`on` takes SERVICE.ENDPOINT, "
        "ENDPOINT, a kind such as create, or *)"]


def test_a_drift_of_a_field_no_answer_has_is_refused(in_repo: Path, tmp_path: Path) -> None:
    """A drift of a field the answer does not have (`callStatus` where it is
    `data.callStatus`) changes nothing, and the contract check would pass as if the vendor had
    drifted and been caught; each is named, with the path it most likely meant."""
    plan = tmp_path / "faults.yaml"
    plan.write_text("faults:\n"
                    "  - {kind: drift, action: remove, field: callStatus, on: callresult.detail}\n"
                    "  - {kind: drift, action: add, field: returnObject.x.y, value: 1, "
                    "on: create}\n"
                    "  - {kind: drift, action: rename, field: data.*.taskName, to: name, "
                    "on: list}\n"
                    "  - {kind: drift, action: add, field: data.extra, value: 1, on: detail}\n"
                    "  - {kind: drift, action: rename, field: data.*.taskNam, to: name, "
                    "on: list}\n")  # task.page's data is no list: it has no data.* either
    result = outbound("check", "playbooks/contract-probe.yaml", "--sim", "--sim-faults",
                      str(plan))
    assert (result.exit_code, result.stdout) == (2, "")
    first, second, third = result.stderr.splitlines()
    assert third.startswith(
        f"error: {plan}:6:42 (faults[4].field): no answer of appoint.list, task.page, tasks.list "
        "has 'data.*.taskNam'; did you mean 'data.*.taskName'? ")
    assert first.startswith(
        f"error: {plan}:2:42 (faults[0].field): no answer of callresult.detail has "
        "'callStatus'; did you mean 'data.callStatus'? (a field is a dotted path from the "
        "answer's top, * for each item of a list; the answer has: data, data.ackBeginTime,")
    assert second.startswith(
        f"error: {plan}:3:39 (faults[1].field): no answer of appoint.create has "
        "'returnObject.x'; did you mean 'returnObject'? (a field is a dotted path from the "
        "answer's top, * for each item of a list; to add a field, its parent must be there; "
        "the answer has: resultCode, ")
    plan.write_text("faults:\n  - {kind: drift, action: remove, field: data.callStatus, "
                    "on: callresult.detail}\n")
    caught = outbound("check", "playbooks/contract-probe.yaml", "--sim", "--sim-faults",
                      str(plan))
    assert caught.exit_code == 1
    assert ("breaking huawei-isales.callresult.detail $.data.callStatus: required field gone"
            in caught.stdout)


def test_a_drift_says_what_its_action_needs_and_nothing_else(tmp_path: Path) -> None:
    plan = tmp_path / "faults.yaml"
    plan.write_text("faults:\n"
                    "  - {kind: drift, action: retype, field: totalCount, to: integer}\n"
                    "  - {kind: drift, action: rename, field: totalCount}\n"
                    "  - {kind: drift, action: remove, field: totalCount, value: 1}\n")
    result = outbound("validate", str(plan))
    assert result.exit_code == 2
    assert result.output.splitlines()[:-1] == [
        f"{plan}:2:58 (faults[0].to): 'to' does not belong here (to: the new name, of a rename "
        "only)",
        f"{plan}:2:5 (faults[0].value): 'value' is a required property (drift retype/add: "
        "the value to put there)",
        f"{plan}:3:5 (faults[1].to): 'to' is a required property (drift rename: the new "
        "field name)",
        f"{plan}:4:61 (faults[2].value): 'value' does not belong here (value: what a retype or "
        "an add puts there)"]


def test_in_process_a_timeout_is_waited_out_on_simulated_time(tmp_path: Path) -> None:
    """With --sim the client gives up after its read timeout at once, the simulated clock
    moving on by that much, instead of sitting through the fault's silence for real."""
    faults, playbook, report = tmp_path / "f.yaml", tmp_path / "p.yaml", tmp_path / "r.json"
    faults.write_text("seed: 1\nfaults:\n  - {kind: timeout, seconds: 600, on: [list], "
                      "times: 1}\n")
    playbook.write_text("""\
playbook_version: 1
name: a slow list
services:
  isales:
    spec: huawei-isales
    timeout: {read: 45s, total: 600s}
    retries: {attempts: 2, delay: 1s}
steps:
  - id: before
    wait: 0s
    outputs: {at: "{{ now_ms() }}"}
  - id: listed
    call: isales.appoint.list
    params: {vdnId: 8, taskId: "2201", offset: 0, limit: 10}
    outputs: {at: "{{ now_ms() }}"}
outputs:
  waited: "{{ (steps.listed.outputs.at - steps.before.outputs.at) // 1000 }}"
""")
    result = outbound("run", str(playbook), "--sim", "--sim-faults", str(faults),
                      "--report-json", str(report))
    assert result.exit_code == 0, result.output
    document = json.loads(report.read_text())
    assert document["steps"][1]["retries"] == 1
    # the read timeout, 45 s, and the retry's delay (1 s, jittered down to half)
    assert 45 <= document["outputs"]["waited"] <= 46
