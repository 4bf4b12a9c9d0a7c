"""A for_each step: its items handed to `concurrency` workers, each run as one iteration.

A failed item lets the items in flight finish and starts no new one (unless `max_failures`
allows for it), as does a pause (the calling window closing, `--max-creates`). On resume, an
item whose earlier write may still be on its way to the vendor is put aside until the others
have gone through (resume.put_aside).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from runner.engine.calls import StepTally
from runner.engine.events import ItemsStarted, IterationFinished, Warned
from runner.engine.items import END, Puller
from runner.engine.keys import Gone, ItemKeys, RepeatedItem
from runner.engine.resume import gone_write, put_aside
from runner.engine.tallies import collected, stopped_error
from runner.errors import OutboundError, Paused
from runner.playbook import Step

if TYPE_CHECKING:
    from runner.engine.executor import Run


class ForEach:
    """One for_each step of a run, going through its items (`go`)."""

    def __init__(self, run: Run, step: Step, tally: StepTally) -> None:
        self.run, self.step, self.tally = run, step, tally
        items, self.total, self.streamed = run.items_of(step)
        run.emit(ItemsStarted(step.id, self.total))
        self.pull = Puller(items)
        self.keys = ItemKeys.of(step, run.journal, run.resume)
        self.results: dict[int, dict[str, Any]] = {}
        self.failures: list[OutboundError] = []
        self.paused: list[Paused] = []
        self.later: list[tuple[int, dict[str, Any], str | None]] = []  # put aside

    async def go(self) -> None:
        """Go through the items; `steps.<id>` then holds their records, in the order later
        steps go through them. Raises the step's error if it stopped, once they are kept."""
        step, run = self.step, self.run
        try:
            await asyncio.gather(*(self._worker() for _ in range(
                min(step.concurrency, self.total or step.concurrency) or 1)))
        finally:
            await self.pull.close()
        if self.keys is not None and self.pull.exhausted:
            await self._gone(self.keys.gone())
        order = (run.resume.in_order(step.id, self.results) if run.resume
                 else sorted(self.results))
        run.steps[step.id] = collected([self.results[i] for i in order])
        if self.failures and (self._too_many() or step.max_failures == 0):
            raise stopped_error(step, self.failures, self.pull.index, self.total, run.run_id)
        if self.paused:
            raise self.paused[0]

    async def _gone(self, gone: Gone) -> None:
        """The items of the attempts before that the list no longer has: those made count,
        and each write of unknown outcome is looked up, where it can be, and told."""
        self.results.update((i, self._kept(record)) for i, record in gone.records.items())
        for at, key, unknown in gone.unknown:
            gone.warnings.append(await gone_write(self.run.caller, self.step, unknown, at, key,
                                                  self.tally, self.run.run_id))
        for warning in gone.warnings:
            self.run.emit(Warned(self.step.id, warning))

    def _too_many(self) -> bool:
        return len(self.failures) > self.step.failures_allowed(
            self.total if self.total is not None else self.pull.index)

    async def _worker(self) -> None:
        while not self._too_many() and not self.paused and (
                next_item := await self.pull()) is not END:
            index, item = next_item
            scope = {**self.run.scope, self.step.loop_var: item}
            placed = self._placed(index, scope)
            if placed is None:
                continue
            index, key = placed
            resume = self.run.resume
            if resume and put_aside(self.run.caller, self.step, index,
                                    resume.unknown_write(self.step.id, index)):
                self.later.append((index, scope, key))
            else:
                await self._item(index, scope, key)
        while not self._too_many() and not self.paused and self.later:
            await self._item(*self.later.pop(0))

    def _placed(self, index: int, scope: dict[str, Any]) -> tuple[int, str | None] | None:
        """The iteration the item at `index` of the list runs as, and its key: of a for_each
        with a `key`, ItemKeys.place's. None for an item skipped as a repeat, or failed
        because its key did not render."""
        if self.keys is None:
            return index, None
        try:
            return self.keys.place(index, scope)
        except RepeatedItem as repeat:
            self.tally.iterations += 1
            self.tally.skipped += 1
            self.run.emit(Warned(self.step.id, str(repeat)))
            self.run.emit(IterationFinished(self.step.id, self.keys.fresh(index), "skipped"))
        except OutboundError as error:  # the item failed
            self.tally.iterations += 1
            self.run.item_failed(self.step, self.keys.unrendered(index), self.tally, error)
            self.failures.append(error)
        return None

    async def _item(self, index: int, scope: dict[str, Any], key: str | None) -> None:
        try:
            record = await self.run.iterate(self.step, scope, index, self.tally, key)
        except Paused as pause:
            self.paused.append(pause)  # in-flight items finish; no new one starts
            return
        except OutboundError as error:
            self.failures.append(error)  # in-flight items finish; no new one starts
            return
        if record is not None:
            self.results[index] = self._kept(record)

    def _kept(self, record: dict[str, Any]) -> dict[str, Any]:
        """A stream's items keep only what the step declared."""
        return {"outputs": record["outputs"]} if self.streamed else record
