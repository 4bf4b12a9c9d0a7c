"""Runs a playbook's steps in order: when, for_each with concurrency, retry, paginate, expect.

The executor emits events and never prints. Context (step, iteration) is attached to an error
where it becomes known, by `within`, so a message reads
``step reserve, iteration 3 (customer={...}): huawei-isales.appoint.create param calledNo: ...``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from runner.clock import Clock, now_ms
from runner.engine.calls import (
    Caller,
    StepTally,
    check_expectations,
    endpoint_of,
    response_scope,
    truthy,
)
from runner.engine.events import (
    Emit,
    IterationFinished,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
    Warned,
)
from runner.engine.for_each import ForEach
from runner.engine.gate import CreateGate
from runner.engine.items import (
    Indexed,
    Shard,
    each,
    items_to_iterate,
    split_steps,
)
from runner.engine.keys import identity, matched_by_place
from runner.engine.pagination import fetch_all, iter_pages
from runner.engine.planning import check_given, plan
from runner.engine.recording import fields_read, holds_masked, kept_fields, unmasked
from runner.engine.responses import CheckedResponse
from runner.engine.resume import not_made, reconcile, recorded_answer
from runner.engine.services import ServiceClient
from runner.engine.stop import NEVER, Stop
from runner.engine.tallies import RunResult, tolerated_error
from runner.errors import (
    InputError,
    OutboundError,
    Paused,
    RunError,
    iteration,
    within,
)
from runner.journal import Journal, Recorded
from runner.playbook import Playbook, Step, duration_of, step_reads, stream_source
from runner.secrets import read_secret
from runner.spec import READ_KINDS
from runner.templating import SkippedOutputs


class Run:
    """One execution of a playbook against its services."""

    def __init__(self, playbook: Playbook, inputs: Mapping[str, Any],
                 services: Mapping[str, ServiceClient], clock: Clock, emit: Emit, *,
                 env: Mapping[str, str] | None = None, dry_run: bool = False,
                 simulated: bool = False, journal: Journal | None = None,
                 resume: Recorded | None = None, run_id: str = "",
                 shard: Shard | None = None, lenient_responses: bool = False,
                 max_creates: int | None = None, stop: Stop = NEVER) -> None:
        self.playbook = playbook
        self.stop = stop
        self.inputs = dict(inputs)
        self.clock = clock
        self.emit = emit
        self.dry_run = dry_run
        self.simulated = simulated
        self.steps: dict[str, Any] = {}
        self.scope: dict[str, Any] = {"inputs": self.inputs, "steps": self.steps,
                                      "env": env or {}, "now_ms": lambda: now_ms(clock),
                                      "secret": read_secret}
        self.finished: dict[str, StepFinished] = {}
        self.streams: dict[str, Step] = {}
        self.journal = journal
        self.resume = resume
        self.run_id = run_id
        self.shard = shard
        # the shard of each for_each it splits (split_steps): its items are this job's share
        self.shards = dict.fromkeys(split_steps(playbook.steps), shard) if shard else {}
        self.caller = Caller(services, clock, emit, journal,
                             lenient_responses=lenient_responses)  # `outbound check`: it classifies
        self.gate = CreateGate(playbook.calling_window, clock, run_id, max_creates)
        read = fields_read(playbook)
        self.kept = {step.id: kept_fields(read.get(step.id)) for step in playbook.steps}
        # the steps other steps read (the playbook's outputs aside), not read again on resume
        self.read_by_steps = frozenset().union(*(step_reads(s) for s in playbook.steps))

    async def execute(self) -> RunResult:
        started = time.perf_counter()
        self.emit(RunStarted(self.playbook.name, self.playbook.file, self.inputs, self.dry_run,
                             self.simulated, self.run_id, self.resume is not None,
                             str(self.shard) if self.shard else None))
        if self.dry_run and self.playbook.calling_window is not None:
            self.emit(Warned(None, self.playbook.calling_window.state_at(self.clock.now())))
        try:
            for step in self.playbook.steps:
                self._check_given(step)
            for step in self.playbook.steps:
                await self._step(step)
            outputs = {} if self.dry_run else self._outputs()
        except OutboundError as error:
            status = "paused" if isinstance(error, Paused) else "failed"
            self.emit(RunFinished(status, time.perf_counter() - started, error=str(error)))
            if isinstance(error, InputError) and self._sent():  # 2 would say nothing was sent,
                error.exit_code = RunError.exit_code  # and a fresh run would send it all again
            return RunResult(status, error=error, steps=self.finished)
        partial = tolerated_error(self.finished.values(), self.run_id)
        if partial is not None:
            self.emit(RunFinished("partial", time.perf_counter() - started, outputs,
                                  error=str(partial)))
            return RunResult("partial", outputs, error=partial, steps=self.finished)
        self.emit(RunFinished("ok", time.perf_counter() - started, outputs))
        return RunResult("ok", outputs, steps=self.finished)

    def _outputs(self) -> Any:
        """The playbook's outputs."""
        return {} if self.playbook.outputs is None else self.playbook.outputs.render(self.scope)

    def _sent(self) -> bool:
        """Whether the run has sent calls: this attempt, or the one it resumes."""
        return self.resume is not None or any(s.calls for s in self.finished.values())

    def _check_given(self, step: Step) -> None:
        """What the run's inputs alone decide of the step, checked before the run's first step
        (`check_given`); what is wrong is the step's failure, as if it had run."""
        started = time.perf_counter()
        try:
            check_given(step, self.scope)
        except OutboundError as error:  # told as a step without for_each tells its failure
            tally = StepTally(iterations=1, failed=1, failures=[(None, str(error))])
            error.add_context(f"step {step.id}")
            self.emit(StepStarted(step.id, step.title,
                                  step.endpoint.qualified_name if step.endpoint else None))
            self._finished(step, "failed", tally, started, error)
            raise

    async def _step(self, step: Step) -> None:
        if step.stream and not self.dry_run:
            self.streams[step.id] = step  # its pages are pulled by the for_each that reads it
            self.steps[step.id] = {"streamed": True}
            return
        tally = StepTally()
        started = time.perf_counter()
        call = step.endpoint.qualified_name if step.endpoint else None
        self.emit(StepStarted(step.id, step.title, call))
        error: OutboundError | None = None
        try:
            with within(f"step {step.id}"):
                if self.dry_run:
                    plan(step, self.scope, self.emit, self.shards.get(step.id))
                elif step.for_each is not None:
                    await ForEach(self, step, tally).go()
                else:
                    self.steps[step.id] = await self.iterate(step, self.scope, None, tally) \
                        or {"skipped": True, "outputs": SkippedOutputs()}
        except OutboundError as failure:
            error = failure
        except asyncio.CancelledError:  # Ctrl-C or SIGTERM: where it stopped is still told
            self._finished(step, "interrupted", tally, started, None)
            raise
        status = "paused" if isinstance(error, Paused) else "failed" if error \
            else "partial" if tally.failed \
            else ("skipped" if tally.iterations and tally.skipped == tally.iterations else "ok")
        self._finished(step, status, tally, started, error)
        if error:
            raise error

    def _finished(self, step: Step, status: str, tally: StepTally, started: float,
                  error: OutboundError | None) -> None:
        finished = StepFinished(step.id, status, tally.calls, tally.iterations, tally.succeeded,
                                tally.skipped, tally.failed, time.perf_counter() - started,
                                str(error) if error else None, tally.retries,
                                tuple(tally.failures), tuple(tally.left_out))
        self.finished[step.id] = finished
        self.emit(finished)
        if self.journal is not None:
            self.journal.step(step.id, status, tally.calls, tally.iterations, tally.succeeded,
                              tally.skipped, tally.failed, tally.retries, finished.duration,
                              finished.error)

    def items_of(self, step: Step) -> tuple[AsyncIterator[Any], int | None, bool]:
        """A for_each's items (this shard's share), how many (None for a stream, which is
        not counted ahead), and whether they are a stream's."""
        shard = self.shards.get(step.id)
        source = stream_source(step)
        if source in self.streams:
            streamed = self.streams.pop(source)
            if (warning := matched_by_place(step, streamed, self.resume)) is not None:
                self.emit(Warned(step.id, warning))
            items = self._stream(streamed)
            # this job's share; indexes stay those of the stream
            return (items if shard is None else shard.share(items, identity(step, self.scope)),
                    None, True)
        listed = items_to_iterate(step, self.scope)
        if shard is not None:  # counted, so max_failures: N% is of the share
            of = identity(step, self.scope)
            listed = [Indexed(i, item) for i, item in enumerate(listed) if shard.owns(of(item))]
        return each(listed), len(listed), False

    async def _stream(self, step: Step) -> AsyncIterator[Any]:
        """The items of a streamed list step, page by page, with its own step events."""
        tally = StepTally()
        started = time.perf_counter()
        self.emit(StepStarted(step.id, step.title, endpoint_of(step).qualified_name))
        error: OutboundError | None = None
        status = "ok"  # also when its for_each stops reading it (an item failed, a pause)
        try:
            assert step.params is not None
            params = step.params.render(self.scope)
            pages = iter_pages(endpoint_of(step), params,
                               lambda p: self.caller.call(step, p, None, tally),
                               lambda message: self.emit(Warned(step.id, message)),
                               page_size=step.page_size, max_pages=step.max_pages)
            async for page, _ in pages:
                tally.iterations += len(page)
                for item in page:
                    yield item
        except OutboundError as failure:
            failure.add_context(f"step {step.id}")
            error, status = failure, "failed"
            raise
        finally:
            task = asyncio.current_task()
            if task is not None and task.cancelling():  # Ctrl-C or SIGTERM, mid-stream
                status = "interrupted"
            tally.succeeded = tally.iterations
            self._finished(step, status, tally, started, error)

    def _recorded(self, step: Step, index: int | None) -> tuple[str, Any] | None:
        """(status, record) of an item an earlier attempt finished, standing for it. None for
        a whole-step read once this attempt has sent a write (what it shows may have changed:
        it is read again), unless a later step reads it: a later step matches its own items
        to the journal by their place, which a list read again could move."""
        if self.resume is None:
            return None
        if index is None and self.caller.wrote and step.endpoint is not None and \
                step.endpoint.kind in READ_KINDS and step.id not in self.read_by_steps:
            return None
        return self.resume.finished(step.id, index)

    async def iterate(self, step: Step, scope: dict[str, Any], index: int | None,
                      tally: StepTally, key: str | None = None) -> dict[str, Any] | None:
        """Run item `index` of the step (None: the step without for_each); `key` is its
        for_each's key for it, if it has one (named with the item in its errors)."""
        if self.stop.asked:  # Ctrl-C or SIGTERM: no item starts (runner/engine/stop.py)
            await self.stop.held()
        tally.iterations += 1
        done = self._recorded(step, index)
        if done is not None:  # finished before --resume: its recorded result stands
            status, recorded = done
            tally.skipped += status == "skipped"
            left_out = self.resume.left_out_at(step.id, index) if self.resume else None
            if left_out is not None:  # by `runs resolve --skip`: the reports name it
                tally.left_out.append((index, left_out))
            tally.succeeded += status == "ok"
            self.emit(IterationFinished(step.id, index, status))
            return recorded if status == "ok" else None
        try:
            record = await self._run_iteration(step, scope, index, tally)
        except Paused:  # not a failure: the item waits for --resume
            tally.iterations -= 1
            self.emit(IterationFinished(step.id, index, "paused"))
            raise
        except OutboundError as error:
            self.item_failed(step, index, tally, error, key)
            raise
        status = "skipped" if record is None else "ok"
        tally.skipped += record is None
        tally.succeeded += record is not None
        self.emit(IterationFinished(step.id, index, status))
        if self.journal is not None:
            kept = self.kept[step.id]
            self.journal.item(step.id, index, status, record if record is None or kept is None
                              else {key: record[key] for key in kept if key in record})
        return record

    def item_failed(self, step: Step, index: int | None, tally: StepTally,
                    error: OutboundError, key: str | None = None) -> None:
        if index is not None:
            error.add_context(iteration(index, key))
        tally.failed += 1
        tally.failures.append((index, str(error)))
        self.emit(IterationFinished(step.id, index, "failed", str(error)))
        if self.journal is not None:
            self.journal.item(step.id, index, "failed", reason=str(error))

    async def _run_iteration(self, step: Step, scope: dict[str, Any], index: int | None,
                             tally: StepTally) -> dict[str, Any] | None:
        earlier = await self._earlier_write(step, scope, index, tally)
        if isinstance(earlier, CheckedResponse):
            return self._finish_record(step, scope, earlier, None)
        sending = step.when is None or truthy(step.when.render(scope))
        if earlier is not None:  # looked up, and not made
            self.emit(Warned(step.id, not_made(step, index, sending=sending)))
        if not sending:
            return None
        if step.wait is not None:
            await self.clock.sleep(duration_of(step.wait, scope))
            return {"outputs": step.outputs.render(scope) if step.outputs else {}}
        assert step.params is not None
        params = earlier if earlier is not None else step.params.render(scope)
        self.gate.admit(step, index)
        items: list[Any] | None = None
        if step.paginate:
            paged = await fetch_all(
                endpoint_of(step), params, lambda p: self.caller.call(step, p, index, tally),
                lambda message: self.emit(Warned(step.id, message)),
                page_size=step.page_size, max_pages=step.max_pages)
            checked, items = paged.last, paged.items
        else:
            checked = await self.caller.call_until(step, params, scope, index, tally)
        return self._finish_record(step, scope, checked, items)

    async def _earlier_write(self, step: Step, scope: dict[str, Any], index: int | None,
                             tally: StepTally) -> CheckedResponse | dict[str, Any] | None:
        """What a write an earlier attempt sent for item `index` stands for on resume: its
        answer (recorded, or found through the spec's reconcile) where it was made, which
        stands whatever the step's `when` now says (a reservation made counts); its request,
        to send again, where it was not; None where there was none."""
        if self.resume is None or step.params is None:
            return None
        answered = self.resume.answered_write(step.id, index)
        if answered is not None:  # made before --resume, its item unfinished: not again
            return recorded_answer(self.caller, step, answered, index)
        unknown = self.resume.unknown_write(step.id, index)
        if unknown is None:
            return None
        # the same request, with the same appointment time; a secret the journal masked is
        # rendered again (the params are rendered only then, before `when` holds: a field
        # `when` now guards against may be gone from the item)
        params = unknown.params
        if holds_masked(params):
            params = unmasked(params, step.params.render(scope))
        found = await reconcile(self.caller, step, unknown, params, index, tally, self.run_id)
        return params if found is None else found

    def _finish_record(self, step: Step, scope: dict[str, Any], checked: CheckedResponse,
                       items: list[Any] | None) -> dict[str, Any]:
        local = response_scope(scope, checked, items)
        outputs = step.outputs.render(local) if step.outputs else {}
        check_expectations(step, local)
        record = {"response": checked.body, "values": dict(checked.values), "outputs": outputs,
                  "status": checked.status}
        if items is not None:
            record["items"] = items
        return record
