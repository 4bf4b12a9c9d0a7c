"""Simulated "speech openapi" cloud call center: a seeded set of outbound tasks, paged.

A bad request gets code 29002 (parameter error) in the usual envelope, as the vendor's
result-code table says. Pages follow pageNum/pageSize with the documented defaults (1, 20).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from runner.auth import rsa_sign
from runner.clock import Clock
from runner.sim import demo_credentials
from runner.sim.model import SimRequest, SimResponse, Vendor
from runner.validation import SchemaIssue


def _task(task_id: int, name: str, task_type: int, status: int, **extra: Any) -> dict[str, Any]:
    automatic = task_type == 1
    task: dict[str, Any] = {
        "taskId": task_id, "taskName": name, "taskType": task_type, "taskStatus": status,
        "taskExecStartDate": "2026-11-01", "taskExecEndDate": "2026-12-31",
        "taskExecTimes": [{"taskExecTimeStartStr": "09:00:00", "taskExecTimeEndStr": "21:00:00"}]
        if automatic else None,
        "taskDesc": name, "skillSetId": "1495152791910144", "skillSetName": "outbound",
        "outboundNumberGroupId": "1070678044124425" if automatic else None,
        "strategyDisplaySwitch": True if automatic else None,
        "sendNumberStrategy": 0 if automatic else None, "multiplyPower": 1 if automatic else None,
        "abandonmentRate": None, "maxRingingDuration": 45 if automatic else None,
        "acw": 10 if automatic else None,
        "outboundPhoneGroups": [{"name": "1", "identify": "default", "autoOutboundSwitch": 1,
                                 "autoOutboundInterval": 5, "autoOutboundTimes": 1}]
        if automatic else None,
        "taskAgents": None if automatic else [{"agentId": 116, "assignNum": 20}],
        "customerAmount": 40, "completedCount": 10, "connectedCount": 6,
        "connectPercentage": "60.00%", "taskProgress": "25.00%",
    }
    task.update(extra)
    return task


SEEDED_TASKS = [
    _task(1618, "autotest050", 1, 3),
    _task(1619, "renewal reminders", 1, 1),
    _task(1620, "card activation", 2, 3),
    _task(1621, "survey november", 1, 4, completedCount=40, taskProgress="100.00%"),
    _task(1622, "winback", 1, 2),
    _task(1623, "overdue notices", 1, 3),
    _task(1624, "old campaign", 2, 5),
]


@dataclass
class Speech(Vendor):
    """The simulated speech call center: its outbound tasks, behind its signature check."""

    clock: Clock
    tasks: list[dict[str, Any]] = field(default_factory=lambda: [dict(t) for t in SEEDED_TASKS])

    handlers: ClassVar[dict[str, str]] = {"task.page": "task_page"}

    def authenticate(self, request: SimRequest) -> SimResponse | None:
        """appId/timestamp/sign check: 10002 for an unknown appId, 10001 for a bad sign."""
        names = rsa_sign.settings(self.auth_settings)
        headers = {key: request.headers.get(name.lower(), "")
                   for key, name in names["headers"].items()}
        public_key = demo_credentials.SPEECH_PUBLIC_KEYS.get(headers["app_id"])
        if public_key is None:
            return _envelope("10002", "找不到对应的公钥,请先上传公钥")
        skew = float(self.auth_settings.get("clock_skew_seconds", 300))
        stamp = headers["timestamp"]
        fresh = stamp.isdigit() and abs(self.clock.now() - int(stamp) / 1000) <= skew
        text = rsa_sign.signed_text(names["text_template"], headers["app_id"], stamp)
        if not fresh or not rsa_sign.verify(public_key, headers["sign"], text, names["hash_name"]):
            return _envelope("10001", "鉴权失败")
        return None

    def coded(self, code: str, message: str) -> SimResponse:
        return _envelope(code, message)

    def reject(self, request: SimRequest, issues: list[SchemaIssue]) -> SimResponse:
        issue = issues[0]
        name = str(issue.path[0]) if issue.path else "request"
        return SimResponse(200, {"code": "29002", "message": f"参数错误: {name}: {issue.message}",
                                 "data": None})

    def task_page(self, request: SimRequest) -> SimResponse:
        query = request.sections["query"]
        rows = [t for t in self.tasks if _matches(t, query)]
        number, size = int(query.get("pageNum", 1)), int(query.get("pageSize", 20))
        page = rows[(number - 1) * size: number * size]
        return SimResponse(200, {"code": "10000", "message": "请求成功",
                                 "data": {"total": len(rows), "list": page}})


def _envelope(code: str, message: str) -> SimResponse:
    return SimResponse(200, {"code": code, "message": message, "data": None})


def _matches(task: dict[str, Any], query: Mapping[str, Any]) -> bool:
    if query.get("query") and query["query"] not in task["taskName"]:
        return False
    if query.get("taskType") not in (None, 0) and task["taskType"] != query["taskType"]:
        return False
    if "taskStatus" in query and task["taskStatus"] != query["taskStatus"]:
        return False
    return not ("skillsetId" in query and task["skillSetId"] != str(query["skillsetId"]))
