"""The endpoint spec model: what a loaded spec is, its endpoints, params and answers."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from runner.errors import InputError
from runner.spec.fields import walk_fields
from runner.validation import CompiledSchema, compile_schema, suggest

ParamLocation = Literal["path", "query", "header", "body"]
LOCATIONS: tuple[ParamLocation, ...] = ("path", "query", "header", "body")
# what no header value may hold: it would end the header (a request smuggled in after it)
LINE_BREAK = re.compile(r"[\r\n\0]")
READ_KINDS = frozenset({"list", "detail"})  # every other kind writes: never sent blindly again


def sent_again(kind: str, retryable: bool, turned_away: bool) -> bool:
    """Whether a call that failed retryably is retried: a read is; a write only when it was
    turned away unread (HTTP 429, a throttle code), never when the vendor may have acted."""
    return retryable and (kind in READ_KINDS or turned_away)


@dataclass(frozen=True)
class Param:
    """One param of an endpoint: where it goes, whether it is required, the schema it meets."""

    name: str
    location: ParamLocation
    required: bool
    schema: Mapping[str, Any]
    description: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pagination:
    """How a list endpoint pages: `offset` (offset/limit) or `page` (number/size) style."""

    style: Literal["offset", "page"]
    position_param: str  # the offset or page-number param
    size_param: str
    items: str  # dotted path of the item list in the response
    total: str | None
    first_page: int = 1


@dataclass(frozen=True)
class ResultCode:
    """A vendor result code: what it means, whether asking again may help, whether a poll
    stops at it."""

    code: str
    meaning: str
    retryable: bool = False
    throttle: bool = False
    http_status: int | None = None
    final: bool = False  # asking again cannot change it: a poll stops at it


@dataclass(frozen=True)
class Envelope:
    """The fields every response is wrapped in, and which codes mean success."""

    code: str
    success: frozenset[str]
    message: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class Auth:
    """The spec's auth scheme and the settings the vendor fixes."""

    scheme: str
    settings: Mapping[str, Any] = field(default_factory=dict)

    def header_names(self) -> frozenset[str]:
        """Lower-case names of the headers this scheme adds to a request."""
        if self.scheme == "huawei-c2" or self.scheme in ("bearer", "basic"):
            return frozenset({"authorization"})
        if self.scheme == "rsa-sign":
            names = {"app_id": "appId", "timestamp": "timestamp", "sign": "sign"}
            names.update(self.settings.get("headers", {}))
            return frozenset(name.lower() for name in names.values())
        if self.scheme == "api-key" and self.settings.get("in") == "header":
            return frozenset({str(self.settings["name"]).lower()})
        return frozenset()

    def query_names(self) -> frozenset[str]:
        """Query parameters this scheme adds to a request."""
        if self.scheme == "api-key" and self.settings.get("in") == "query":
            return frozenset({str(self.settings["name"])})
        return frozenset()


@dataclass(frozen=True)
class Reconcile:
    """How to find out, through a list endpoint, whether an unconfirmed create happened."""

    via: str
    params: Mapping[str, Any]
    match: Mapping[str, str]
    values: Mapping[str, str] = field(default_factory=dict)  # value name -> item field


@dataclass(frozen=True)
class Example:
    """One example from the vendor's page: its request, and its answer where the page shows one."""

    title: str
    request: Mapping[str, Mapping[str, Any]]
    response_status: int | None
    response_body: Any
    has_response: bool


