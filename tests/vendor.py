"""A small, scriptable vendor (an ASGI app) for engine tests: it misbehaves on request."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

Message = MutableMapping[str, Any]


@dataclass
class ScriptedVendor:
    """Serves tests/data/specs/testvendor.yaml. Each attribute changes one behaviour."""

    total: int = 7  # items in the list
    ids: list[int] | None = None  # the items' ids, in the list's order (else 0 to total - 1)
    item_fields: dict[str, Any] = field(default_factory=dict)  # each item's other fields
    report_total: bool = True
    ignore_offset: bool = False  # every page repeats the first (a vendor bug)
    always_full: bool = False  # never a short page, the total never given (endless paging)
    pending_polls: int = 2  # job.detail answers pending this many times, then done
    final_state: str = "done"
    detail_codes: list[str] = field(default_factory=list)  # codes to answer before success
    create_status: int = 200
    cancel_status: int = 200  # job.cancel (an action): a 5xx leaves its outcome unknown
    detail_status: int = 200  # an HTTP error for job.detail, with a non-JSON body
    retry_after: str | None = None
    bad_type: bool = False  # list items carry a string id
    page_bonus: int = 0  # extra items on every full page (a vendor ignoring the limit)
    calls: Counter[str] = field(default_factory=Counter)
    bodies: list[Any] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)  # of each request, as sent
    in_flight: int = 0
    max_in_flight: int = 0
    latency: float = 0.001  # lets concurrent requests overlap, as on a network

    async def __call__(self, scope: Message, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.headers.append({k.decode(): v.decode() for k, v in scope["headers"]})
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        await asyncio.sleep(self.latency)
        self.in_flight -= 1
        status, document = self.answer(scope["method"], scope["path"],
                                       dict(parse_qsl(scope["query_string"].decode())), body)
        content = json.dumps(document).encode() if document is not None else b"<html>nope</html>"
        headers = [(b"content-type", b"application/json")]
        if self.retry_after and status == 429:
            headers.append((b"retry-after", self.retry_after.encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    def answer(self, method: str, path: str, query: dict[str, str],
               body: bytes) -> tuple[int, Any]:
        self.calls[f"{method} {path.split('/')[1]}"] += 1
        if path == "/items":
            return 200, self._page(int(query["offset"]), int(query["limit"]))
        if method == "POST" and path == "/jobs":
            self.bodies.append(json.loads(body))
            return self.create_status, {"code": "0", "id": f"job{len(self.bodies)}"}
        if method == "POST" and path.endswith("/cancel"):
            return self.cancel_status, {"code": "0"} if self.cancel_status < 500 else None
        if self.detail_status != 200:
            return self.detail_status, None
        if self.detail_codes:
            return 200, {"code": self.detail_codes.pop(0), "msg": "not now"}
        self.pending_polls -= 1
        return 200, {"code": "0", "state": "pending" if self.pending_polls >= 0
                     else self.final_state}

    def _page(self, offset: int, limit: int) -> dict[str, Any]:
        if self.always_full:
            return {"code": "0", "items": [{"id": offset + i}
                                           for i in range(limit + self.page_bonus)]}
        start = 0 if self.ignore_offset else offset
        listed = self.ids if self.ids is not None else range(self.total)
        ids = listed[start:start + limit]
        items: list[Any] = [{"id": str(i) if self.bad_type else i, **self.item_fields}
                            for i in ids]
        page: dict[str, Any] = {"code": "0", "items": items}
        if self.report_total:
            page["total"] = len(listed)
        return page
