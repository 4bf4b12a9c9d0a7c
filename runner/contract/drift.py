"""How a vendor's answer differs from its spec, each difference breaking or a warning.

breaking   a required field gone, a type changed, an enum value whose form no longer matches
           (e.g. "1" became 1), a value breaking its documented rule, the envelope's code moved
warning    an undocumented field added, a new value of the documented form for an enum, a
           value the spec gives no meaning for (x-enum-meanings, where the values are not
           fixed), a result code not in the spec's table, an answer slower than the threshold

An optional field left out of one answer is not reported: vendors leave optional fields out
all the time, and a check must not cry wolf. A field the vendor page's example answer shows
and no answer of a check had is breaking ("documented field missing"), unless the spec marks
it `x-sometimes` (sent only in some states, such as a call's times before the call). Paths are
written with [] for list items
(`data[].appointId`), so one change seen on every item of every page is one finding.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from runner.engine.responses import dig
from runner.spec import Endpoint, Spec
from runner.validation import CompiledSchema, compile_schema, listing

BREAKING, WARNING = "breaking", "warning"
_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


@dataclass(frozen=True)
class DriftFinding:
    """One way an answer differs from what its spec says."""

    severity: str
    endpoint: str
    path: str
    kind: str  # field missing, type changed, enum, rule, field added, result code, slow, ...
    spec_says: str
    came_back: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.endpoint, self.path, self.kind)

    def __str__(self) -> str:
        return (f"{self.severity:<8} {self.endpoint} {self.path}: {self.kind}; the spec says "
                f"{self.spec_says}, it came back {self.came_back}")


def compare(spec: Spec, endpoint: Endpoint, body: Any, *, seconds: float | None = None,
            slow_after: float | None = None) -> list[DriftFinding]:
    """Every difference between one answer and the endpoint's spec."""
    name = endpoint.qualified_name
    found = list(_walk(name, endpoint.response_schema, body, "$"))
    envelope = spec.envelope
    if envelope is not None and isinstance(body, Mapping):
        code = dig(body, envelope.code)
        if code is None:
            found.append(DriftFinding(BREAKING, name, f"$.{envelope.code}", "envelope code moved",
                                      f"the result code is in {envelope.code}",
                                      f"no {envelope.code} (fields: {', '.join(sorted(body))})"))
        elif str(code) not in endpoint.result_codes and str(code) not in envelope.success:
            found.append(DriftFinding(WARNING, name, f"$.{envelope.code}", "result code not in "
                                      "the spec", "one of " + ", ".join(sorted(
                                          endpoint.result_codes)), repr(str(code))))
    if seconds is not None and slow_after is not None and seconds > slow_after:
        found.append(DriftFinding(WARNING, name, "$", "slow answer",
                                  f"at most {slow_after:g}s", f"after {seconds:.2f}s"))
    return found


def _walk(name: str, schema: Any, value: Any, path: str) -> Iterator[DriftFinding]:
    if not isinstance(schema, Mapping):
        return
    for branch in ("allOf",):
        for sub in schema.get(branch, []):
            yield from _walk(name, sub, value, path)
    if "if" in schema and "then" in schema and _matches_if(schema["if"], value):
        yield from _walk(name, schema["then"], value, path)
    wanted = _declared_types(schema)
    if wanted and not _is_type(value, wanted):
        yield DriftFinding(BREAKING, name, path, "type changed", " or ".join(sorted(wanted)),
                           _came_back(value))
        return
    if "enum" in schema and value not in schema["enum"]:
        forms = {_type_name(v) for v in schema["enum"]}
        same_form = _type_name(value) in forms
        yield DriftFinding(WARNING if same_form else BREAKING, name, path,
                           "new enum value" if same_form else "enum value no longer matches",
                           "one of " + ", ".join(_short(v) for v in schema["enum"]),
                           _came_back(value))
    meanings = schema.get("x-enum-meanings")
    if (isinstance(meanings, Mapping) and "enum" not in schema and isinstance(value, str | int)
            and not isinstance(value, bool) and str(value) not in meanings):
        yield DriftFinding(WARNING, name, path, "value with no documented meaning",
                           "one of " + listing([f"{k} ({v})" for k, v in meanings.items()]),
                           _came_back(value))
    yield from _rules(name, schema, value, path)
    if isinstance(value, Mapping):
        yield from _object(name, schema, value, path)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for item in value:
            yield from _walk(name, schema["items"], item, f"{path}[]")


