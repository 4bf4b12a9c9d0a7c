"""What a run keeps in its journal, and reads back from it on --resume.

Which fields of an item's record later steps need, how a failed call stands (did the vendor
maybe act on it?), and a journalled request made whole again for sending.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.errors import HTTPStatusError, ResponseInvalid, RunError, TransportError
from runner.playbook import Playbook
from runner.secrets import MASK
from runner.spec import READ_KINDS
from runner.templating import Template


def fields_read(playbook: Playbook) -> dict[str, frozenset[str]]:
    """For each step, the fields of `steps.<id>` any template reads ("*": all of it)."""
    templates: list[Template] = []
    for step in playbook.steps:
        for value in (step.params, step.for_each, step.outputs):
            templates += value.templates if value is not None else []
        templates += [t for t in (step.when, step.key, *step.expect) if t is not None]
        if step.retry is not None:
            templates += [t for t in (step.retry.until, step.retry.fail_when) if t is not None]
    templates += playbook.outputs.templates if playbook.outputs is not None else []
    read: dict[str, set[str]] = {}
    for template in templates:
        for step_id, field_name in template.step_fields:
            read.setdefault(step_id, set()).add(field_name)
    return {step_id: frozenset(fields) for step_id, fields in read.items()}


def kept_fields(read: frozenset[str] | None) -> tuple[str, ...] | None:
    """What the journal keeps of a step's item records (None: all): only the fields later
    templates read, so a resumed run has them, and the journal does not copy every response
    it has no use for."""
    if read is not None and "*" in read:
        return None
    return ("outputs", *sorted((read or frozenset()) & {"response", "values", "status", "items"}))


def outcome_of(error: RunError, kind: str) -> str:
    """How a failed call stands: `failed` when the vendor surely did not act on it, `unknown`
    when it may have (the journal's unknown creates are reconciled on --resume)."""
    if isinstance(error, TransportError):
        return "unknown" if error.reached_server else "failed"
    if kind not in READ_KINDS and (isinstance(error, ResponseInvalid) or (
            isinstance(error, HTTPStatusError) and error.status >= 500)):
        return "unknown"  # a gateway may fail after the vendor made the reservation
    return "failed"


def unmasked(journalled: Any, fresh: Any) -> Any:
    """A journalled request, each value the journal masked (it held a secret) taken from the
    request as rendered now: never send `[redacted]` to a vendor."""
    if isinstance(journalled, dict) and isinstance(fresh, Mapping):
        return {key: unmasked(value, fresh.get(key)) for key, value in journalled.items()}
    if isinstance(journalled, list) and isinstance(fresh, list) and len(journalled) == len(fresh):
        return [unmasked(old, new) for old, new in zip(journalled, fresh, strict=True)]
    if isinstance(journalled, str) and MASK in journalled:
        return fresh
    return journalled


def holds_masked(journalled: Any) -> bool:
    """Whether a journalled value holds a text the journal masked (where a secret was)."""
    if isinstance(journalled, Mapping):
        return any(holds_masked(value) for value in journalled.values())
    if isinstance(journalled, (list, tuple)):
        return any(holds_masked(value) for value in journalled)
    return isinstance(journalled, str) and MASK in journalled