@dataclass(frozen=True)
class Endpoint:
    """One vendor call as its spec describes it: method, path, params, answer, pagination,
    result codes, examples."""

    service: str
    name: str
    kind: str
    method: str
    path: str
    params: Mapping[str, Param]
    response_schema: Mapping[str, Any]
    headers: Mapping[str, str]
    result_codes: Mapping[str, ResultCode]
    documented_codes: frozenset[str]
    pagination: Pagination | None = None
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    reconcile: Reconcile | None = None
    examples: tuple[Example, ...] = ()
    summary: str = ""
    notes: tuple[str, ...] = ()

    @cached_property
    def qualified_name(self) -> str:
        return f"{self.service}.{self.name}"

    def item_schema(self) -> Any:
        """What the response schema documents of one item of this list (where its pagination
        says the items are); None for an endpoint that is not paginated."""
        if self.pagination is None:
            return None
        return walk_fields(self.response_schema, [*self.pagination.items.split("."), "[]"])[0]

    def params_in(self, location: ParamLocation) -> dict[str, Param]:
        return {n: p for n, p in self.params.items() if p.location == location}

    def section_schema(self, location: ParamLocation) -> dict[str, Any]:
        """One JSON Schema for all params of one location: what a request part may hold."""
        params = self.params_in(location)
        return {
            "type": "object",
            "properties": {name: param.schema for name, param in params.items()},
            "required": [name for name, param in params.items() if param.required],
            "additionalProperties": False,
        }

    @cached_property
    def request_validators(self) -> dict[ParamLocation, CompiledSchema]:
        return {loc: compile_schema(self.section_schema(loc)) for loc in LOCATIONS}

    @cached_property
    def required_locations(self) -> frozenset[ParamLocation]:
        """The locations with a required param: an empty one of the others is always valid."""
        return frozenset(p.location for p in self.params.values() if p.required)

    @cached_property
    def response_validator(self) -> CompiledSchema:
        return compile_schema(self.response_schema)

    @cached_property
    def enumerated(self) -> dict[str, tuple[tuple[str, ...], Mapping[str, str]]]:
        """Response fields with documented meanings (x-enum-meanings): dotted name ->
        (the path, with "[]" for list items, and the meanings)."""
        found: dict[str, tuple[tuple[str, ...], Mapping[str, str]]] = {}

        def walk(schema: Any, path: tuple[str, ...]) -> None:
            if not isinstance(schema, Mapping):
                return
            if "x-enum-meanings" in schema and path:
                found[".".join(p for p in path if p != "[]")] = (path, schema["x-enum-meanings"])
            for name, sub in schema.get("properties", {}).items():
                walk(sub, (*path, name))
            if "items" in schema:
                walk(schema["items"], (*path, "[]"))

        walk(self.response_schema, ())
        return found

    def facts(self, body: Any) -> dict[str, list[Any]]:
        """The values an answer holds for each field with documented meanings."""
        facts: dict[str, list[Any]] = {}
        for name, (path, _) in self.enumerated.items():
            values = [v for v in nodes_at(body, path) if isinstance(v, (str, int, float, bool))]
            if values:
                facts[name] = values
        return facts

    def canonical_param(self, name: str) -> str | None:
        """The param `name` refers to, directly or by one of its documented aliases."""
        if name in self.params:
            return name
        return next((p.name for p in self.params.values() if name in p.aliases), None)


@dataclass(frozen=True)
class Spec:
    """One vendor API as its spec file describes it: auth, envelope, result codes, endpoints."""

    service: str
    title: str
    base_url: str
    auth: Auth
    envelope: Envelope | None
    result_codes: Mapping[str, ResultCode]
    endpoints: Mapping[str, Endpoint]
    file: str
    vendor: str = ""
    notes: tuple[str, ...] = ()

    def endpoint(self, name: str) -> Endpoint:
        """The endpoint called `name`; an unknown name is an `InputError` with a suggestion."""
        try:
            return self.endpoints[name]
        except KeyError:
            raise InputError.plain(
                f"{self.service} has no endpoint {name!r}" + suggest(name, self.endpoints)
                + f" (it has: {', '.join(sorted(self.endpoints))})"
            ) from None


def nodes_at(body: Any, path: Sequence[str], every: str = "[]") -> list[Any]:
    """The values at `path` in a JSON body; the part `every` stands for each item of a list."""
    if every not in path:  # one value at most (an answer's fields, each call): no lists
        node = body
        for part in path:
            if not isinstance(node, (dict, Mapping)) or part not in node:
                return []
            node = node[part]
        return [node]
    nodes = [body]
    for part in path:
        following: list[Any] = []
        for node in nodes:
            if isinstance(node, dict):  # what JSON decodes to: checked first, as the cheapest
                if part in node:
                    following.append(node[part])
            elif part == every and isinstance(node, list):
                following.extend(node)
            elif isinstance(node, Mapping) and part in node:
                following.append(node[part])
        nodes = following
    return nodes
