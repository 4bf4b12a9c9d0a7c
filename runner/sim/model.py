"""What the simulator's vendors share: typed requests, responses, and spec-driven validation."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qsl, unquote

from runner.clock import Clock
from runner.spec import Endpoint, ParamLocation
from runner.validation import QUOTE_IT, SchemaIssue

_INTEGER = re.compile(r"^-?[0-9]+$")
_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$")


@dataclass(frozen=True)
class SimResponse:
    """An answer of the simulator's."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # sent as-is instead of `body` (malformed answers)
    content_type: str = "application/json;charset=UTF-8"

    def content(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class SimRequest:
    """A request with path and query values typed by the endpoint's param schemas."""

    endpoint: Endpoint
    sections: Mapping[ParamLocation, Mapping[str, Any]]
    headers: Mapping[str, str]  # lower-case names
    raw_body: bytes
    body_error: str | None = None
    method: str = "GET"
    raw_path: str = "/"
    raw_query: str = ""

    @classmethod
    def parse(cls, endpoint: Endpoint, path: Mapping[str, str], query: str,
              headers: Mapping[str, str], body: bytes, *, method: str = "GET",
              raw_path: str = "/") -> SimRequest:
        sections: dict[ParamLocation, dict[str, Any]] = {
            "path": {k: _typed(endpoint, k, unquote(v)) for k, v in path.items()},
            "query": {k: _typed(endpoint, k, v) for k, v in parse_qsl(query, True)},
            "header": {name: headers[name.lower()]
                       for name in endpoint.params_in("header") if name.lower() in headers},
            "body": {},
        }
        error = None
        if body.strip():
            try:
                decoded = json.loads(body)
                if isinstance(decoded, dict):
                    sections["body"] = decoded
                else:
                    error = "the body is not a JSON object"
            except ValueError:
                error = "the body is not JSON"
        return cls(endpoint, sections, headers, body, error, method, raw_path, query)

    def param(self, name: str, default: Any = None) -> Any:
        location = self.endpoint.params[name].location
        return self.sections[location].get(name, default)

    def issues(self, ignore_query: frozenset[str] = frozenset()) -> list[SchemaIssue]:
        """How the request breaks the endpoint's spec, every section checked."""
        found: list[SchemaIssue] = []
        for location, values in self.sections.items():
            if location == "query":
                values = {k: v for k, v in values.items() if k not in ignore_query}
            found += self.endpoint.request_validators[location].issues(values)
        # a vendor speaks of its API, not of the YAML a playbook is written in
        return [dataclasses.replace(i, message=i.message.replace(QUOTE_IT, "")) for i in found]


Handler = Callable[[SimRequest], SimResponse]


class Vendor:
    """One simulated vendor: validates by the spec, then hands over to its handlers."""

    handlers: ClassVar[Mapping[str, str]] = {}  # endpoint name -> method name
    auth_settings: dict[str, Any]  # the spec's auth settings, set by the Simulator

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def now_ms(self) -> int:
        return int(self.clock.now() * 1000)

    def world(self) -> dict[str, Any]:
        """What requests changed in this vendor, as JSON values (see `Simulator.world`)."""
        return {}

    def restore(self, world: Mapping[str, Any]) -> None:
        """Take up the state `world()` gave."""

    def answer(self, request: SimRequest) -> SimResponse:
        refused = self.authenticate(request)
        if refused is not None:
            return refused
        if request.body_error:
            return self.reject(request, [SchemaIssue((), request.body_error, keyword="type")])
        issues = request.issues(self.auth_query_params())
        if issues:
            return self.reject(request, issues)
        handler: Handler = getattr(self, self.handlers[request.endpoint.name])
        return handler(request)

    def authenticate(self, request: SimRequest) -> SimResponse | None:
        """The vendor's answer to a request it does not accept, or None to go on."""
        return None

    def auth_query_params(self) -> frozenset[str]:
        return frozenset()

    def reject(self, request: SimRequest, issues: list[SchemaIssue]) -> SimResponse:
        raise NotImplementedError

    def coded(self, code: str, message: str) -> SimResponse:
        """The vendor's answer carrying result `code` (for a vendor without codes: HTTP 400)."""
        return SimResponse(400, {"error": code, "message": message})


def _typed(endpoint: Endpoint, name: str, text: str) -> Any:
    """A path or query value as the spec types it (a vendor's server parses them so)."""
    param = endpoint.params.get(name)
    kind = param.schema.get("type") if param else None
    if kind == "integer" and _INTEGER.match(text):
        return int(text)
    if kind == "number" and _NUMBER.match(text):
        return float(text)
    if kind == "boolean" and text in ("true", "false"):
        return text == "true"
    return text
