"""What `--resume` does with a write an earlier attempt sent: one the vendor answered (or whose
answer its operator gave, `runs resolve --answer`, or that an earlier resume's lookup found
made) is finished from that answer, not sent again; one whose outcome is unknown is looked up
through its spec's `reconcile` list first, and sent again only if not made. So is one of an
item a keyed for_each's list no longer has, though never sent again."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from runner.engine.calls import Caller, StepTally, endpoint_of
from runner.engine.events import Warned
from runner.engine.pagination import fetch_all
from runner.engine.recording import holds_masked
from runner.engine.responses import CheckedResponse, named_values
from runner.errors import Finding, InputError, Location, OutboundError, RunError, iteration
from runner.journal import AnsweredWrite, UnknownWrite, item_path, key_of
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
    if answered.found:
        caller.emit(Warned(step.id, f"{which_item(index)}: an earlier resume found "
                           f"{endpoint.qualified_name} made; not sent again"))
        return _made(step, answered.body)
    caller.emit(Warned(step.id, f"{which_item(index)}: {endpoint.qualified_name} was answered "
                       "before --resume; its recorded answer is used, not sent again"))
    return CheckedResponse(answered.status, answered.body, None,
                           named_values(endpoint, answered.body))


async def reconcile(caller: Caller, step: Step, unknown: UnknownWrite, request: dict[str, Any],
                    index: int | None, tally: StepTally, run_id: str) -> CheckedResponse | None:
    """Look up, through the spec's `reconcile` list, whether an unconfirmed write happened,
    and journal what was found as its outcome.

    Returns a response standing for the create when it did; None when it did not, where the
    caller says what it does then (not_made).
    """
    endpoint = endpoint_of(step)
    reconcile = endpoint.reconcile
    if reconcile is None:
        raise RunError([Finding(Location(), (  # said in its step's and item's context
            f"an earlier {endpoint.qualified_name} was sent and its outcome is "
            "unknown, and the spec has no reconcile to find out; look it up with the "
            f"vendor (outbound runs show {run_id} has the request), then say what "
            f"happened: outbound runs resolve {run_id} {_item(step, index)} --not-sent | "
            "--answer FILE | --skip, and resume"))])
    match = await _looked_up(caller, step, unknown, _asked(step, request), index, tally)
    if match is None:
        return None
    caller.emit(Warned(step.id, f"{which_item(index)}: an earlier {endpoint.qualified_name} "
                       f"had no known outcome; {reconcile.via} shows it happened"))
    return _made(step, match)


def _made(step: Step, found: Any) -> CheckedResponse:
    """A response standing for the step's write, which the item `found` of the spec's
    `reconcile` list shows made: `values` as its `reconcile.values` name them."""
    reconcile = endpoint_of(step).reconcile
    named = reconcile.values.items() if reconcile is not None else ()
    values = {name: found.get(field) if isinstance(found, Mapping) else None
              for name, field in named}
    return CheckedResponse(200, {"reconciled": found}, None, values)


def not_made(step: Step, index: int | None, *, sending: bool) -> str:
    """What is said of an item's earlier write that reconcile() found not made: whether it is
    `sending` it again, or not (its `when` now false)."""
    endpoint = endpoint_of(step)
    assert endpoint.reconcile is not None
    return (f"{which_item(index)}: an earlier {endpoint.qualified_name} had no known outcome; "
            f"{endpoint.reconcile.via} shows it did not happen: " + (
                "sending it again" if sending else "its when is now false, so not sent again"))


async def gone_write(caller: Caller, step: Step, unknown: UnknownWrite, at: int, key: str,
                     tally: StepTally, run_id: str) -> str:
    """A warning of the write of unknown outcome of item `at` (its key `key`), which the list
    no longer has: what its lookup, through the spec's `reconcile` and with the request the
    journal holds, found; or why it was not looked up (its operator is to settle it)."""
    reconcile = endpoint_of(step).reconcile
    told = f"{iteration(at, key)}: no longer in the list, and its {unknown.endpoint} of " \
           "unknown outcome"
    settle = f"outbound runs resolve {run_id} {_item(step, at)} records what became of it"
    if reconcile is None:
        return f"{told} cannot be looked up (the spec has no reconcile): {settle}"
    try:
        asked = _asked(step, unknown.params)
        if holds_masked(asked):
            return (f"{told} cannot be looked up (the lookup needs a secret the journal "
                    f"masked): {settle}")
        match = await _looked_up(caller, step, unknown, asked, at, tally)
    except OutboundError as error:  # the vendor's answer, or a reconcile template's
        return f"{told} could not be looked up ({error}): {settle}"
    if match is None:
        return f"{told} was looked up: {reconcile.via} shows it did not happen"
    return (f"{told} was looked up: {reconcile.via} shows it happened, and the step's outputs "
            "do not have it")


def _asked(step: Step, request: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the spec's `reconcile` asks of its list for the write `request`: the list call's
    params, and the fields the item that shows the write made has."""
    reconcile = endpoint_of(step).reconcile
    assert reconcile is not None
    scope = {"request": request}
    return ({k: _render_text(v, scope) for k, v in reconcile.params.items()},
            {k: _render_text(v, scope) for k, v in reconcile.match.items()})


async def _looked_up(caller: Caller, step: Step, unknown: UnknownWrite,
                     asked: tuple[dict[str, Any], dict[str, Any]], index: int | None,
                     tally: StepTally) -> Mapping[str, Any] | None:
    """The item of the spec's `reconcile` list that shows the write `unknown` happened, once
    it can no longer be on its way (None: none does); journalled as the write's outcome."""
    reconcile = endpoint_of(step).reconcile
    assert reconcile is not None
    await _settled(caller, step, unknown, which_item(index))
    via = caller.services[str(step.service)].spec.endpoints[reconcile.via]
    params, wanted = asked
    lookup = replace(step, endpoint=via, retry=None, paginate=True, outputs=None, expect=())
    paged = await fetch_all(via, params, lambda p: caller.call(lookup, p, index, tally),
                            lambda message: caller.emit(Warned(step.id, message)),
                            page_size=None, max_pages=step.max_pages)
    match = next((item for item in paged.items if isinstance(item, Mapping) and all(
        str(item.get(key)) == str(value) for key, value in wanted.items())), None)
    if caller.journal is not None:
        found = "shows it happened" if match is not None else "shows it did not happen"
        caller.journal.reconciled(unknown.call_id, found=match, how=f"{reconcile.via} {found}")
    return match


def _item(step: Step, index: int | None) -> str:
    return item_path(step.id, key_of(index))  # as `runs resolve` takes it


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
    caller.put_aside.add(unknown.call_id)
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
    if unknown.call_id not in caller.put_aside:  # said already as it was put aside
        caller.emit(Warned(step.id, (
            f"{where}: an earlier {unknown.endpoint} may still be on its way to the vendor; "
            f"waiting until its total timeout ({_timeout(caller, step):g}s) has passed since "
            "it was sent before looking it up")))
    await caller.clock.sleep(left)


def _render_text(value: Any, scope: Mapping[str, Any]) -> Any:
    if isinstance(value, str) and "{{" in value:
        return compile_template(value, Location()).render(scope)
    return value
