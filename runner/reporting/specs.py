"""Renderings of `outbound specs list` and `outbound specs show`."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from runner.spec import READ_KINDS, Endpoint, ResultCode, Spec, sent_again


def table(rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns, two spaces apart; the first row is the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
                     .rstrip() for row in rows)


def spec_list_text(specs: Mapping[str, Spec]) -> str:
    rows = [["SERVICE", "ENDPOINT", "KIND", "METHOD", "PATH"]]
    rows += [[e.service, e.name, e.kind, e.method, e.path]
             for spec in specs.values() for e in spec.endpoints.values()]
    return table(rows)


def spec_list_json(specs: Mapping[str, Spec]) -> str:
    return json.dumps([
        {"service": e.service, "endpoint": e.name, "kind": e.kind, "method": e.method,
         "path": e.path, "summary": e.summary}
        for spec in specs.values() for e in spec.endpoints.values()
    ], ensure_ascii=False, indent=2)


def rules(schema: Mapping[str, Any]) -> str:
    """A short reading of a schema's constraints: ``1..9999``, ``one of 1, 2``, ..."""
    parts = []
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        parts.append(f"{low}..{high}")
    elif low is not None:
        parts.append(f">= {low}")
    elif high is not None:
        parts.append(f"<= {high}")
    if "enum" in schema:
        parts.append("one of " + ", ".join(json.dumps(v, ensure_ascii=False)
                                           for v in schema["enum"]))
    if "pattern" in schema:
        parts.append(f"matches {schema['pattern']}")
    for key, label in (("minLength", "length >="), ("maxLength", "length <="),
                       ("format", "format"), ("default", "default")):
        if key in schema:
            parts.append(f"{label} {schema[key]}")
    return "; ".join(parts)


def type_name(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        return "|".join(kind)
    if kind:
        return str(kind)
    if "enum" in schema:
        return "|".join(sorted({type(v).__name__.replace("str", "string") for v in schema["enum"]}))
    return "any"


def response_fields(schema: Mapping[str, Any], prefix: str = "") -> Iterator[list[str]]:
    """One row per documented response field, nested fields dotted, array items as []."""
    required = set(schema.get("required", []))
    for name, sub in schema.get("properties", {}).items():
        path = f"{prefix}{name}"
        yield [path, type_name(sub), "yes" if name in required else "",
               sub.get("description", "")]
        if sub.get("properties"):
            yield from response_fields(sub, path + ".")
        items = sub.get("items")
        if isinstance(items, Mapping) and items.get("properties"):
            yield from response_fields(items, path + "[].")


def endpoint_text(endpoint: Endpoint) -> str:
    out = [f"{endpoint.qualified_name}  ({endpoint.kind})",
           f"{endpoint.method} {endpoint.path}", endpoint.summary, ""]
    rows = [["PARAM", "IN", "REQUIRED", "TYPE", "RULES", "DESCRIPTION"]]
    rows += [[p.name + "".join(f" (alias {a})" for a in p.aliases), p.location,
              "yes" if p.required else "", type_name(p.schema), rules(p.schema), p.description]
             for p in endpoint.params.values()]
    out += ["Params", table(rows), ""]
    if endpoint.pagination:
        pg = endpoint.pagination
        out += [f"Pagination: {pg.style} style ({pg.position_param}/{pg.size_param}), "
                f"items at {pg.items}" + (f", total at {pg.total}" if pg.total else ""), ""]
    fields = [["FIELD", "TYPE", "REQUIRED", "DESCRIPTION"],
              *response_fields(endpoint.response_schema)]
    out += ["Response fields", table(fields), ""]
    values = [f"Value {name}: the first of {', '.join(paths)}"
              for name, paths in endpoint.values.items()]
    out += [*values, ""] if values else []
    codes = [[c.code, c.meaning + _retried(c, endpoint)]
             for code, c in sorted(endpoint.result_codes.items())
             if code in endpoint.documented_codes]
    if codes:
        out += ["Result codes", table([["CODE", "MEANING"], *codes]), ""]
    if endpoint.notes:
        out += ["Notes", *(f"- {note}" for note in endpoint.notes)]
    return "\n".join(out).rstrip()


def endpoint_json(endpoint: Endpoint) -> str:
    return json.dumps({
        "service": endpoint.service, "endpoint": endpoint.name, "kind": endpoint.kind,
        "method": endpoint.method, "path": endpoint.path, "summary": endpoint.summary,
        "params": {p.name: {"in": p.location, "required": p.required, "schema": p.schema,
                            "description": p.description} for p in endpoint.params.values()},
        "response": endpoint.response_schema,
        "result_codes": {code: endpoint.result_codes[code].meaning
                         for code in sorted(endpoint.documented_codes)},
        "notes": list(endpoint.notes),
    }, ensure_ascii=False, indent=2)


def _retried(code: ResultCode, endpoint: Endpoint) -> str:
    """What the engine does on the code (`sent_again`; a poll's `may_pass`)."""
    if code.final:
        return " (final: a poll stops at it)"
    if not code.retryable:
        return ""
    if not sent_again(endpoint.kind, code.retryable, code.throttle):
        return " (not retried: a write)"
    return " (retried)" if endpoint.kind in READ_KINDS else " (retried: it was turned away unread)"
