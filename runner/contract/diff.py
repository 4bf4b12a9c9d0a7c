"""`outbound specs diff OLD NEW`: what changed between two versions of a spec, for playbooks.

A change is breaking when a playbook that worked with OLD may fail with NEW: an endpoint or a
param it uses gone, a param newly required, a rule tightened (a narrower range, a shorter
length, fewer enum values, another pattern or type), a response field it may read gone,
retyped or no longer always there, the envelope moved. Additions and loosenings are not.

Rules on response fields run the other way: what the vendor sends is what playbooks branch
on and pass to later calls, so a response rule is breaking when it lets the vendor send what
the old spec ruled out (a wider range, a longer length, a new enum value, a pattern dropped
or changed). A tighter response rule only narrows what a playbook can meet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from runner.spec import Endpoint, Spec


@dataclass(frozen=True)
class Change:
    breaking: bool
    where: str
    what: str

    def __str__(self) -> str:
        return f"{'breaking' if self.breaking else 'ok      '}  {self.where}: {self.what}"


def diff_specs(old: Spec, new: Spec) -> list[Change]:
    changes: list[Change] = []
    if (old.envelope and new.envelope) and old.envelope.code != new.envelope.code:
        changes.append(Change(True, "envelope", f"the result code moved from "
                              f"{old.envelope.code} to {new.envelope.code}"))
    if old.auth.scheme != new.auth.scheme:
        changes.append(Change(True, "auth", f"scheme {old.auth.scheme} became "
                              f"{new.auth.scheme} (credentials change)"))
    for code in sorted(set(new.result_codes) - set(old.result_codes)):
        changes.append(Change(False, f"result_codes.{code}",
                              f"added: {new.result_codes[code].meaning}"))
    for code in sorted(set(old.result_codes) - set(new.result_codes)):
        changes.append(Change(False, f"result_codes.{code}", "removed"))
    for name in sorted(set(old.endpoints) | set(new.endpoints)):
        if name not in new.endpoints:
            changes.append(Change(True, name, "endpoint removed"))
        elif name not in old.endpoints:
            changes.append(Change(False, name, "endpoint added"))
        else:
            changes += _endpoint(old.endpoints[name], new.endpoints[name])
    return changes


def _endpoint(old: Endpoint, new: Endpoint) -> Iterator[Change]:
    name = old.name
    if (old.method, old.path) != (new.method, new.path):
        yield Change(False, name, f"now {new.method} {new.path} (was {old.method} {old.path};"
                     " the engine follows the spec)")
    for param in sorted(set(old.params) | set(new.params)):
        where = f"{name} params.{param}"
        before, after = old.params.get(param), new.params.get(param)
        if after is None:
            yield Change(True, where, "param removed")
        elif before is None:
            yield Change(after.required, where, "param added" + (", required" if
                                                                   after.required else ""))
        else:
            if after.required and not before.required:
                yield Change(True, where, "now required")
            was, now = _types(before.schema), _types(after.schema)
            if was != now:  # breaking when a value the playbook may send is refused now
                yield Change(_refuses(now, was), where, f"type {_show(was)} became {_show(now)}")
            yield from _rules(where, before.schema, after.schema, sent=True)
    yield from _fields(name, "$", old.response_schema, new.response_schema)


def _raised(before: Any, after: Any) -> bool:
    return bool(after > before)


def _lowered(before: Any, after: Any) -> bool:
    return bool(after < before)


_TIGHTER: dict[str, Callable[[Any, Any], bool]] = {
    "minimum": _raised, "exclusiveMinimum": _raised, "minLength": _raised, "minItems": _raised,
    "maximum": _lowered, "exclusiveMaximum": _lowered, "maxLength": _lowered,
    "maxItems": _lowered}


def _rules(where: str, old: Mapping[str, Any], new: Mapping[str, Any],
           *, sent: bool) -> Iterator[Change]:
    """Rule changes on a value the playbook sends (`sent`: tighter breaks) or receives
    (looser breaks)."""
    for key, tighter in _TIGHTER.items():
        before, after = old.get(key), new.get(key)
        if before != after:
            if sent:
                breaking = after is not None and (before is None or tighter(before, after))
            else:
                breaking = before is not None and (after is None or tighter(after, before))
            yield Change(breaking, where, _changed(key, before, after))
    if old.get("pattern") != new.get("pattern"):
        binding = new.get("pattern") if sent else old.get("pattern")  # the rule playbooks relied on
        yield Change(binding is not None, where,
                     _changed("pattern", old.get("pattern"), new.get("pattern")))
    if "enum" in old or "enum" in new:
        before, after = old.get("enum"), new.get("enum")
        if before is not None and after is not None:
            gone = [v for v in before if v not in after]
            added = [v for v in after if v not in before]
            if gone:
                yield Change(sent, where, f"enum values removed: {gone}")
            if added:
                yield Change(not sent, where, f"enum values added: {added}")
        elif before != after:
            yield Change((after if sent else before) is not None, where,
                         "enum " + ("added" if after else "removed"))


def _changed(key: str, before: Any, after: Any) -> str:
    if before is None:
        return f"{key} {after} added"
    if after is None:
        return f"{key} {before} removed"
    return f"{key} {before} became {after}"


def _fields(name: str, path: str, old: Any, new: Any) -> Iterator[Change]:
    if not (isinstance(old, Mapping) and isinstance(new, Mapping)):
        return
    where = f"{name} response {path}"
    was, now = _types(old), _types(new)
    if path != "$" and was != now:  # breaking when the vendor may answer what it could not
        yield Change(_refuses(was, now), where, f"type {_show(was)} became {_show(now)}")
    if path != "$":
        yield from _rules(where, old, new, sent=False)
    before, after = old.get("properties", {}), new.get("properties", {})
    required_before, required_after = set(old.get("required", [])), set(new.get("required", []))
    for field_name in sorted(set(before) | set(after)):
        at = f"{path}.{field_name}"
        if field_name not in after:
            yield Change(True, f"{name} response {at}", "field removed")
        elif field_name not in before:
            yield Change(False, f"{name} response {at}", "field added")
        else:
            if field_name in required_before and field_name not in required_after:
                yield Change(True, f"{name} response {at}", "no longer always there")
            yield from _fields(name, at, before[field_name], after[field_name])
    if isinstance(old.get("items"), Mapping) and isinstance(new.get("items"), Mapping):
        yield from _fields(name, f"{path}[]", old["items"], new["items"])


def _types(schema: Mapping[str, Any]) -> set[str]:
    kind = schema.get("type")
    return set(kind) if isinstance(kind, list) else {kind} if kind else set()


def _refuses(types: set[str], others: set[str]) -> bool:
    """Whether `types` refuses a value `others` allows (an empty set allows any; a number
    allows an integer)."""
    if not types:
        return False
    if not others:
        return True
    return any(kind not in types and not (kind == "integer" and "number" in types)
               for kind in others)


def _show(types: set[str]) -> str:
    return "|".join(sorted(types)) or "any"