def _object(name: str, schema: Mapping[str, Any], value: Mapping[str, Any],
            path: str) -> Iterator[DriftFinding]:
    properties: Mapping[str, Any] = schema.get("properties", {})
    for field_name in schema.get("required", []):
        if field_name not in value:
            yield DriftFinding(BREAKING, name, f"{path}.{field_name}", "required field gone",
                               "required", "absent")
    for field_name, sub in properties.items():
        if field_name in value:
            yield from _walk(name, sub, value[field_name], f"{path}.{field_name}")
    if properties and schema.get("additionalProperties", True) is not False:
        for field_name in value:
            if field_name not in properties:
                yield DriftFinding(WARNING, name, f"{path}.{field_name}",
                                   "undocumented field added", "no such field",
                                   _came_back(value[field_name]))


def _rules(name: str, schema: Mapping[str, Any], value: Any,
           path: str) -> Iterator[DriftFinding]:
    """Documented rules (pattern, bounds, lengths), as the spec's own validator reads them."""
    rules = {k: schema[k] for k in ("pattern", "minimum", "maximum", "minLength", "maxLength",
                                    "format", "const") if k in schema}
    if not rules:
        return
    for issue in _compiled(rules).issues(value):
        yield DriftFinding(BREAKING, name, path, "rule broken", _describe(rules),
                           issue.message)


def _matches_if(condition: Any, value: Any) -> bool:
    return isinstance(condition, Mapping) and _compiled(condition).is_valid(value)


_COMPILED: dict[str, CompiledSchema] = {}


def _compiled(schema: Mapping[str, Any]) -> CompiledSchema:
    key = json.dumps(schema, sort_keys=True, default=str)
    if key not in _COMPILED:
        _COMPILED[key] = compile_schema(schema)
    return _COMPILED[key]


def _declared_types(schema: Mapping[str, Any]) -> set[str]:
    kind = schema.get("type")
    if kind is None:
        return set()
    return set(kind) if isinstance(kind, list) else {kind}


def _is_type(value: Any, wanted: set[str]) -> bool:
    if isinstance(value, bool):
        return "boolean" in wanted
    if isinstance(value, int):
        return bool(wanted & {"integer", "number"})
    if isinstance(value, float):
        return "number" in wanted or ("integer" in wanted and value.is_integer())
    return any(isinstance(value, _TYPES[t]) for t in wanted if t in _TYPES)


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "array"
    return "string" if isinstance(value, str) else "null"


def _short(value: Any, limit: int = 40) -> str:
    """A value as JSON text (as it came on the wire), cut to `limit`."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 4] + " ..."


def _came_back(value: Any) -> str:
    """What came back: its JSON type and value ('string "x"', 'null')."""
    return "null" if value is None else f"{_type_name(value)} {_short(value)}"


def _describe(rules: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in rules.items())


def field_paths(value: Any, path: str = "$") -> Iterator[str]:
    """Every object field in `value`, as a path with [] for list items."""
    if isinstance(value, Mapping):
        for key, sub in value.items():
            yield f"{path}.{key}"
            yield from field_paths(sub, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            yield from field_paths(item, f"{path}[]")


def missing_documented(endpoint: Endpoint, answers: list[Any]) -> list[DriftFinding]:
    """Fields the vendor's own example answer has, which no answer of this check had, though
    their parent object came back: the vendor stopped sending them (breaking)."""
    documented = {p for e in endpoint.examples if e.has_response
                  for p in field_paths(e.response_body)}
    seen = {p for body in answers for p in field_paths(body)}
    parents_seen = {p.rsplit(".", 1)[0] for p in seen}  # a parent came back with some field
    missing = sorted(p for p in documented - seen if p.rsplit(".", 1)[0] in parents_seen
                     and not _sometimes(endpoint.response_schema, p))
    return [DriftFinding(BREAKING, endpoint.qualified_name, p, "documented field missing",
                         "sent (the vendor page's example has it)", "absent from every answer")
            for p in missing]


def _sometimes(schema: Any, path: str) -> bool:
    """Whether the spec says the field at `path` is sent only sometimes (x-sometimes)."""
    parent_path, _, name = path.rpartition(".")
    node: Any = schema
    for part in parent_path.removeprefix("$").replace("[]", ".[]").split("."):
        if not part or not isinstance(node, Mapping):
            continue
        node = node.get("items") if part == "[]" else node.get("properties", {}).get(part)
    return isinstance(node, Mapping) and name in node.get("x-sometimes", [])


def deduplicated(findings: list[DriftFinding]) -> list[DriftFinding]:
    """One finding per endpoint, path and kind, breaking first."""
    unique: dict[tuple[str, str, str], DriftFinding] = {}
    for finding in findings:
        unique.setdefault(finding.key, finding)
    return sorted(unique.values(), key=lambda f: (f.severity != BREAKING, f.endpoint, f.path))
