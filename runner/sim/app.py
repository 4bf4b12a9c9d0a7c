"""The vendor simulator: an ASGI app serving every endpoint of the shipped specs, with state.

It routes by method and path, types path and query values by the spec, validates each
request against the spec exactly as the engine does before sending, and answers a bad one
with the vendor's own result codes. Vendor behaviour lives in one module per vendor.

Control endpoints (not part of any vendor API), for tests and demos:
  GET  /_sim/state              counts of calls and faults per endpoint, the vendors' time
  POST /_sim/clock?advance=SEC  bring reserved calls SEC seconds nearer (see ISales.schedule)
  PUT  /_sim/faults             replace the fault plan (JSON, as schemas/faults.schema.json)
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl

from runner.clock import Clock, SimulatedClock
from runner.sim import crm, isales, speech
from runner.sim.faults import PROCESSING, Fault, FaultPlan, drift, plan_from, plan_problems
from runner.sim.model import SimRequest, SimResponse, Vendor
from runner.spec import Endpoint, Spec, load_spec, shipped_spec_files

WORLD_VERSION = 1  # of what `Simulator.world` gives
LAST_TIME = 1e11  # seconds since the epoch, in the year 5138: a world's time is before it
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class _Route:
    """An endpoint's method and path, and the vendor that answers it."""

    method: str
    pattern: re.Pattern[str]
    endpoint: Endpoint
    vendor: Vendor


class ConnectionDropped(ConnectionResetError):
    """Raised in-process where a served simulator would drop the connection."""


class AnswerWithheld(TimeoutError):
    """Raised in-process where a served simulator would keep silent (a timeout fault): the
    caller gives up at once, as a client would after its timeout, on simulated time."""


