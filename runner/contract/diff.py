"""`outbound specs diff OLD NEW`: what changed between two versions of a spec, for playbooks.

A change is breaking when a playbook that worked with OLD may fail with NEW: an endpoint or a
param it uses gone, a param (or a field inside one) newly required, a rule tightened (a
narrower range, a shorter length, fewer enum values, another pattern, format, const or type),
a response field it may read gone, retyped or no longer always there (in a success answer),
the envelope dropped, the result code moved or a code no longer counted as success, a read
become a write. Additions and loosenings are not; nor is what the engine follows the spec in
(how it signs, where a param goes, how it pages, which codes it retries), which is listed for
the author to know.

Rules on response fields run the other way: what the vendor sends is what playbooks branch
on and pass to later calls, so a response rule is breaking when it lets the vendor send what
the old spec ruled out (a wider range, a longer length, a new enum value, a pattern dropped
or changed). A tighter response rule only narrows what a playbook can meet.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from runner.spec import READ_KINDS, Endpoint, ResultCode, Spec
from runner.spec.model import Envelope, Pagination, Param


@dataclass(frozen=True)
class Change:
    breaking: bool
    where: str
    what: str

    def __str__(self) -> str:
        return f"{'breaking' if self.breaking else 'ok      '}  {self.where}: {self.what}"


def diff_specs(old: Spec, new: Spec) -> list[Change]:
    changes = list(_envelope(old.envelope, new.envelope))
    if old.auth.scheme != new.auth.scheme:
        changes.append(Change(True, "auth", f"scheme {old.auth.scheme} became "
                              f"{new.auth.scheme} (credentials change)"))
    else:  # the engine signs as the spec says
        changes += [Change(False, "auth", _changed(key, old.auth.settings.get(key),
                                                   new.auth.settings.get(key)))
                    for key in sorted(old.auth.settings.keys() | new.auth.settings.keys())
                    if old.auth.settings.get(key) != new.auth.settings.get(key)]
    changes += _codes("result_codes", old.result_codes, new.result_codes)
    told = {code for code in old.result_codes.keys() & new.result_codes.keys()
            if old.result_codes[code] != new.result_codes[code]}  # not again per endpoint
    for name in sorted(set(old.endpoints) | set(new.endpoints)):
        if name not in new.endpoints:
            changes.append(Change(True, name, "endpoint removed"))
        elif name not in old.endpoints:
            changes.append(Change(False, name, "endpoint added"))
        else:
            changes += _endpoint(old.endpoints[name], new.endpoints[name], told)
    return changes


def _envelope(old: Envelope | None, new: Envelope | None) -> Iterator[Change]:
    """The result code's place and what counts as success: playbooks compare codes
    (`retry.until`, `when`), so a code no longer meaning success breaks them."""
    if old is None or new is None:
        if old is not None:
            yield Change(True, "envelope", f"removed: the result code in {old.code} is no longer "
                         "checked (an error answer would pass as success)")
        elif new is not None:
            yield Change(False, "envelope", f"added: the result code in {new.code}, success "
                         f"{sorted(new.success)}")
        return
    if old.code != new.code:
        yield Change(True, "envelope", f"the result code moved from {old.code} to {new.code}")
    if gone := sorted(old.success - new.success):
        yield Change(True, "envelope", f"success codes removed: {gone}")
    if added := sorted(new.success - old.success):
        yield Change(False, "envelope", f"success codes added: {added}")
    for part in ("message", "detail"):  # where the engine reads an error's text
        if getattr(old, part) != getattr(new, part):
            yield Change(False, "envelope", _changed(part, getattr(old, part), getattr(new, part)))


def _codes(where: str, old: Mapping[str, ResultCode], new: Mapping[str, ResultCode],
           told: Container[str] = ()) -> Iterator[Change]:
    """Result codes added, removed, or read otherwise (retried, final, ...): none breaks, the
    engine acts on each as the spec says. `told`: codes whose change is told already."""
    for code in sorted(set(old) | set(new)):
        if code not in old:
            yield Change(False, f"{where}.{code}", f"added: {new[code].meaning}")
        elif code not in new:
            yield Change(False, f"{where}.{code}", "removed")
        elif old[code] != new[code] and code not in told:
            yield from (Change(False, f"{where}.{code}", what)
                        for what in _code_change(old[code], new[code]))


def _code_change(old: ResultCode, new: ResultCode) -> Iterator[str]:
    if old.meaning != new.meaning:
        yield f"meaning {old.meaning!r} became {new.meaning!r}"
    for flag in ("retryable", "throttle", "final"):
        if getattr(old, flag) != getattr(new, flag):
            yield f"{'now' if getattr(new, flag) else 'no longer'} {flag}"
    if old.http_status != new.http_status:
        yield _changed("http_status", old.http_status, new.http_status)


def _endpoint(old: Endpoint, new: Endpoint, told: Container[str]) -> Iterator[Change]:
    """`told`: the result codes whose change the service's table told (each endpoint has
    them too)."""
    name = old.name
    if old.kind != new.kind:  # a write is never sent blindly again, and `check` refuses it
        writes = old.kind in READ_KINDS and new.kind not in READ_KINDS
        yield Change(writes, name, f"kind {old.kind} became {new.kind}" + (
            " (a write now)" if writes else ""))
    if (old.method, old.path) != (new.method, new.path):
        yield Change(False, name, f"now {new.method} {new.path} (was {old.method} {old.path};"
                     " the engine follows the spec)")
    for param in sorted(set(old.params) | set(new.params)):
        yield from _param(f"{name} params.{param}", old.params.get(param),
                          new.params.get(param))
    yield from _pages(name, old.pagination, new.pagination)
    yield from _codes(f"{name} result_codes",  # the endpoint's own
                      {code: old.result_codes[code] for code in old.documented_codes},
                      {code: new.result_codes[code] for code in new.documented_codes}, told)
    yield from _schema(f"{name} response $", old.response_schema, new.response_schema,
                       sent=False)


def _param(where: str, before: Param | None, after: Param | None) -> Iterator[Change]:
    if after is None:
        yield Change(True, where, "param removed")
    elif before is None:
        yield Change(after.required, where, "param added" + (", required" if
                                                           after.required else ""))
    else:
        if after.required and not before.required:
            yield Change(True, where, "now required")
        if after.location != before.location:
            yield Change(False, where, f"now sent in {after.location} (was {before.location})")
        yield from _schema(where, before.schema, after.schema, sent=True)


_PAGE_PARTS = ("style", "position_param", "size_param", "items", "total", "first_page")


def _pages(name: str, old: Pagination | None, new: Pagination | None) -> Iterator[Change]:
    """How the engine goes through the pages: it follows the spec, so nothing breaks."""
    if (old is None) != (new is None):
        yield Change(False, name, "now paged" if old is None else "no longer paged")
    elif old is not None and new is not None:
        for part in _PAGE_PARTS:
            if getattr(old, part) != getattr(new, part):
                yield Change(False, f"{name} pagination",
                             _changed(part, getattr(old, part), getattr(new, part)))


def _raised(before: Any, after: Any) -> bool:
    return bool(after > before)


def _lowered(before: Any, after: Any) -> bool:
    return bool(after < before)


_TIGHTER: dict[str, Callable[[Any, Any], bool]] = {
    "minimum": _raised, "exclusiveMinimum": _raised, "minLength": _raised, "minItems": _raised,
    "maximum": _lowered, "exclusiveMaximum": _lowered, "maxLength": _lowered,
    "maxItems": _lowered}

_MATCHED = ("pattern", "format", "const", "multipleOf")  # rules a value matches, not bounds


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
    for key in _MATCHED:  # any other such rule may refuse a value the old one let pass
        if old.get(key) != new.get(key):
            binding = new.get(key) if sent else old.get(key)  # the rule playbooks relied on
            yield Change(binding is not None, where, _changed(key, old.get(key), new.get(key)))
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


def _schema(where: str, old: Any, new: Any, *, sent: bool) -> Iterator[Change]:
    """A value's schema changed: a param's (`sent`) or a response field's, with the fields
    and items inside it. A sent value breaks when it refuses what it allowed (a type, a rule,
    a field gone or newly required); a received one when the vendor may answer what it
    could not, or may leave out a field playbooks read."""
    if not (isinstance(old, Mapping) and isinstance(new, Mapping)):
        return
    was, now = _types(old), _types(new)
    if was != now:
        yield Change(_refuses(now, was) if sent else _refuses(was, now), where,
                     f"type {_show(was)} became {_show(now)}")
    yield from _rules(where, old, new, sent=sent)
    before, after = old.get("properties", {}), new.get("properties", {})
    required_before, required_after = _required(old), _required(new)
    for field_name in sorted(set(before) | set(after)):
        at = f"{where}.{field_name}"
        if field_name not in after:
            yield Change(True, at, "field removed")
        elif field_name not in before:
            required = sent and field_name in required_after
            yield Change(required, at, "field added" + (", required" if required else ""))
        else:
            if sent and field_name in required_after - required_before:
                yield Change(True, at, "now required")
            if not sent and field_name in required_before - required_after:
                yield Change(True, at, "no longer always there")
            yield from _schema(at, before[field_name], after[field_name], sent=sent)
    yield from _schema(f"{where}[]", old.get("items"), new.get("items"), sent=sent)


def _required(schema: Mapping[str, Any]) -> set[str]:
    """The fields `schema` requires, with those it requires of a success answer (the
    response schemas' `if` on the result code, `then: {required: [...]}`): what playbooks
    read."""
    then = schema.get("then")
    return set(schema.get("required", [])) | set(
        then.get("required", []) if isinstance(then, Mapping) else [])


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
