"""One step's calls: each journalled (its intent before it leaves, its outcome after), sent,
checked and reported; a read with `retry` called again until its condition holds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.clock import Clock
from runner.engine.events import CallFinished, Emit, Warned
from runner.engine.recording import outcome_of
from runner.engine.requests import OutgoingRequest, build_request
from runner.engine.responses import CheckedResponse
from runner.engine.services import ServiceClient
from runner.errors import (
    ExpectationFailed,
    Finding,
    HTTPStatusError,
    RunError,
    TransportError,
    VendorError,
)
from runner.journal import Journal
from runner.playbook import Step, duration_of
from runner.spec import READ_KINDS, Endpoint
from runner.templating import Template, compared

_FALSE_TEXT = frozenset({"", "false", "0", "no", "none"})
CUT_OFF = "cut off before its answer came: the run was stopped"  # a call out as the run ended


STATUSES_THAT_PASS = frozenset({404, 408, 409, 425})  # not there yet, busy, too early


def may_pass(error: RunError) -> bool:
    """Whether a poll (`retry`) goes on after a failed call: the vendor's no may be a not yet
    (a business code such as iSales' "no such call record" before the call is made, a 404,
    a server error or no answer its service's `retries` gave up on). Credentials refused, a
    request the vendor calls malformed (a code the spec marks `final`), an answer that breaks
    its spec or a journal that cannot be written stop it at once: polled every minute, they
    would fail the same way for half an hour."""
    if isinstance(error, VendorError):
        return not error.final
    if isinstance(error, TransportError):
        return error.retryable
    if isinstance(error, HTTPStatusError):
        return error.retryable or error.status in STATUSES_THAT_PASS
    return False


@dataclass
class StepTally:
    """What a step has done so far: its calls, items and failures."""

    calls: int = 0
    succeeded: int = 0
    skipped: int = 0
    failed: int = 0
    iterations: int = 0
    retries: int = 0
    failures: list[tuple[int | None, str]] = field(default_factory=list)
    left_out: list[tuple[int | None, str]] = field(default_factory=list)  # by runs resolve


def truthy(value: Any) -> bool:
    """A condition's result: native values by Python truth, text like 'false' as false."""
    if isinstance(value, str):
        return value.strip().lower() not in _FALSE_TEXT
    return bool(value)


def endpoint_of(step: Step) -> Endpoint:
    assert step.endpoint is not None
    return step.endpoint


def response_scope(scope: Mapping[str, Any], checked: CheckedResponse,
                   items: list[Any] | None) -> dict[str, Any]:
    """What outputs, expect and retry see: the run's names, and the answer."""
    local = {**scope, "response": checked.body, "values": dict(checked.values),
             "status": checked.status}
    if items is not None:
        local["items"] = items
    return local


def check_expectations(step: Step, local: Mapping[str, Any]) -> None:
    failed = [t for t in step.expect if not truthy(t.render(local))]
    if failed:
        raise ExpectationFailed([_finding(t, "expectation failed", local) for t in failed])


def _expectation(template: Template, what: str, local: Mapping[str, Any]) -> ExpectationFailed:
    return ExpectationFailed([_finding(template, what, local)])


def _finding(template: Template, what: str, local: Mapping[str, Any]) -> Finding:
    """A condition that failed, with what it compared (`2 > 10`) when it is a comparison."""
    values = compared(template, local)
    return Finding(template.location, f"{what}: {template.source}"
                   + (f" (compared: {values})" if values else ""))


class Caller:
    """Makes a run's calls through its service clients, into its journal and events."""

    def __init__(self, services: Mapping[str, ServiceClient], clock: Clock, emit: Emit,
                 journal: Journal | None, *, lenient_responses: bool = False) -> None:
        self.services = services
        self.clock = clock
        self.emit = emit
        self.journal = journal
        self.lenient_responses = lenient_responses  # `outbound check` classifies, not fails
        self.wrote = False  # this attempt sent a write: on --resume, later lists are read again
        self.put_aside: set[int] = set()  # earlier writes whose lookup waits (resume.put_aside)

    async def call_until(self, step: Step, params: dict[str, Any], scope: dict[str, Any],
                         index: int | None, tally: StepTally) -> CheckedResponse:
        """One call, or with `retry`, calls until its condition holds (reads only)."""
        retry = step.retry
        if retry is None:
            return await self.call(step, params, index, tally)
        delay = duration_of(retry.delay, scope)
        for attempt in range(1, retry.attempts + 1):
            last = attempt == retry.attempts
            try:
                checked = await self.call(step, params, index, tally)
            except RunError as error:
                if last:
                    if retry.attempts > 1:
                        error.add_context(f"retry gave up after {retry.attempts} attempts")
                    raise
                if not may_pass(error):
                    error.add_context(f"retry stopped at attempt {attempt} of {retry.attempts}"
                                      " (asking again cannot change this answer)")
                    raise
            else:
                local = response_scope(scope, checked, None)
                if retry.fail_when is not None and truthy(retry.fail_when.render(local)):
                    raise _expectation(retry.fail_when, "retry.fail_when became true", local)
                if retry.until is None or truthy(retry.until.render(local)):
                    return checked
                if last:
                    raise _expectation(retry.until, f"retry.until was still false after "
                                       f"{retry.attempts} attempts", local)
            await self.clock.sleep(delay)
            delay = min(delay * retry.backoff, retry.max_delay)
        raise AssertionError("unreachable")

    async def call(self, step: Step, params: dict[str, Any], index: int | None,
                   tally: StepTally) -> CheckedResponse:
        endpoint = endpoint_of(step)
        request = build_request(endpoint, params)
        service = self.services[str(step.service)]
        if service.stop.asked:  # Ctrl-C or SIGTERM: no call starts, none is journaled
            await service.stop.held()
        call_id = 0
        if self.journal is not None:
            # a write's intent is on disk before it leaves; a read a crash forgets is read again
            call_id = self.journal.intent(step.id, index, endpoint.qualified_name,
                                          endpoint.kind, params,
                                          write=endpoint.kind not in READ_KINDS)
        tally.calls += 1  # counted once it may be sent
        self.wrote = self.wrote or endpoint.kind not in READ_KINDS

        started = time.perf_counter()
        try:
            checked, attempts, seconds = await service.call(
                request, timeouts=step.timeout, retries=step.retries,
                lenient_schema=step.invalid_response == "warn" or self.lenient_responses)
        except RunError as error:
            seconds = time.perf_counter() - started  # every attempt's, as the vendor made us wait
            self._failed(step, index, request, call_id, error, seconds)
            tally.retries += error.retries
            raise
        except asyncio.CancelledError:  # the run stopped (Ctrl-C, SIGTERM) with it out
            if self.journal is not None:
                self.journal.outcome(call_id, status=None, result_code=None, outcome="unknown",
                                     duration=time.perf_counter() - started, error=CUT_OFF)
            raise
        tally.retries += attempts - 1
        if self.journal is not None:
            self.journal.outcome(call_id, status=checked.status, result_code=checked.result_code,
                                 outcome="ok", duration=seconds,
                                 facts=endpoint.facts(checked.body),
                                 response=None if endpoint.kind in READ_KINDS else checked.body)
        self.emit(CallFinished(step.id, index, endpoint.qualified_name, request.describe(),
                               checked.status, checked.result_code, seconds, attempts))
        for warning in checked.warnings:
            self.emit(Warned(step.id, warning))
        return checked

    def _failed(self, step: Step, index: int | None, request: OutgoingRequest, call_id: int,
                error: RunError, seconds: float) -> None:
        """A call that failed, into the journal and the events."""
        endpoint = request.endpoint
        status, code = getattr(error, "status", None), getattr(error, "code", None)
        if self.journal is not None:
            body = getattr(error, "body", None)
            self.journal.outcome(call_id, status=status, result_code=code,
                                 outcome=outcome_of(error, endpoint.kind), duration=seconds,
                                 error=str(error), facts=endpoint.facts(body), response=body)
        self.emit(CallFinished(step.id, index, endpoint.qualified_name, request.describe(),
                               status, code, seconds, error.retries + 1, str(error)))