@dataclass
class Simulator:
    """The ASGI app. One instance holds one world: its clock, its vendors' state, its counts.

    `clock` is the vendors' time: what signatures and appointment times are judged by.
    `schedule` (default: `clock`, when simulated) is what decides when reserved calls happen;
    served over HTTP it runs apart, faster, so calls come sooner while the vendors' time stays
    the time clients sign with.

    `calls` counts the requests each endpoint processed (a create counted is a reservation
    made); `faults` the faults injected, by endpoint and kind. `in_process` says how to drop a
    connection: raise `ConnectionDropped` for the in-process transport, or, served over HTTP,
    cut the answer short so the server closes the connection.
    """

    clock: Clock = field(default_factory=SimulatedClock)
    schedule: SimulatedClock | None = None
    calls: Counter[str] = field(default_factory=Counter)
    fault_plan: FaultPlan | None = None
    in_process: bool = True
    faults: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        if self.schedule is None and isinstance(self.clock, SimulatedClock):
            self.schedule = self.clock
        specs = {spec.service: spec for spec in map(load_spec, shipped_spec_files())}
        self.vendors: dict[str, Vendor] = {
            "huawei-isales": isales.ISales(self.clock, self.schedule or self.clock),
            "speech-openapi": speech.Speech(self.clock),
            "crm": crm.Crm(self.clock),
        }
        self.specs: Mapping[str, Spec] = specs
        for spec in specs.values():
            if spec.service in self.vendors:
                self.vendors[spec.service].auth_settings = dict(spec.auth.settings)
        self.routes = [
            _Route(e.method, _path_pattern(e.path), e, self.vendors[spec.service])
            for spec in specs.values() if spec.service in self.vendors
            for e in spec.endpoints.values()
        ]

    def world(self) -> dict[str, Any]:
        """What requests made (the reservations, their calls), as JSON values: the journal
        keeps it for a --sim run, and its resume goes on from it."""
        world = {"world_version": WORLD_VERSION, "now": self.clock.now(),
                 "vendors": {name: vendor.world() for name, vendor in self.vendors.items()}}
        if self.fault_plan is not None:
            world["faults"] = self.fault_plan.state()
        return world

    def restore(self, world: Mapping[str, Any]) -> None:
        """Go on from `world()`, at its time or now, whichever is later: time never runs back
        for a vendor, and a simulated clock that waited hours in an instant is that far ahead
        (the calls of what a run reserved are as near as they were when it stopped). The fault
        plan, if the same one, goes on where it was: a fault `times: 1` came up once already."""
        now = float(world.get("now", 0))  # checked before anything changes
        if not 0 <= now < LAST_TIME:
            raise ValueError(f"not a time a run could have left: {now}")
        for name, state in world["vendors"].items():
            self.vendors[name].restore(state)
        if self.fault_plan is not None and "faults" in world:  # last: the caller's to keep
            self.fault_plan.go_on_from(world["faults"])
        if isinstance(self.clock, SimulatedClock):
            self.clock.advance(now - self.clock.now())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = await _read_body(receive)
        method, path = scope["method"], scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        route = self._route(method, path)
        faults: list[Fault] = []
        if route is not None and self.fault_plan is not None:
            delay, faults = self.fault_plan.roll(route.endpoint)
            if delay:
                await asyncio.sleep(delay)
        if not faults:
            await _respond(send, self.handle(method, path, query, headers, body))
            return
        assert route is not None
        for fault in faults:
            self.faults[f"{route.endpoint.qualified_name} {fault.kind}"] += 1
        await self._misbehave(faults, route, send, lambda: self.handle(method, path, query,
                                                                       headers, body))

    async def _misbehave(self, faults: list[Fault], route: _Route, send: Send,
                         process: Callable[[], SimResponse]) -> None:
        """Answer as `faults` say: one fault, or drifts that all change the answer."""
        fault = faults[0]
        if fault.kind in ("reset_before", "reset_after"):
            if fault.kind == "reset_after":
                process()
            await self._drop(send)
            return
        if fault.kind == "timeout":
            if self.in_process:
                raise AnswerWithheld("the simulator kept silent (a fault on purpose)")
            await asyncio.sleep(float(fault.get("seconds", 60)))
            await _respond(send, SimResponse(504, {"error": "gateway timeout"}))
            return
        if fault.kind in PROCESSING:
            answer = process()
            for each in faults:
                answer = self._spoil(answer, each, route.endpoint.service)
            await _respond(send, answer)
            return
        await _respond(send, self._instead(fault, route))

    def _instead(self, fault: Fault, route: _Route) -> SimResponse:
        """The answer to a request the fault kept from being processed."""
        if fault.kind == "http_error":
            status = int(fault.get("status", 503))
            return SimResponse(status, {"error": f"HTTP {status}"})
        if fault.kind == "rate_limited":
            wait = float(fault.get("retry_after", 1))
            retry_after = (formatdate(self.clock.now() + wait, usegmt=True)
                           if fault.get("retry_after_form") == "http-date" else f"{wait:g}")
            return SimResponse(429, {"error": "too many requests"},
                               headers={"retry-after": retry_after})
        if fault.kind == "html":
            status = int(fault.get("status", 502))
            return SimResponse(status, None, raw=_HTML_ERROR.replace("{status}", str(status))
                               .encode(), content_type="text/html")
        code = str(fault.get("code"))  # vendor_code
        known = route.endpoint.result_codes.get(code)
        return route.vendor.coded(code, known.meaning if known else "error")

    def _spoil(self, answer: SimResponse, fault: Fault, service: str) -> SimResponse:
        if fault.kind == "truncated":
            content = answer.content()
            return SimResponse(answer.status, None, raw=content[: len(content) // 2])
        if fault.kind == "wrong_content_type":
            return SimResponse(answer.status, answer.body, answer.headers,
                               content_type="text/html; charset=utf-8")
        envelope = self.specs[service].envelope
        return SimResponse(answer.status, drift(answer.body, fault,
                                                envelope.code if envelope else None),
                           answer.headers)

    async def _drop(self, send: Send) -> None:
        if self.in_process:
            raise ConnectionDropped("the simulator dropped the connection")
        # Served: start an answer, then fail mid-body; the server closes the connection.
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", b"1000")]})
        await send({"type": "http.response.body", "body": b'{"resultCode"', "more_body": True})
        raise ConnectionDropped("the simulator dropped the connection (a fault on purpose)")

    def _route(self, method: str, path: str) -> _Route | None:
        return next((r for r in self.routes if r.method == method and r.pattern.match(path)),
                    None)

    def handle(self, method: str, path: str, query: str, headers: Mapping[str, str],
               body: bytes) -> SimResponse:
        """Answer one request (the ASGI wrapper only moves bytes)."""
        if path.startswith("/_sim/"):
            return self._control(method, path, dict(parse_qsl(query)), body)
        for route in self.routes:
            match = route.pattern.match(path)
            if match and route.method == method:
                self.calls[route.endpoint.qualified_name] += 1
                request = SimRequest.parse(route.endpoint, match.groupdict(), query, headers,
                                           body, method=method, raw_path=path)
                return route.vendor.answer(request)
        allowed = [r.method for r in self.routes if r.pattern.match(path)]
        if allowed:
            return SimResponse(405, {"error": f"method {method} not allowed; use "
                                     f"{', '.join(allowed)}"})
        return SimResponse(404, {"error": f"no endpoint at {path}"})

    def _control(self, method: str, path: str, query: Mapping[str, str],
                 body: bytes = b"") -> SimResponse:
        if path == "/_sim/state" and method == "GET":
            return SimResponse(200, {"now": self.clock.now(), "calls": dict(self.calls),
                                     "faults": dict(self.faults)})
        if path == "/_sim/clock" and method == "POST" and self.schedule is not None:
            seconds = _seconds(query.get("advance", "0"))
            if seconds is None:
                return SimResponse(400, {"error": "advance must be a number of seconds, 0 or "
                                                  "more (time does not go back)"})
            self.schedule.advance(seconds)
            return SimResponse(200, {"now": self.clock.now()})
        if path == "/_sim/faults" and method == "PUT":
            try:
                data = json.loads(body or b"null")
            except ValueError:
                return SimResponse(400, {"error": "the body is not JSON"})
            problems = plan_problems(data)
            if problems:
                return SimResponse(400, {"error": "not a fault plan", "problems": problems})
            self.fault_plan = plan_from(data)
            return SimResponse(200, {"faults": len(self.fault_plan.faults)})
        return SimResponse(404, {"error": f"no control endpoint {method} {path}"})


def _seconds(text: str) -> float | None:
    try:
        seconds = float(text)
    except ValueError:
        return None
    return seconds if 0 <= seconds < math.inf else None


_HTML_ERROR = ("<html><head><title>{status} Bad Gateway</title></head><body><center>"
               "<h1>{status} Bad Gateway</h1></center><hr><center>nginx</center></body></html>")


def _path_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^{}]+\})", template)
    regex = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p)
                    for p in parts)
    return re.compile(f"^{regex}$")


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _respond(send: Send, response: SimResponse) -> None:
    content = response.content()
    headers = [(b"content-type", response.content_type.encode()),
               (b"content-length", str(len(content)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in response.headers.items()]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return

