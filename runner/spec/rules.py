"""The checks of a spec that its schema cannot express: placeholders, pagination, reconcile,
examples against their own endpoint, and keys that are no JSON Schema keyword."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from runner.errors import JsonPath
from runner.spec.fields import walk_fields
from runner.spec.model import Endpoint, ResultCode, Spec
from runner.validation import closest, suggest

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
Problem = tuple[JsonPath, str, bool]  # (where, message, located at the key)


def semantic_findings(spec: Spec, raw: Mapping[str, Any]) -> Iterator[Problem]:
    for code, known in spec.result_codes.items():
        yield from _contradictions(known, ("result_codes", code))
    for name, endpoint in spec.endpoints.items():
        where: JsonPath = ("endpoints", name)
        yield from _path_placeholder_problems(endpoint, where)
        yield from _pagination_problems(endpoint, where)
        yield from _value_problems(endpoint, where)
        yield from _reconcile_problems(spec, endpoint, where)
        yield from _result_code_problems(spec, endpoint, raw["endpoints"][name], where)
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
        missing = _missing_field(endpoint.response_schema, dotted) if dotted else None
        if missing is not None:
            yield ((*where, "pagination", key),
                   f"pagination {key} {dotted!r} is not a field of the response schema"
                   + missing, False)


def _value_problems(endpoint: Endpoint, where: JsonPath) -> Iterator[Problem]:
    for name, paths in endpoint.values.items():
        for i, dotted in enumerate(paths):
            missing = _missing_field(endpoint.response_schema, dotted)
            if missing is not None:
                yield ((*where, "values", name, "from", i),
                       f"{dotted!r} is not a field of the response schema" + missing, False)


def _reconcile_problems(spec: Spec, endpoint: Endpoint, where: JsonPath) -> Iterator[Problem]:
    reconcile = endpoint.reconcile
    if reconcile is None:
        return
    via = spec.endpoints.get(reconcile.via)
    if via is None or via.kind != "list" or via.pagination is None:
        lists = [name for name, e in spec.endpoints.items()
                 if e.kind == "list" and e.pagination is not None]
        yield ((*where, "reconcile", "via"), f"reconcile needs a paginated list endpoint of "
               f"this spec; {reconcile.via!r} is not one" + (suggest(reconcile.via, lists) or (
                   f" (its lists: {', '.join(lists)})" if lists else " (it has none)")), False)
        return
    for param in reconcile.params:
        if param not in via.params:
            yield ((*where, "reconcile", "params", param),
                   f"{reconcile.via} has no param {param!r}" + suggest(param, via.params), True)
    items = via.item_schema()
    if not isinstance(items, Mapping):  # the list's pagination names no list: reported there
        return
    fields = [(("match", name), name, True) for name in reconcile.match]
    fields += [(("values", name), item_field, False) for name, item_field in
               reconcile.values.items()]
    for at, item_field, at_key in fields:
        missing = _missing_field(items, item_field)
        if missing is not None:
            yield ((*where, "reconcile", *at),
                   f"the items of {reconcile.via} have no field {item_field!r}" + missing, at_key)


def _result_code_problems(spec: Spec, endpoint: Endpoint, raw: Mapping[str, Any],
                          where: JsonPath) -> Iterator[Problem]:
    for code, override in raw.get("result_codes", {}).items():
        if code not in spec.result_codes and "meaning" not in override:
            yield ((*where, "result_codes", code), f"result code {code} is not in the service's "
                   "result_codes table, so it needs its own meaning", True)
        elif code not in spec.result_codes or override.keys() & {"retryable", "final"}:
            yield from _contradictions(endpoint.result_codes[code],
                                       (*where, "result_codes", code))


def _contradictions(code: ResultCode, where: JsonPath) -> Iterator[Problem]:
    if code.retryable and code.final:
        yield (where, f"result code {code.code} is both retryable (worth sending again) and "
               "final (asking again cannot change it): keep one", True)


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


def _missing_field(schema: Mapping[str, Any], dotted: str) -> str | None:
    """None when `dotted` (a.b.c) names a property the schema declares, through nesting (and
    its branches), or where the schema does not say; else what it might have meant ("; did
    you mean 'returnObject.appointId'?", or "")."""
    parts = dotted.split(".")
    missing = walk_fields(schema, parts)[1]
    if missing is None:
        return None
    index, fields = missing
    near = closest(parts[index], fields)  # said as the whole path, to be copied as it is
    return "" if near is None else f"; did you mean {'.'.join([*parts[:index], near])!r}?"
