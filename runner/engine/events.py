"""What the engine reports while it runs; reporters (console, JSON) consume these."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RunStarted:
    """A run began."""

    playbook: str
    file: str
    inputs: Mapping[str, Any]
    dry_run: bool
    simulated: bool
    run_id: str = ""
    resumed: bool = False
    shard: str | None = None


@dataclass(frozen=True)
class StepStarted:
    """A step began."""

    step: str
    title: str
    call: str | None  # None for a wait


@dataclass(frozen=True)
class ItemsStarted:
    """A for_each begins its items: `total` of them, or None for a stream (not counted ahead)."""

    step: str
    total: int | None


@dataclass(frozen=True)
class CallFinished:
    """A call was answered, or failed, after all its attempts."""

    step: str
    iteration: int | None
    endpoint: str
    request: str
    status: int | None
    result_code: str | None
    duration: float
    attempt: int
    error: str | None = None


@dataclass(frozen=True)
class IterationFinished:
    """An item of a step finished (the step itself, without for_each)."""

    step: str
    iteration: int | None
    status: str  # ok | skipped | failed
    error: str | None = None


@dataclass(frozen=True)
class Warned:
    """Something to see that does not fail the run: a step's, or the run's (step None)."""

    step: str | None
    message: str


@dataclass(frozen=True)
class PlannedRequest:
    """--dry-run: a request that would be sent, already checked against the spec."""

    step: str
    iteration: int | None
    endpoint: str
    kind: str  # the endpoint's: list, create, detail, ...
    method: str
    url: str
    headers: Mapping[str, str]
    body: Mapping[str, Any] | None


@dataclass(frozen=True)
class NotPlanned:
    """--dry-run: a step whose requests depend on earlier responses."""

    step: str
    reason: str


@dataclass(frozen=True)
class StepFinished:
    """A step ended, with its counts."""

    step: str
    status: str  # ok | partial (items failed within max_failures) | failed | skipped | paused
    calls: int
    iterations: int
    succeeded: int
    skipped: int
    failed: int
    duration: float
    error: str | None = None
    retries: int = 0  # attempts beyond the first, over all calls of the step
    failures: tuple[tuple[int | None, str], ...] = ()  # (iteration, reason) of each failed item
    left_out: tuple[tuple[int | None, str], ...] = ()  # and of each `runs resolve --skip` left


@dataclass(frozen=True)
class RunFinished:
    """The run ended."""

    status: str  # ok | partial (items failed within max_failures) | failed | paused
    #              | interrupted (Ctrl-C or SIGTERM; to the reports only)
    duration: float
    outputs: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None


Event = (RunStarted | StepStarted | ItemsStarted | CallFinished | IterationFinished | Warned
         | PlannedRequest | NotPlanned | StepFinished | RunFinished)
Emit = Callable[[Event], None]
