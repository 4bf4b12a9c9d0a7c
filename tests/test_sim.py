"""The simulator answers as the vendors document, straight through its request handler."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from runner.auth import build_auth
from runner.sim import demo_credentials
from runner.sim.app import Simulator
from runner.sim.faults import plan_from
from runner.sim.model import SimResponse

CREATE = "/rest/isales/v1/openapi/campaigns/8/appoint/create"
SERVICES = {"/rest/": "huawei-isales", "/speech/": "speech-openapi", "/api/": "crm"}


def signed(sim: Simulator, method: str, path: str, query: str = "",
           body: bytes = b"") -> SimResponse:
    """A request as the engine would send it: the spec's headers, signed with demo keys."""
    service = next(name for prefix, name in SERVICES.items() if path.startswith(prefix))
    spec = sim.specs[service]
    request = httpx.Request(method, f"http://sim.test{path}" + (f"?{query}" if query else ""),
                            headers=dict(next(iter(spec.endpoints.values())).headers),
                            content=body or None)
    auth = build_auth(service, spec.auth, demo_credentials.for_scheme(spec.auth.scheme),
                      sim.clock)
    if auth is not None:
        request = next(auth.auth_flow(request))
    return sim.handle(method, path, request.url.query.decode(),
                      {k.lower(): v for k, v in request.headers.items()}, body)


def create(sim: Simulator, **changes: Any) -> Any:
    body = {"callType": "2", "calledNo": "13800000001", "userAccount": "116", "taskId": "2201",
            "appointTime": int(sim.clock.now() * 1000) + 600_000, **changes}
    return signed(sim, "POST", CREATE, "", json.dumps(body).encode()).body


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


def test_a_rejection_speaks_of_the_api_not_of_yaml() -> None:
    answer = create(Simulator(), taskId=2201)  # a number where the vendor takes text
    assert (answer["returnCode"], answer["resultDesc"]) == (
        "02000006", "taskId: 2201 is not of type 'string'")


def test_isales_rejects_a_missing_field_and_a_bad_vdn() -> None:
    sim = Simulator()
    answer = signed(sim, "POST", CREATE, "", b'{"callType": "1"}').body
    assert answer["returnCode"] == "02000001"
    answer = signed(sim, "POST", CREATE.replace("/8/", "/10000/"), "", b"{}").body
    assert answer["returnCode"] in ("02000001", "02000007")


def test_a_created_reservation_is_listed_then_called_when_due() -> None:
    sim = Simulator()
    appoint_id = create(sim)["returnObject"]["id"]
    listing = signed(sim, "POST", CREATE.replace("create", "list"), "",
                         b'{"offset": 0, "limit": 10, "taskId": "2201"}').body
    assert [row["appointId"] for row in listing["data"]] == [appoint_id]
    detail = f"/rest/isales/v1/openapi/campaigns/8/callresultdetail/{appoint_id}"
    assert signed(sim, "GET", detail, "").body["returnCode"] == "0200007"
    sim.clock.advance(300)  # automatic reservations are called five minutes early
    result = signed(sim, "GET", detail, "").body
    assert result["data"]["callStatus"] == "6" and result["data"]["failCode"] == "00000"


def test_speech_pages_and_filters_tasks() -> None:
    sim = Simulator()
    page = signed(sim, "GET", "/speech/openapi/v1/task/outbound/page",
                      "taskStatus=3&pageNum=2&pageSize=2").body
    assert page["code"] == "10000"
    assert page["data"]["total"] == 3 and [t["taskId"] for t in page["data"]["list"]] == [1623]
    bad = signed(sim, "GET", "/speech/openapi/v1/task/outbound/page", "taskType=9").body
    assert bad["code"] == "29002"


def test_crm_filters_sorts_and_refuses_bad_values() -> None:
    sim = Simulator()
    listing = signed(sim, "GET", "/api/v1/outboundtasks",
                         "api_key=k&status=running&order_by=start_time&order=desc")
    assert [t["task_id"] for t in listing.body["tasks"]] == ["12348", "12347"]
    refused = signed(sim, "GET", "/api/v1/outboundtasks", "order=up")
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
        answer = signed(sim, method, path, query, body).body
        validator = sim.specs[service].endpoints[endpoint].response_validator
        assert validator.issues(answer) == [], (endpoint, answer)


def test_a_world_goes_on_from_its_time_and_its_fault_plan_where_they_were() -> None:
    plan = {"seed": 5, "faults": [{"kind": "http_error", "status": 503, "rate": 0.5,
                                   "times": 4}]}
    sim = Simulator(fault_plan=plan_from(plan))
    endpoint = sim.specs["huawei-isales"].endpoints["appoint.create"]
    create(sim)
    sim.clock.advance(3 * 3600)  # a run that waited three hours, at once
    first = [bool(sim.fault_plan.roll(endpoint)[1]) for _ in range(6)]
    world = json.loads(json.dumps(sim.world()))  # as the journal keeps it

    again = Simulator(fault_plan=plan_from(plan))
    again.restore(world)
    assert again.clock.now() >= sim.clock.now()  # not back at the real time
    listing = signed(again, "POST", CREATE.replace("create", "list"), "",
                     b'{"offset": 0, "limit": 10, "taskId": "2201"}').body
    assert len(listing["data"]) == 1
    went_on = [bool(again.fault_plan.roll(endpoint)[1]) for _ in range(12)]
    assert went_on == [bool(sim.fault_plan.roll(endpoint)[1]) for _ in range(12)]
    assert first.count(True) + went_on.count(True) == 4  # `times: 4` in all, not per attempt

    other = Simulator(fault_plan=plan_from({**plan, "seed": 6}))
    other.restore(world)  # another plan's state is not this one's: it starts anew
    assert other.fault_plan.state()["times"] == [4]
    world["faults"]["times"] = ["x"]
    edited = Simulator(fault_plan=plan_from(plan))
    with pytest.raises(ValueError, match="not the times of 1 faults"):
        edited.restore(world)
    assert edited.fault_plan.state()["times"] == [4]  # left as it was
