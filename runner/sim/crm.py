"""Simulated generic CRM: outbound tasks, filtered, sorted and paged; errors are plain HTTP 400."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from runner.clock import Clock
from runner.sim import demo_credentials
from runner.sim.model import SimRequest, SimResponse, Vendor
from runner.validation import SchemaIssue


def _task(task_id: str, name: str, status: str, day: int, targets: list[str],
          progress: int) -> dict[str, Any]:
    return {"task_id": task_id, "name": name, "target": targets,
            "start_time": f"202611{day:02d}T10:00:00Z",
            "end_time": f"202611{day + 1:02d}T10:00:00Z",
            "status": status, "progress": progress,
            "created_at": "20261028T14:35:00Z", "updated_at": "20261028T14:35:00Z"}


SEEDED_TASKS = [
    _task("12345", "Finance Product Promotion", "active", 1, ["cust1001", "cust1002"], 70),
    _task("12346", "Health Insurance Awareness", "pending", 5, ["cust1003", "cust1004"], 0),
    _task("12347", "Card Upgrade", "running", 3, ["cust1005", "cust1006", "cust1007"], 40),
    _task("12348", "Loyalty Callback", "running", 7, ["cust1008"], 10),
    _task("12349", "Survey Follow-up", "completed", 2, ["cust1009"], 100),
]


@dataclass
class Crm(Vendor):
    """The simulated CRM: its task list, behind its API key."""

    clock: Clock
    tasks: list[dict[str, Any]] = field(default_factory=lambda: [dict(t) for t in SEEDED_TASKS])

    handlers: ClassVar[dict[str, str]] = {"tasks.list": "list_tasks"}

    def auth_query_params(self) -> frozenset[str]:
        return frozenset({"api_key"})

    def authenticate(self, request: SimRequest) -> SimResponse | None:
        name = str(self.auth_settings.get("name", "api_key"))
        given = dict(parse_qsl(request.raw_query)).get(name)
        if given not in demo_credentials.CRM_KEYS:
            return SimResponse(401, {"error": f"missing or invalid {name}"})
        return None

    def reject(self, request: SimRequest, issues: list[SchemaIssue]) -> SimResponse:
        issue = issues[0]
        name = str(issue.path[0]) if issue.path else "request"
        return SimResponse(400, {"error": f"invalid {name}: {issue.message}"})

    def list_tasks(self, request: SimRequest) -> SimResponse:
        query = request.sections["query"]
        rows = [t for t in self.tasks if _matches(t, query)]
        key = query.get("order_by", "task_id")
        rows.sort(key=lambda t: t[key], reverse=query.get("order") == "desc")
        number, size = int(query.get("page", 1)), int(query.get("limit", 10))
        return SimResponse(200, {"total": len(rows),
                                 "tasks": rows[(number - 1) * size: number * size]})


def _matches(task: dict[str, Any], query: Mapping[str, Any]) -> bool:
    if "status" in query and task["status"] != query["status"]:
        return False
    day = task["start_time"][:8]
    if "start_date" in query and day < query["start_date"].replace("-", ""):
        return False
    return not ("end_date" in query and day > query["end_date"].replace("-", ""))
