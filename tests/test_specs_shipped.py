"""The shipped specs describe the vendor pages faithfully: their own examples validate."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from runner.spec import Endpoint, Spec, load_spec, shipped_spec_files

SPECS = {path.stem: load_spec(path) for path in shipped_spec_files()}
ENDPOINTS = [(e.qualified_name, e) for s in SPECS.values() for e in s.endpoints.values()]


def test_every_documented_endpoint_is_specified() -> None:
    assert sorted(name for name, _ in ENDPOINTS) == [
        "crm.tasks.list",
        "huawei-isales.appoint.create",
        "huawei-isales.appoint.list",
        "huawei-isales.callresult.detail",
        "speech-openapi.task.page",
    ]


@pytest.mark.parametrize(("name", "endpoint"), ENDPOINTS)
def test_each_page_example_response_validates(name: str, endpoint: Endpoint) -> None:
    responses = [e.response_body for e in endpoint.examples if e.has_response]
    assert responses, f"{name} has no example response from its page"
    for body in responses:
        assert endpoint.response_validator.issues(body) == []


def _example(service: str, endpoint: str) -> tuple[Endpoint, dict[str, Any]]:
    found = SPECS[service].endpoints[endpoint]
    return found, copy.deepcopy(found.examples[0].response_body)


@pytest.mark.parametrize(("service", "endpoint", "mutate", "message"), [
    ("huawei-isales", "appoint.list", lambda b: b["data"][0].pop("appointId"),
     "'appointId' is a required property"),
    ("huawei-isales", "appoint.list", lambda b: b.update(totalCount="4"),
     "'4' is not of type 'integer'"),
    ("huawei-isales", "appoint.list", lambda b: b.pop("data"), "'data' is a required property"),
    ("huawei-isales", "appoint.create", lambda b: b["returnObject"].pop("id"),
     "one of 'appointId', 'id' is required"),
    ("huawei-isales", "callresult.detail", lambda b: b["data"].update(callStatus="7"),
     "'7' is not one of [5, 6, '5', '6']"),
    ("huawei-isales", "callresult.detail", lambda b: b["data"].update(callEndTime="2022/02/10"),
     "'2022/02/10' does not match"),
    ("speech-openapi", "task.page", lambda b: b["data"]["list"][0].update(taskStatus=9),
     "9 is not one of [1, 2, 3, 4, 5, 6]"),
    ("speech-openapi", "task.page", lambda b: b["data"].pop("total"),
     "'total' is a required property"),
    ("crm", "tasks.list", lambda b: b["tasks"][0].update(progress="70"),
     "'70' is not of type 'integer'"),
    ("crm", "tasks.list", lambda b: b.pop("tasks"), "'tasks' is a required property"),
])
def test_a_broken_response_does_not_validate(service: str, endpoint: str, mutate: Any,
                                             message: str) -> None:
    found, body = _example(service, endpoint)
    mutate(body)
    issues = found.response_validator.issues(body)
    assert any(message in issue.message for issue in issues), issues


def test_both_ids_of_the_create_page_are_read_as_one_value() -> None:
    create = SPECS["huawei-isales"].endpoints["appoint.create"]
    assert create.values["appointId"] == ("returnObject.appointId", "returnObject.id")
    table_form = {"returnCode": "0200000", "resultCode": "0200000", "resultDesc": "success",
                  "returnDesc": "success", "returnObject": {"appointId": "1747"}}
    assert create.response_validator.issues(table_form) == []


@pytest.mark.parametrize(("service", "endpoint", "location", "params", "message"), [
    ("huawei-isales", "appoint.list", "path", {"vdnId": 10000},
     "10000 is greater than the maximum of 9999"),
    ("huawei-isales", "appoint.list", "path", {"vdnId": 0}, "0 is less than the minimum of 1"),
    ("huawei-isales", "appoint.create", "body",
     {"callType": "1", "calledNo": "6666-0001", "userAccount": "a", "taskId": "1",
      "appointTime": 1}, "'6666-0001' does not match '^[0-9*#]{1,24}$'"),
    ("huawei-isales", "appoint.create", "body",
     {"callType": "1", "calledNo": "1" * 25, "userAccount": "a", "taskId": "1",
      "appointTime": 1}, "does not match '^[0-9*#]{1,24}$'"),
    ("huawei-isales", "appoint.create", "body",
     {"callType": 1, "calledNo": "1", "userAccount": "a", "taskId": "1", "appointTime": 1},
     "1 is not one of ['1', '2']"),
    ("speech-openapi", "task.page", "query", {"taskType": 3}, "3 is not one of [0, 1, 2]"),
    ("speech-openapi", "task.page", "query", {"pageNum": 0}, "0 is less than the minimum of 1"),
    ("crm", "tasks.list", "query", {"order": "up"}, "'up' is not one of ['asc', 'desc']"),
    ("crm", "tasks.list", "query", {"start_date": "2023-02-30"}, "is not a 'date'"),
])
def test_requests_outside_the_documented_rules_are_refused(
        service: str, endpoint: str, location: Any, params: dict[str, Any], message: str) -> None:
    found = SPECS[service].endpoints[endpoint]
    issues = found.request_validators[location].issues(params)
    assert any(message in issue.message for issue in issues), issues


def test_inconsistencies_in_the_pages_are_written_down() -> None:
    notes = {name: " ".join(e.notes) for name, e in ENDPOINTS}
    assert "appointId" in notes["huawei-isales.appoint.create"]
    assert "returnObject.id" in notes["huawei-isales.appoint.create"]
    assert '"6"' in notes["huawei-isales.callresult.detail"]
    assert "pageNumber" in notes["speech-openapi.task.page"]
    assert "running" in notes["crm.tasks.list"] and "basic" in notes["crm.tasks.list"]


def test_result_code_tables_carry_the_vendor_meanings() -> None:
    isales: Spec = SPECS["huawei-isales"]
    assert isales.result_codes["04000002"].meaning.startswith("incorrect called number")
    assert isales.result_codes["0200022"].throttle
    detail = isales.endpoints["callresult.detail"]
    assert detail.result_codes["0200007"].meaning == "the call record ID does not exist"
    assert SPECS["speech-openapi"].result_codes["10002"].meaning.startswith("no public key")
