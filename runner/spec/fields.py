"""What a response schema documents: the fields it names, walked by path.

Checks of what is read from an answer (a playbook's `response.data.callStatus`) and of what a
simulator drift changes in one (`field: data.*.appointId`) both ask the same of a schema: is
this field documented, and if not, which fields are there instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

_BRANCHES = ("allOf", "anyOf", "oneOf")


def documented_fields(schema: Any) -> dict[str, Any] | None:
    """The properties an object schema documents, with its branches' (then, else, allOf,
    anyOf, oneOf); None when it takes any key or documents none, unless it takes no other
    (`additionalProperties: false`)."""
    if not isinstance(schema, Mapping) or "patternProperties" in schema or isinstance(
            schema.get("additionalProperties"), Mapping):
        return None
    found: dict[str, Any] = {}
    branches = [schema.get("then"), schema.get("else"),
                *(b for key in _BRANCHES for b in schema.get(key) or [])]
    for branch in [schema, *branches]:
        if isinstance(branch, Mapping):
            for name, sub in (branch.get("properties") or {}).items():
                found.setdefault(name, sub)
    return found or ({} if schema.get("additionalProperties") is False else None)


def walk_fields(schema: Any, parts: Sequence[str], *, lists_only: bool = False,
                ) -> tuple[Any, tuple[int, list[str]] | None]:
    """The schema `parts` reach ("[]": a list's item; None where the schema does not say),
    and the first part it says is not there, by its index, with the fields it has there.
    `lists_only`: "[]" on an object that documents its fields is not there either (a drift's
    `*` takes the items of a list, never the values of an object)."""
    for index, part in enumerate(parts):
        if part == "[]":
            fields = documented_fields(schema) if lists_only else None
            if fields is not None and "items" not in schema:
                return None, (index, sorted(fields))
            schema = schema.get("items") if isinstance(schema, Mapping) else None
            continue
        fields = documented_fields(schema)
        if fields is None:
            return None, None
        if part not in fields:
            return None, (index, sorted(fields))
        schema = fields[part]
    return schema, None


def field_paths(schema: Any, every: str = "[]") -> Iterator[str]:
    """Each field path the schema documents, dotted, a list's item written `every`."""
    def walk(schema: Any, path: tuple[str, ...]) -> Iterator[str]:
        if isinstance(schema, Mapping) and "items" in schema:
            yield from walk(schema["items"], (*path, every))
        for name, sub in (documented_fields(schema) or {}).items():
            yield ".".join((*path, name))
            yield from walk(sub, (*path, name))

    return walk(schema, ())
