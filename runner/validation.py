"""JSON Schema 2020-12: the shipped file schemas and every schema a spec embeds, compiled once.

Building a validator costs about fifty times what one validation does, so every schema is
compiled once (`compile_schema`, `file_schema`) and reused for every call of a run.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema
import jsonschema.exceptions
import jsonschema.validators
import jsonschema_specifications
import referencing
from jsonschema import Draft202012Validator
from jsonschema_specifications import REGISTRY as METASCHEMAS
from referencing import Registry, Resource

from runner import known_valid
from runner.errors import Finding, JsonPath
from runner.fast_validation import GENERATOR, fast_validator
from runner.resources import data_dir
from runner.yamlio import Document

METASCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"
_TYPES = jsonschema.Draft202012Validator.TYPE_CHECKER
QUOTE_IT = " (in YAML, quote it to keep it as text)"  # a number or a boolean where text goes


@dataclass(frozen=True)
class SchemaIssue:
    """One way an instance breaks a schema. `at_key` means `path` ends at a mapping key."""

    path: JsonPath
    message: str
    at_key: bool = False
    keyword: str = ""  # the JSON Schema keyword that failed (type, pattern, required, ...)


class CompiledSchema:
    """A schema with its validator built once.

    Where the schema means the same in draft-07 as in 2020-12 (`fast_validation`), a
    fastjsonschema function (generated Python code, about 20 times faster) answers "valid";
    anything it rejects, and every other schema, goes through jsonschema, which explains.
    """

    def __init__(self, schema: Mapping[str, Any], *, described_types: bool = False) -> None:
        self.schema = schema
        self.described_types = described_types
        self._validator = Draft202012Validator(
            schema, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        self._fast: Callable[[Any], Any] | None = None
        self._uses = 0

    def _fast_valid(self, instance: Any) -> bool:
        self._uses += 1
        if self._uses == _FAST_AFTER:  # generating the code costs about a millisecond: only
            self._fast = fast_validator(self.schema)  # for schemas that are used again
        if self._fast is None:
            return False
        try:
            self._fast(instance)
        except Exception:  # invalid, or a case it cannot judge: jsonschema decides
            return False
        return True

    def is_valid(self, instance: Any) -> bool:
        return self._fast_valid(instance) or bool(self._validator.is_valid(instance))

    def issues(self, instance: Any) -> list[SchemaIssue]:
        """Every problem, best match first (as `jsonschema.exceptions.best_match` ranks them)."""
        if self._fast_valid(instance):
            return []
        errors = list(self._validator.iter_errors(instance))
        if not errors:
            return []
        by_path = sorted(errors, key=lambda e: [str(part) for part in e.absolute_path])
        best = max(by_path, key=_relevance)  # max() keeps the first of equals
        rest = [e for e in by_path if e is not best]
        said: dict[tuple[JsonPath, str], SchemaIssue] = {}
        for error in [best, *rest]:
            for issue in _explain(error, self.schema if self.described_types else None):
                # once each: a schema reached twice (a metaschema's vocabularies) repeats itself
                said.setdefault((issue.path, issue.message), issue)
        return list(said.values())


_FAST_AFTER = 3  # uses of a schema before its fast validator is generated


def compile_schema(schema: Mapping[str, Any]) -> CompiledSchema:
    return CompiledSchema(schema)


@cache
def file_schema(kind: str) -> CompiledSchema:
    """The schema of a `spec` or `playbook` file, from `schemas/<kind>.schema.json`."""
    return CompiledSchema(_load_shipped(f"{kind}.schema.json"), described_types=True)


_FILE_KINDS = {"spec": "a spec", "playbook": "a playbook", "faults": "a fault plan"}


def schema_findings(document: Document, kind: str) -> list[Finding]:
    """How a loaded file breaks `schemas/<kind>.schema.json`, each located in the file (none,
    at once, for data that passed before: `known_valid`)."""
    if not isinstance(document.data, dict):  # empty, or a list: say what the file should be
        held = "is empty" if document.data is None else f"holds {_a(document.data)}"
        *keys, last = _load_shipped(f"{kind}.schema.json").get("required", ("?",))
        needed = f"{', '.join(keys)} and {last}" if keys else last
        return [Finding(document.locate(()), (
            f"the file {held}; {_FILE_KINDS.get(kind, kind)} is a mapping with {needed} "
            f"(schemas/{kind}.schema.json)"))]
    key = known_valid.digest(kind, document.data, _judges())
    if known_valid.passed_before(key):
        return []
    findings = [Finding(document.locate(issue.path, key=issue.at_key), issue.message)
                for issue in file_schema(kind).issues(document.data)]
    if not findings:
        known_valid.remember_pass(key)
    return findings


def _a(value: Any) -> str:
    """What a file holds instead of a mapping, in words: 'a list', 'only the text ...'."""
    if isinstance(value, list):
        return "a list"
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    return f"only the {'text' if isinstance(value, str) else 'value'} {shown}"


def metaschema_issues(schema: Any) -> list[SchemaIssue]:
    """How `schema` fails to be a valid JSON Schema 2020-12 document."""
    return _metaschema().issues(schema)


@cache
def _metaschema() -> CompiledSchema:
    return CompiledSchema({"$ref": METASCHEMA_URI})


@cache
def _registry() -> Registry:
    shipped = [
        Resource.from_contents(_load_shipped(path.name))
        for path in sorted(data_dir("schemas").glob("*.schema.json"))
    ]
    registry: Registry = METASCHEMAS.with_resources(_bound_metaschemas()).with_resources(
        (r.id() or "", r) for r in shipped if r.id()).crawl()
    return registry


def _bound_metaschemas() -> list[tuple[str, Resource[Any]]]:
    """The 2020-12 metaschemas with `$dynamicRef: "#meta"` bound to the 2020-12 root.

    The metaschemas use dynamic references so other vocabularies can extend them; nothing here
    extends them, and resolving dynamic references costs `referencing` about four times what
    a plain `$ref` does. Bound statically, they accept and reject exactly the same schemas.
    """
    def bind(node: Any) -> Any:
        if isinstance(node, dict):
            return {("$ref" if k == "$dynamicRef" else k):
                    (METASCHEMA_URI if k == "$dynamicRef" and v == "#meta" else bind(v))
                    for k, v in node.items() if k != "$dynamicAnchor"}
        if isinstance(node, list):
            return [bind(item) for item in node]
        return node

    prefix = METASCHEMA_URI.removesuffix("schema")
    return [(uri, Resource.from_contents(bind(METASCHEMAS[uri].contents)))
            for uri in METASCHEMAS if uri.startswith(prefix)]


@cache
def _judges() -> tuple[str | None, ...]:
    """The files whose change changes a verdict: the shipped schemas (they refer to each
    other), this module, and a file of each package that judges."""
    schemas = sorted(str(path) for path in data_dir("schemas").glob("*.schema.json"))
    return (*schemas, __file__, jsonschema.validators.__file__,
            jsonschema_specifications.__file__, referencing.__file__, GENERATOR)


@cache
def _load_shipped(name: str) -> dict[str, Any]:
    with (data_dir("schemas") / name).open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = json.load(handle)
    return loaded


def _relevance(error: jsonschema.exceptions.ValidationError) -> tuple[Any, ...]:
    """jsonschema's ranking without its path tie-break, which favours later siblings."""
    key: tuple[Any, ...] = jsonschema.exceptions.relevance(error)  # type: ignore[assignment]
    return tuple(part for part in key if not isinstance(part, deque))


