"""Generated validators (fastjsonschema) for the schemas where draft-07 and 2020-12 agree.

jsonschema says why an instance fails a schema; fastjsonschema's generated Python code says
whether it does about twenty times faster, but by draft-07's rules. `fast_validator` builds one
only for a schema every keyword of which means the same in both drafts (`_fast_path_safe`);
`validation.CompiledSchema` asks it first and leaves anything it rejects to jsonschema.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import fastjsonschema

GENERATOR = fastjsonschema.__file__  # where a fast verdict's code comes from (known_valid)


# Keywords whose meaning differs between draft-07 (fastjsonschema) and 2020-12, or that
# fastjsonschema does not check as jsonschema does: schemas using them skip the fast path.
_NOT_FAST = frozenset({
    "format", "prefixItems", "unevaluatedProperties", "unevaluatedItems", "dependentRequired",
    "dependentSchemas", "$dynamicRef", "$dynamicAnchor", "$recursiveRef", "$anchor", "$id",
    "$schema", "minContains", "maxContains", "contentSchema", "$vocabulary",
})
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependencies")


def _fast_path_safe(schema: Any) -> bool:
    """Whether draft-07 semantics give the same verdict as 2020-12 for this schema."""
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, Mapping) or _NOT_FAST & schema.keys():
        return False
    if "$ref" in schema and (not str(schema["$ref"]).startswith("#")
                             or set(schema) - {"$ref", "description", "title"}):
        return False  # draft-07 ignores a $ref's siblings; 2020-12 applies them
    if isinstance(schema.get("items"), list):
        return False  # a list of items is prefixItems in 2020-12
    for key in ("enum", "const"):  # Python's True == 1 would blur booleans and numbers
        values = schema.get(key, []) if key == "enum" else [schema.get(key)] if key in schema \
            else []
        if any(isinstance(v, (bool, int, float)) and v in (0, 1) for v in values):
            return False
    children: list[Any] = []
    for key, value in schema.items():
        if key in _SCHEMA_MAPS and isinstance(value, Mapping):
            children.extend(value.values())
        elif key in ("allOf", "anyOf", "oneOf") and isinstance(value, list):
            children.extend(value)
        elif key in ("items", "additionalProperties", "not", "if", "then", "else", "contains",
                     "propertyNames", "additionalItems"):
            children.append(value)
    return all(_fast_path_safe(child) for child in children)


def fast_validator(schema: Mapping[str, Any]) -> Callable[[Any], Any] | None:
    """A function that returns for an instance `schema` accepts and raises for any other; None
    where draft-07 and 2020-12 may judge apart, or fastjsonschema cannot compile it."""
    if not _fast_path_safe(schema):
        return None
    try:
        return fastjsonschema.compile(dict(schema), use_default=False, use_formats=False)
    except Exception:  # a schema it cannot compile simply has no fast path
        return None
