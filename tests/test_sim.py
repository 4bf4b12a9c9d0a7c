"""The simulator answers as the vendors document, straight through its request handler."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runner.sim.app import Simulator

CREATE = "/rest/isales/v1/openapi/campaigns/8/appoint/create"


def create(sim: Simulator, **changes: Any) -> Any:
    body = {"callType": "2", "calledNo": "13800000001", "userAccount": "116", "taskId": "2201",
            "appointTime": int(sim.clock.now() * 1000) + 600_000, **changes}
    return sim.handle("POST", CREATE, "", {}, json.dumps(body).encode()).body


@pytest.mark.parametrize(("changes", "code"), [
    ({"calledNo": "138-0000"}, "04000002"),
    ({"calledNo": "1" * 25}, "04000002"),
    ({"taskId": "404"}, "0200007"),
    ({"calledNo": "99912345"}, "04000003"),
    ({"appointTime": 1}, "04000001"),
    ({"callType": "3"}, "02000007"),
    ({"appointTime": "soon"}, "02000006"),
])
def test_isales_rejects_with_its_own_codes(changes: dict[str, Any], code: str) -> None:
    answer = create(Simulator(), **changes)
    assert (answer["returnCode"], answer["resultCode"]) == (code, code)


def test_isales_rejects_a_missing_field_and_a_bad_vdn() -> None:
    sim = Simulator()
    answer = sim.handle("POST", CREATE, "", {}, b'{"callType": "1"}').body
    assert answer["returnCode"] == "02000001"
    answer = sim.handle("POST", CREATE.replace("/8/", "/10000/"), "", {}, b"{}").body
    assert answer["returnCode"] in ("02000001", "02000007")


def test_a_created_reservation_is_listed_then_called_when_due() -> None:
    sim = Simulator()
    appoint_id = create(sim)["returnObject"]["id"]
    listing = sim.handle("POST", CREATE.replace("create", "list"), "", {},
                         b'{"offset": 0, "limit": 10, "taskId": "2201"}').body
    assert [row["appointId"] for row in listing["data"]] == [appoint_id]
    detail = f"/rest/isales/v1/openapi/campaigns/8/callresultdetail/{appoint_id}"
    assert sim.handle("GET", detail, "", {}, b"").body["returnCode"] == "0200007"
    sim.clock.advance(300)  # automatic reservations are called five minutes early
    result = sim.handle("GET", detail, "", {}, b"").body
    assert result["data"]["callStatus"] == "6" and result["data"]["failCode"] == "00000"


def test_speech_pages_and_filters_tasks() -> None:
    sim = Simulator()
    page = sim.handle("GET", "/speech/openapi/v1/task/outbound/page",
                      "taskStatus=3&pageNum=2&pageSize=2", {}, b"").body
    assert page["code"] == "10000"
    assert page["data"]["total"] == 3 and [t["taskId"] for t in page["data"]["list"]] == [1623]
    bad = sim.handle("GET", "/speech/openapi/v1/task/outbound/page", "taskType=9", {}, b"").body
    assert bad["code"] == "29002"


def test_crm_filters_sorts_and_refuses_bad_values() -> None:
    sim = Simulator()
    listing = sim.handle("GET", "/api/v1/outboundtasks",
                         "api_key=k&status=running&order_by=start_time&order=desc", {}, b"")
    assert [t["task_id"] for t in listing.body["tasks"]] == ["12348", "12347"]
    refused = sim.handle("GET", "/api/v1/outboundtasks", "order=up", {}, b"")
    assert refused.status == 400


def test_every_answer_of_the_simulator_validates_against_the_spec() -> None:
    sim = Simulator()
    appoint_id = create(sim)["returnObject"]["id"]
    sim.clock.advance(600)
    checks = [
        ("huawei-isales", "appoint.list", "POST", CREATE.replace("create", "list"), "",
         b'{"offset": 0, "limit": 5}'),
        ("huawei-isales", "callresult.detail", "GET",
         f"/rest/isales/v1/openapi/campaigns/8/callresultdetail/{appoint_id}", "", b""),
        ("speech-openapi", "task.page", "GET", "/speech/openapi/v1/task/outbound/page", "", b""),
        ("crm", "tasks.list", "GET", "/api/v1/outboundtasks", "api_key=k", b""),
    ]
    for service, endpoint, method, path, query, body in checks:
        answer = sim.handle(method, path, query, {}, body).body
        validator = sim.specs[service].endpoints[endpoint].response_validator
        assert validator.issues(answer) == [], (endpoint, answer)