def _closest(error: jsonschema.exceptions.ValidationError, *, described: bool = False,
             ) -> jsonschema.exceptions.ValidationError | SchemaIssue:
    """Of an anyOf/oneOf (nested ones too), what the alternative closest to the instance
    wanted: one that takes the instance's own type, when there is one ('150%' is a percent
    gone wrong, not an integer); else the types, or the keys, that would do (and, in a
    schema `described` for authors, the description the anyOf gives of them)."""
    while error.context:
        path = tuple(error.absolute_path)
        if all(e.validator == "required" for e in error.context):
            names = [name for e in error.context for name in _missing(e)]
            return SchemaIssue(path, "one of " + ", ".join(repr(n) for n in names)
                               + " is required", keyword="required")
        fitting = [e for e in error.context
                   if len(e.absolute_path) > len(path) or _takes(e.schema, error.instance)]
        if not fitting:
            wanted = dict.fromkeys(kind for e in error.context for kind in _kinds(e.schema))
            schema = error.schema if described and isinstance(error.schema, dict) else {}
            what = schema.get("description")  # of what the alternatives are for
            return SchemaIssue(path, f"{_short(error.instance)} is not of type "
                               + " or ".join(repr(w) for w in wanted)
                               + (f" ({what})" if what else ""), keyword="type")
        error = max(fitting, key=_relevance)
    return error


