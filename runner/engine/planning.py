"""What can be known of a run's requests without sending anything: --dry-run's requests,
rendered, checked against their spec and signed, as events; and, before any run, what the
run's inputs alone decide (`check_given`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.engine.calls import truthy
from runner.engine.events import Emit, NotPlanned, PlannedRequest, Warned
from runner.engine.items import Shard
from runner.engine.keys import ItemKeys, RepeatedItem, identity
from runner.engine.requests import OutgoingRequest, build_request, check_param
from runner.errors import iteration, within
from runner.playbook import Step, duration_of
from runner.playbook.model import RUN_NAMES
from runner.templating import Template

GIVEN_NAMES = RUN_NAMES - {"steps"}  # what a run is given before its first step


def check_given(step: Step, scope: Mapping[str, Any]) -> None:
    """Render and check each param, wait and retry delay of the step whose template reads only
    what the run is given (`vdnId: "{{ inputs.vdn_id }}"`, `delay: "{{ inputs.poll_every }}"`),
    before the run's first step: found when its step ran, a bad one would stop the run after
    the creates of the steps before it. Nothing is checked of a step whose `when` says from
    the inputs alone that it will not run."""
    if step.when is not None and _given(step.when) and not truthy(step.when.render(scope)):
        return
    for duration in (step.wait, step.retry.delay if step.retry else None):
        if isinstance(duration, Template) and _given(duration):
            duration_of(duration, scope)
    if step.endpoint is not None and step.params is not None:
        for name, value, template in step.params.render_entries(scope, _given):
            if name in step.endpoint.params:
                check_param(step.endpoint, name, value, template.location)


def _given(template: Template) -> bool:
    return template.names <= GIVEN_NAMES


def plan(step: Step, scope: Mapping[str, Any], emit: Emit, shard: Shard | None = None) -> None:
    """Emit the step's requests (PlannedRequest), or why they cannot be known (NotPlanned);
    of a for_each, those of the items `shard` owns (all, without one)."""
    if step.endpoint is None:
        emit(NotPlanned(step.id, "a wait step sends nothing"))
        return
    depends = _depends_on(step)
    if depends:
        emit(NotPlanned(step.id, "its requests depend on the responses of "
                        + ", ".join(f"steps.{d}" for d in sorted(depends))))
        return
    items = step.for_each.render(scope) if step.for_each is not None else [None]
    of, keys = identity(step, scope), ItemKeys.of(step, None, None)
    for index, item in enumerate(items if isinstance(items, list) else [items]):
        looped = step.for_each is not None
        if shard is not None and not shard.owns(of(item)):
            continue
        local = {**scope, step.loop_var: item} if looped else scope
        with within(iteration(index) if looped else None):
            try:
                if keys is not None:
                    keys.place(index, local)
            except RepeatedItem as repeat:  # as the run would skip it
                emit(Warned(step.id, str(repeat)))
                continue
            if step.when is not None and not truthy(step.when.render(local)):
                continue
            assert step.params is not None
            request = build_request(step.endpoint, _first_page(step, step.params.render(local)))
            emit(_planned(step, index if looped else None, request))


def _first_page(step: Step, params: dict[str, Any]) -> dict[str, Any]:
    pagination = step.endpoint.pagination if step.endpoint else None
    if not step.paginate or pagination is None:
        return params
    first = 0 if pagination.style == "offset" else pagination.first_page
    size = step.page_size or step.endpoint.params[pagination.size_param].schema.get(  # type: ignore[union-attr]
        "default", 50)
    return {pagination.size_param: size, pagination.position_param: first, **params}


def _planned(step: Step, index: int | None, request: OutgoingRequest) -> PlannedRequest:
    return PlannedRequest(step.id, index, request.endpoint.qualified_name,
                          request.endpoint.kind, request.method,
                          request.describe().split(" ", 1)[1], dict(request.headers),
                          request.body)


def _depends_on(step: Step) -> frozenset[str]:
    parts = [step.params, step.for_each]
    refs = [p.step_refs for p in parts if p is not None]
    if step.when is not None:
        refs.append(step.when.step_refs)
    return frozenset().union(*refs)
