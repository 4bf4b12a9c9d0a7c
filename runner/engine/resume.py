"""What `--resume` does with a write an earlier attempt sent: one the vendor answered (or whose
answer its operator gave, `runs resolve --answer`) is finished from that answer, not sent
again; one whose outcome is unknown is looked up through its spec's `reconcile` list first."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from runner.engine.calls import Caller, StepTally, endpoint_of
from runner.engine.events import Warned
from runner.engine.pagination import fetch_all
from runner.engine.responses import CheckedResponse, named_values
from runner.errors import Finding, InputError, Location, RunError, iteration
from runner.journal import AnsweredWrite, UnknownWrite
from runner.playbook import Step
from runner.templating import compile_template


def which_item(index: int | None) -> str:
    return iteration(index) if index is not None else "the step"


def recorded_answer(caller: Caller, step: Step, answered: AnsweredWrite,
                    index: int | None) -> CheckedResponse:
    """The answer an earlier attempt's write got, standing for the call."""
    endpoint = endpoint_of(step)
    if answered.by_hand:  # given by its operator (runs resolve --answer): check it
        issues = endpoint.response_validator.issues(answered.body)
        if issues:
            raise InputError([Finding(Location(path=issue.path), (  # in its item's context
                f"the answer given with runs resolve --answer is not a "
                f"{endpoint.qualified_name} response: {issue.message}")) for issue in issues])
    caller.emit(Warned(step.id, f"{which_item(index)}: {endpoint.qualified_name} was answered "
                       "before --resume; its recorded answer is used, not sent again"))
    return CheckedResponse(answered.status, answered.body, None,
                           named_values(endpoint, answered.body))


async def reconcile(caller: Caller, step: Step, unknown: UnknownWrite, request: dict[str, Any],
                    index: int | None, tally: StepTally, run_id: str) -> CheckedResponse | None:
    """Look up, through the spec's `reconcile` list, whether an unconfirmed write happened,
    and journal what was found as its outcome.

    Returns a response standing for the create when it did, None when it did not.
    """
    endpoint = endpoint_of(step)
    reconcile = endpoint.reconcile
    where = which_item(index)
    if reconcile is None:
        item = step.id if index is None else f"{step.id}[{index}]"
        raise RunError([Finding(Location(), (  # said in its step's and item's context
            f"an earlier {endpoint.qualified_name} was sent and its outcome is "
            "unknown, and the spec has no reconcile to find out; look it up with the "
            f"vendor (outbound runs show {run_id} has the request), then say what "
            f"happened: outbound runs resolve {run_id} {item} --not-sent | --answer "
            "FILE | --skip, and resume"))])
    await _settled(caller, step, unknown, where)
    via = caller.services[str(step.service)].spec.endpoints[reconcile.via]
    scope = {"request": request}
    params = {k: _render_text(v, scope) for k, v in reconcile.params.items()}
    wanted = {k: _render_text(v, scope) for k, v in reconcile.match.items()}
    lookup = replace(step, endpoint=via, retry=None, paginate=True, outputs=None, expect=())
    paged = await fetch_all(via, params, lambda p: caller.call(lookup, p, index, tally),
                            lambda message: caller.emit(Warned(step.id, message)),
                            page_size=None, max_pages=step.max_pages)
    match = next((item for item in paged.items if isinstance(item, Mapping) and all(
        str(item.get(key)) == str(value) for key, value in wanted.items())), None)
    found = f"{reconcile.via} " + ("shows it happened" if match else
                                   "shows it did not: sending it again")
    if caller.journal is not None:
        caller.journal.reconciled(unknown.call_id, made=match is not None,
                                  how=f"reconciled by --resume: {found}")
    caller.emit(Warned(step.id, f"{where}: an earlier {endpoint.qualified_name} had no known "
                       f"outcome; {found}"))
    if match is None:
        return None
    values = {name: match.get(field_name) for name, field_name in reconcile.values.items()}
    return CheckedResponse(200, {"reconciled": match}, None, values)


def _timeout(caller: Caller, step: Step) -> float:
    """The call's total timeout: as long after it was sent, a write is no longer on its way
    to the vendor."""
    return caller.services[str(step.service)].longest_wait(step.timeout)


def _on_its_way(caller: Caller, step: Step, unknown: UnknownWrite) -> float:
    """How long the earlier write may still be on its way to the vendor (0: no longer)."""
    return max(0.0, unknown.sent_at + _timeout(caller, step) - time.time())


def put_aside(caller: Caller, step: Step, index: int, unknown: UnknownWrite | None) -> bool:
    """Whether item `index` is to be run once the step's other items have gone through:
    its earlier write is to be looked up and may still be on its way (see _settled), and
    its wait is not to hold one of the step's `concurrency` (a run killed with all of them
    in flight would have its resume make nothing for as long). Said alike of every such item
    (the console counts them past a few)."""
    if unknown is None or endpoint_of(step).reconcile is None or \
            not _on_its_way(caller, step, unknown):
        return False
    caller.emit(Warned(step.id, (
        f"{iteration(index)}: an earlier {unknown.endpoint} may still be on its way to the "
        "vendor; it is looked up after the step's other items, once its total timeout "
        f"({_timeout(caller, step):g}s) has passed since it was sent")))
    return True


async def _settled(caller: Caller, step: Step, unknown: UnknownWrite, where: str) -> None:
    """Wait until the earlier write can no longer be on its way. A run killed with creates in
    flight, resumed at once, would otherwise look them up while the vendor is still making
    them, find nothing, and create each again once more."""
    left = _on_its_way(caller, step, unknown)
    if left <= 0:
        return
    caller.emit(Warned(step.id, (
        f"{where}: an earlier {unknown.endpoint} may still be on its way to the vendor; "
        f"waiting until its total timeout ({_timeout(caller, step):g}s) has passed since it "
        "was sent before looking it up")))
    await caller.clock.sleep(left)


def _render_text(value: Any, scope: Mapping[str, Any]) -> Any:
    if isinstance(value, str) and "{{" in value:
        return compile_template(value, Location()).render(scope)
    return value