def _takes(schema: Any, instance: Any) -> bool:
    """Whether `schema` (or one of its alternatives) allows the type of `instance`."""
    kinds = _kinds(schema)
    return not kinds or any(_TYPES.is_type(instance, kind) for kind in kinds)


def _kinds(schema: Any) -> list[str]:
    """The types `schema` allows, its alternatives' included; [] for any."""
    if not isinstance(schema, dict):
        return []
    if "type" in schema:
        return schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    if "const" in schema or isinstance(schema.get("enum"), list):  # the types of its values
        values = [schema["const"]] if "const" in schema else schema["enum"]
        return list(dict.fromkeys(_json_type(value) for value in values))
    alternatives = [_kinds(branch) for branch in schema.get("anyOf") or schema.get("oneOf") or ()]
    return [] if not alternatives or [] in alternatives else [k for a in alternatives for k in a]


def _json_type(value: Any) -> str:
    for kind in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _TYPES.is_type(value, kind):
            return kind
    return "object"


def _explain(error: jsonschema.exceptions.ValidationError,
             described: Mapping[str, Any] | None = None) -> Iterable[SchemaIssue]:
    """Turn one jsonschema error into what an author needs to read (`described`: the root of
    a schema whose descriptions are written for authors, as the file schemas are: a wrong type
    or a missing key is told with what it is)."""
    closest = _closest(error, described=described is not None)
    if isinstance(closest, SchemaIssue):
        yield closest
        return
    error = closest
    path = tuple(error.absolute_path)
    if (error.validator in ("additionalProperties", "unevaluatedProperties")
            and isinstance(error.instance, dict)):
        yield from _unknown_keys(error, path)
        return
    absent = error.validator_value if error.validator == "not" else None
    if isinstance(absent, dict) and isinstance(error.instance, dict) and set(absent) <= {
            "required", "description"}:  # a key that must not be there
        name = next(n for n in absent.get("required", []) if n in error.instance)
        why = absent.get("description")
        yield SchemaIssue((*path, name), f"{name!r} does not belong here"
                          + (f" ({why})" if why else ""), keyword="not")
        return
    message = _message(error, described_types=described is not None)
    if error.validator == "required":  # name the missing field, not its parent
        missing = _missing(error)  # one error each: its message names which
        named = [name for name in missing if error.message.startswith(repr(name))]
        path = (*path, (named or missing)[0]) if missing else path
        what = _property_description(described, error, str(path[-1])) if missing else None
        if what:
            message += f" ({what})"
    yield SchemaIssue(path, message, keyword=str(error.validator))


