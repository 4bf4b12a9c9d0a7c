"""--dry-run: every request a step would send that can be known without sending anything,
rendered, checked against its spec and signed, as events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.engine.calls import truthy
from runner.engine.events import Emit, NotPlanned, PlannedRequest
from runner.engine.requests import OutgoingRequest, build_request
from runner.errors import within
from runner.playbook import Step


def plan(step: Step, scope: Mapping[str, Any], emit: Emit) -> None:
    """Emit the step's requests (PlannedRequest), or why they cannot be known (NotPlanned)."""
    if step.endpoint is None:
        emit(NotPlanned(step.id, "a wait step sends nothing"))
        return
    depends = _depends_on(step)
    if depends:
        emit(NotPlanned(step.id, "its requests depend on the responses of "
                        + ", ".join(f"steps.{d}" for d in sorted(depends))))
        return
    items = step.for_each.render(scope) if step.for_each is not None else [None]
    for index, item in enumerate(items if isinstance(items, list) else [items]):
        looped = step.for_each is not None
        local = {**scope, step.loop_var: item} if looped else scope
        with within(f"iteration {index}" if looped else None):
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
    return PlannedRequest(step.id, index, request.endpoint.qualified_name, request.method,
                          request.describe().split(" ", 1)[1], dict(request.headers),
                          request.body)


def _depends_on(step: Step) -> frozenset[str]:
    parts = [step.params, step.for_each]
    refs = [p.step_refs for p in parts if p is not None]
    if step.when is not None:
        refs.append(step.when.step_refs)
    return frozenset().union(*refs)
