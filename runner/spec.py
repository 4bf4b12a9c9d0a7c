"""Endpoint specs: the model, the loader, and the checks a schema cannot express.

A spec file is validated against `schemas/spec.schema.json` (which also checks every embedded
JSON Schema against the 2020-12 metaschema), then against the rules in `_semantic_findings`,
and only then becomes a frozen `Spec`. Validators of every endpoint are compiled once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from runner.errors import FileError, Finding, InputError, JsonPath
from runner.resources import data_dir
from runner.validation import CompiledSchema, compile_schema, schema_findings, suggest
from runner.yamlio import Document, load_file

ParamLocation = Literal["path", "query", "header", "body"]
LOCATIONS: tuple[ParamLocation, ...] = ("path", "query", "header", "body")
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
READ_KINDS = frozenset({"list", "detail"})  # every other kind writes: never sent blindly again


@dataclass(frozen=True)
class Param:
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
    code: str
    meaning: str
    retryable: bool = False
    throttle: bool = False
    http_status: int | None = None


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
    title: str
    request: Mapping[str, Mapping[str, Any]]
    response_status: int | None
    response_body: Any
    has_response: bool


@dataclass(frozen=True)
class Endpoint:
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

    @property
    def qualified_name(self) -> str:
        return f"{self.service}.{self.name}"

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


# ---------------------------------------------------------------- loading


def load_spec(path: str | Path) -> Spec:
    """Load, validate and build a spec file; every problem found is in the `FileError`.

    A file is loaded once per process (while it is unchanged on disk): a run and its
    simulator share the same `Spec`.
    """
    resolved = Path(path).resolve()
    try:
        stat = resolved.stat()
    except OSError:
        return _load_spec(str(path))
    key = (str(resolved), stat.st_mtime_ns, stat.st_size)
    if key not in _LOADED:
        _LOADED[key] = _load_spec(str(path))
    return _LOADED[key]


_LOADED: dict[tuple[str, int, int], Spec] = {}


def _load_spec(path: str) -> Spec:
    document = load_file(path)
    findings = check_spec_document(document)
    if findings:
        raise FileError(findings)
    return build_spec(document)


def check_spec_document(document: Document) -> list[Finding]:
    """Every problem of a loaded spec file: its schema first, then the cross-field rules."""
    findings = schema_findings(document, "spec")
    if findings:
        return findings
    spec = build_spec(document)
    return [Finding(document.locate(path, key=at_key), message)
            for path, message, at_key in _semantic_findings(spec, document.data)]


def build_spec(document: Document) -> Spec:
    """A `Spec` from a document that passed `check_spec_document`."""
    raw = document.data
    codes = {code: _result_code(code, entry) for code, entry in raw.get("result_codes", {}).items()}
    envelope = raw.get("envelope")
    headers = raw.get("headers", {})
    return Spec(
        service=raw["service"],
        title=raw["title"],
        vendor=raw.get("vendor", ""),
        base_url=raw["base_url"],
        auth=Auth(raw["auth"]["scheme"],
                  {k: v for k, v in raw["auth"].items() if k not in ("scheme", "notes")}),
        envelope=Envelope(envelope["code"], frozenset(envelope["success"]),
                          envelope.get("message"), envelope.get("detail")) if envelope else None,
        result_codes=codes,
        endpoints={name: _endpoint(raw["service"], name, entry, codes, headers)
                   for name, entry in raw["endpoints"].items()},
        file=document.file,
        notes=_notes(raw.get("notes")),
    )


def _endpoint(service: str, name: str, raw: Mapping[str, Any],
              codes: Mapping[str, ResultCode], headers: Mapping[str, str]) -> Endpoint:
    own_codes = raw.get("result_codes", {})
    merged = dict(codes)
    for code, override in own_codes.items():
        base = codes.get(code, ResultCode(code, override.get("meaning", "undocumented")))
        merged[code] = ResultCode(code, override.get("meaning", base.meaning),
                                  override.get("retryable", base.retryable),
                                  override.get("throttle", base.throttle),
                                  override.get("http_status", base.http_status))
    return Endpoint(
        service=service, name=name, kind=raw["kind"], method=raw["method"], path=raw["path"],
        params={n: Param(n, p["in"], p.get("required", False), p["schema"],
                         p.get("description", ""), tuple(p.get("aliases", ())))
                for n, p in raw.get("params", {}).items()},
        response_schema=raw["response"]["schema"],
        headers={**headers, **raw.get("headers", {})},
        result_codes=merged,
        documented_codes=frozenset(own_codes),
        pagination=_pagination(raw.get("pagination")),
        values={n: tuple(v["from"]) for n, v in raw.get("values", {}).items()},
        reconcile=Reconcile(**raw["reconcile"]) if "reconcile" in raw else None,
        examples=tuple(_example(i, e) for i, e in enumerate(raw.get("examples", []))),
        summary=raw.get("summary", ""),
        notes=_notes(raw.get("notes")),
    )


def _result_code(code: str, raw: Mapping[str, Any]) -> ResultCode:
    return ResultCode(code, raw["meaning"], raw.get("retryable", False),
                      raw.get("throttle", False), raw.get("http_status"))


def _pagination(raw: Mapping[str, Any] | None) -> Pagination | None:
    if raw is None:
        return None
    if raw["style"] == "offset":
        return Pagination("offset", raw["offset"], raw["limit"], raw["items"], raw.get("total"))
    return Pagination("page", raw["page"], raw["size"], raw["items"], raw.get("total"),
                      raw.get("first_page", 1))


def _example(index: int, raw: Mapping[str, Any]) -> Example:
    response = raw.get("response", {})
    return Example(raw.get("title", f"example {index + 1}"), raw.get("request", {}),
                   response.get("status"), response.get("body"), "response" in raw)


def _notes(raw: str | Sequence[str] | None) -> tuple[str, ...]:
    if raw is None:
        return ()
    return (raw,) if isinstance(raw, str) else tuple(raw)


# ---------------------------------------------------------------- cross-field rules

Problem = tuple[JsonPath, str, bool]  # (where, message, located at the key)


def _semantic_findings(spec: Spec, raw: Mapping[str, Any]) -> Iterator[Problem]:
    for name, endpoint in spec.endpoints.items():
        where: JsonPath = ("endpoints", name)
        yield from _path_placeholder_problems(endpoint, where)
        yield from _pagination_problems(endpoint, where)
        yield from _value_problems(endpoint, where)
        yield from _reconcile_problems(spec, endpoint, where)
        yield from _result_code_problems(spec, raw["endpoints"][name], where)
        yield from _example_problems(spec, endpoint, where)
        for param in endpoint.params.values():
            yield from _stray_keywords(param.schema, (*where, "params", param.name, "schema"))
        yield from _stray_keywords(endpoint.response_schema, (*where, "response", "schema"))


def _path_placeholder_problems(endpoint: Endpoint, where: JsonPath) -> Iterator[Problem]:
    placeholders = _PLACEHOLDER.findall(endpoint.path)
    path_params = endpoint.params_in("path")
    for name in placeholders:
        if name not in path_params:
            yield ((*where, "path"), f"the path placeholder {{{name}}} has no path param"
                   + suggest(name, path_params), False)
    for name, param in path_params.items():
        if name not in placeholders:
            yield ((*where, "params", name, "in"),
                   f"path param {name!r} does not appear in the path {endpoint.path}", False)
        elif not param.required:
            yield ((*where, "params", name), f"path param {name!r} must be required", False)


def _pagination_problems(endpoint: Endpoint, where: JsonPath) -> Iterator[Problem]:
    pagination = endpoint.pagination
    if pagination is None:
        return
    keys = ("offset", "limit") if pagination.style == "offset" else ("page", "size")
    for key, param in zip(keys, (pagination.position_param, pagination.size_param), strict=True):
        found = endpoint.params.get(param)
        if found is None:
            yield ((*where, "pagination", key), f"pagination names {param!r}, which is not a "
                   "param of this endpoint" + suggest(param, endpoint.params), False)
        elif found.location not in ("query", "body"):
            yield ((*where, "pagination", key),
                   f"pagination param {param!r} must be in the query or the body", False)
    for key, dotted in (("items", pagination.items), ("total", pagination.total)):
        if dotted and not _schema_has_field(endpoint.response_schema, dotted):
            yield ((*where, "pagination", key),
                   f"pagination {key} {dotted!r} is not a field of the response schema", False)


def _value_problems(endpoint: Endpoint, where: JsonPath) -> Iterator[Problem]:
    for name, paths in endpoint.values.items():
        for i, dotted in enumerate(paths):
            if not _schema_has_field(endpoint.response_schema, dotted):
                yield ((*where, "values", name, "from", i),
                       f"{dotted!r} is not a field of the response schema", False)


def _reconcile_problems(spec: Spec, endpoint: Endpoint, where: JsonPath) -> Iterator[Problem]:
    reconcile = endpoint.reconcile
    if reconcile is None:
        return
    via = spec.endpoints.get(reconcile.via)
    if via is None or via.kind != "list" or via.pagination is None:
        yield ((*where, "reconcile", "via"), f"reconcile needs a paginated list endpoint of "
               f"this spec; {reconcile.via!r} is not one" + suggest(reconcile.via, spec.endpoints),
               False)
        return
    for param in reconcile.params:
        if param not in via.params:
            yield ((*where, "reconcile", "params", param),
                   f"{reconcile.via} has no param {param!r}" + suggest(param, via.params), True)
    item_schema = _item_schema(via)
    for item_field in [*reconcile.match, *reconcile.values.values()]:
        if not _schema_has_field(item_schema, item_field):
            yield ((*where, "reconcile", "match", item_field),
                   f"the items of {reconcile.via} have no field {item_field!r}", True)


def _result_code_problems(spec: Spec, raw: Mapping[str, Any], where: JsonPath) -> Iterator[Problem]:
    for code, override in raw.get("result_codes", {}).items():
        if code not in spec.result_codes and "meaning" not in override:
            yield ((*where, "result_codes", code), f"result code {code} is not in the service's "
                   "result_codes table, so it needs its own meaning", True)


def _example_problems(spec: Spec, endpoint: Endpoint, where: JsonPath) -> Iterator[Problem]:
    for i, example in enumerate(endpoint.examples):
        at: JsonPath = (*where, "examples", i)
        for location, values in example.request.items():
            yield from _example_section_problems(spec, endpoint, location, values,
                                                 (*at, "request", location))
        if example.has_response:
            for issue in endpoint.response_validator.issues(example.response_body):
                yield ((*at, "response", "body", *issue.path),
                       f"the example's response breaks the response schema: {issue.message}",
                       issue.at_key)


def _example_section_problems(spec: Spec, endpoint: Endpoint, location: str,
                              values: Mapping[str, Any], at: JsonPath) -> Iterator[Problem]:
    section = "header" if location == "headers" else location
    allowed_extra = {"query": spec.auth.query_names(),
                     "header": spec.auth.header_names() | {h.lower() for h in endpoint.headers}}
    renamed: dict[str, Any] = {}
    for key, value in values.items():
        if section == "header" and key.lower() in allowed_extra["header"]:
            continue
        if section == "query" and key in allowed_extra["query"]:
            continue
        renamed[endpoint.canonical_param(key) or key] = value
    validator = endpoint.request_validators[section]  # type: ignore[index]
    for issue in validator.issues(renamed):
        yield ((*at, *issue.path), f"the example's request breaks the {section} params: "
               f"{issue.message}", issue.at_key)


_KEYWORDS = frozenset((
    "$schema", "$id", "$ref", "$anchor", "$dynamicRef", "$dynamicAnchor", "$vocabulary",
    "$comment", "$defs", "definitions", "allOf", "anyOf", "oneOf", "not", "if", "then", "else",
    "dependentSchemas", "prefixItems", "items", "contains", "properties", "patternProperties",
    "additionalProperties", "propertyNames", "unevaluatedItems", "unevaluatedProperties", "type",
    "enum", "const", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum",
    "maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "maxContains",
    "minContains", "maxProperties", "minProperties", "required", "dependentRequired", "title",
    "description", "default", "deprecated", "readOnly", "writeOnly", "examples", "format",
    "contentEncoding", "contentMediaType", "contentSchema",
))
_SUBSCHEMA = ("items", "additionalProperties", "not", "if", "then", "else", "contains",
              "propertyNames", "unevaluatedItems", "unevaluatedProperties", "contentSchema")
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions",
                   "dependentSchemas")


def _stray_keywords(schema: Any, at: JsonPath) -> Iterator[Problem]:
    """Keys that are no JSON Schema keyword: JSON Schema ignores them, so a YAML slip such as
    `{description: a, b}` (a stray key `b`) would pass unseen. Annotations start with x-."""
    if not isinstance(schema, Mapping):
        return
    for key in schema:
        if key not in _KEYWORDS and not str(key).startswith("x-"):
            yield ((*at, key), f"{key!r} is not a JSON Schema keyword (in YAML, a value with a "
                   "comma inside {...} needs quotes; annotations start with x-)", True)
    for key in _SUBSCHEMA:
        if key in schema:
            yield from _stray_keywords(schema[key], (*at, key))
    for key in _SUBSCHEMA_MAPS:
        for name, sub in (schema.get(key) or {}).items():
            yield from _stray_keywords(sub, (*at, key, name))
    for key in ("allOf", "anyOf", "oneOf", "prefixItems"):
        for index, sub in enumerate(schema.get(key) or []):
            yield from _stray_keywords(sub, (*at, key, index))


def _schema_has_field(schema: Mapping[str, Any], dotted: str) -> bool:
    """Whether `dotted` (a.b.c) names a property the schema declares, through nesting."""
    current: Any = schema
    for part in dotted.split("."):
        properties = current.get("properties", {}) if isinstance(current, Mapping) else {}
        if part not in properties:
            return False
        current = properties[part]
    return True


def _item_schema(endpoint: Endpoint) -> Mapping[str, Any]:
    assert endpoint.pagination is not None
    current: Any = endpoint.response_schema
    for part in endpoint.pagination.items.split("."):
        current = current.get("properties", {}).get(part, {})
    items = current.get("items", {}) if isinstance(current, Mapping) else {}
    return items if isinstance(items, Mapping) else {}


# ---------------------------------------------------------------- finding spec files


def shipped_spec_files() -> list[Path]:
    """The spec files that come with the package."""
    return sorted(data_dir("specs").glob("*.yaml"))


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        return False


def find_spec_file(reference: str, base_dir: Path | None = None) -> Path:
    """Resolve a playbook's `spec:`: a path to a file, else ./specs/NAME.yaml, else shipped.

    Relative paths are taken from `base_dir` (the playbook's folder) first, then the working
    directory.
    """
    looks_like_path = reference.endswith((".yaml", ".yml")) or "/" in reference
    shown = reference if len(reference) <= 80 else reference[:77] + "..."
    if looks_like_path:
        for root in filter(None, (base_dir, Path.cwd())):
            candidate = root / reference
            if _is_file(candidate):
                return candidate
        raise InputError.plain(f"spec file {shown!r} does not exist")
    for folder in (Path.cwd() / "specs", data_dir("specs")):
        candidate = folder / f"{reference}.yaml"
        if _is_file(candidate):
            return candidate
    known = sorted({p.stem for p in [*Path("specs").glob("*.yaml"), *shipped_spec_files()]})
    raise InputError.plain(f"no spec named {shown!r}" + suggest(reference[:200], known)
                           + f" (known: {', '.join(known)})")