def _message(error: jsonschema.exceptions.ValidationError, *, described_types: bool) -> str:
    """jsonschema's message with the value cut short, a near miss of an enum suggested, and
    the rule's own description (or a hint to quote a number where text goes)."""
    message = error.message.replace(repr(error.instance), _short(error.instance))
    if (error.validator == "enum" and isinstance(error.instance, str)
            and isinstance(error.validator_value, list)):
        message += suggest(error.instance, [v for v in error.validator_value if isinstance(v, str)])
    rule = error.schema.get("description") if isinstance(error.schema, dict) else None
    if rule and (error.validator in {"pattern", "enum", "minimum", "maximum", "minLength",
                                     "maxLength", "format", "const", "exclusiveMinimum",
                                     "minItems", "minProperties"}
                 or (error.validator == "type" and described_types)):
        return f"{message} ({rule})"  # what it should be says more than "quote it" would
    if (error.validator == "type" and error.validator_value == "string"
            and isinstance(error.instance, (int, float, bool))):
        return message + QUOTE_IT
    return message


def _property_description(root: Mapping[str, Any] | None,
                          error: jsonschema.exceptions.ValidationError,
                          name: str) -> str | None:
    """The description of property `name` in the schema the error was found in, or in the one
    around it (a `then` that requires a key its object's `properties` describe)."""
    found, node = None, root
    for key in [*error.absolute_schema_path, None]:
        for _ in range(8):  # a local $ref (#/$defs/fault) is followed; a chain of them too
            ref = str(node.get("$ref", "")) if isinstance(node, Mapping) else ""
            if not ref.startswith("#/"):
                break
            node = root
            for part in ref[2:].split("/"):
                node = _child(node, part)
        properties = node.get("properties") if isinstance(node, Mapping) else None
        if isinstance(properties, Mapping) and isinstance(properties.get(name), Mapping):
            found = properties[name].get("description") or found
        node = _child(node, key)
        if node is None:
            break
    return found


def _child(node: Any, key: str | int | None) -> Any:
    """`node[key]` of a schema walked by path; None where there is none."""
    if isinstance(node, Mapping):
        return node.get(key)
    if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
        return node[key]
    return None


def _unknown_keys(error: jsonschema.exceptions.ValidationError,
                  path: JsonPath) -> Iterable[SchemaIssue]:
    schema = error.schema if isinstance(error.schema, dict) else {}
    known = sorted(schema.get("properties", {}))
    patterns = list(schema.get("patternProperties", {}))
    instance = error.instance if isinstance(error.instance, dict) else {}
    for key in instance:
        if key in known or any(re.search(p, key) for p in patterns):
            continue
        message = f"unknown key {key!r}" + suggest(key, known)
        if not message.endswith("?") and known:
            message += f" (expected one of: {', '.join(known)})"
        yield SchemaIssue((*path, key), message, at_key=True, keyword="additionalProperties")


def _missing(error: jsonschema.exceptions.ValidationError) -> list[str]:
    required = error.validator_value if isinstance(error.validator_value, list) else []
    present = error.instance if isinstance(error.instance, dict) else {}
    return [name for name in required if name not in present]


def _short(instance: Any, limit: int = 60) -> str:
    """The value as a message shows it; true, false and null as YAML and JSON spell them."""
    text = json.dumps(instance) if instance is None or isinstance(instance, bool) \
        else repr(instance)
    return text if len(text) <= limit else text[: limit - 4] + " ..."


def suggest(name: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest of `choices`, or ``""``."""
    near = closest(name, choices)
    return f"; did you mean {near!r}?" if near is not None else ""


def closest(name: str, choices: Iterable[str]) -> str | None:
    """The one of `choices` `name` was most likely meant to be, if any is near enough."""
    near = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return near[0] if near else None


NAMES_LISTED = 12  # of the names a message lists (the keys a mapping has, ...)


def listing(names: Sequence[str]) -> str:
    """``"a, b, c"``: the first NAMES_LISTED of `names`, and ``", ..."`` if there are more."""
    return ", ".join(names[:NAMES_LISTED]) + (", ..." if len(names) > NAMES_LISTED else "")

