"""The console view of a run: a line per step as it starts and ends, progress on loops."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import TextIO

from runner.engine.events import (
    CallFinished,
    Event,
    ItemsStarted,
    IterationFinished,
    NotPlanned,
    PlannedRequest,
    RunFinished,
    RunStarted,
    StepFinished,
    Warned,
)
from runner.errors import ITEM_REASON, iteration
from runner.reporting.runs import outputs_text, skipped_text
from runner.reporting.specs import table

_MARK = {"ok": "ok  ", "partial": "PART", "failed": "FAIL", "skipped": "skip", "paused": "wait",
         "interrupted": "STOP"}


LOG_EVERY = 30.0  # seconds between progress lines of a for_each where no terminal shows a bar
ALIKE_SHOWN = 3  # of a step's warnings that differ only in their iteration, those shown (-v: all)


class ConsoleReporter:
    """Writes a readable account of the events to `out`; `verbose` adds every call."""

    def __init__(self, out: TextIO | None = None, *, verbose: bool = False,
                 quiet: bool = False, clock: Callable[[], float] = time.monotonic) -> None:
        self.out = out or sys.stdout
        self.clock = clock  # what the progress's rate and pace are measured by
        self.verbose = verbose
        self.quiet = quiet
        self.live = self.out.isatty()
        self.dry_run = False
        self.run_id: str | None = None
        self.totals: dict[str, int | None] = {}
        self.done: dict[str, int] = {}
        self.began: dict[str, float] = {}
        self.finished: list[StepFinished] = []
        self.shown = 0.0
        self.planned: Counter[str] = Counter()  # --dry-run: requests by endpoint kind
        self.not_planned = 0  # steps
        self.alike: dict[tuple[str, str], list[int]] = {}  # (step, warning): its iterations

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):  # told at the end, even with --quiet
            self.dry_run, self.run_id = event.dry_run, event.run_id
        elif isinstance(event, PlannedRequest):
            self.planned[event.kind] += 1
        elif isinstance(event, NotPlanned):
            self.not_planned += 1
        handler = getattr(self, f"_on_{type(event).__name__}", None)
        if handler is not None and not (self.quiet and not isinstance(event, RunFinished)):
            handler(event)

    def _write(self, text: str) -> None:
        if self.live:
            text = "\r\x1b[K" + text
        self.out.write(text + "\n")
        self.out.flush()

    def _on_RunStarted(self, event: RunStarted) -> None:
        mode = "dry run, nothing is sent" if event.dry_run else \
            "embedded simulator" if event.simulated else "live"
        if event.dry_run and event.shard:  # a run's shard is told beside its run id
            mode += f"; shard {event.shard}"
        self._write(f"{event.playbook}  ({event.file}, {mode})")
        if event.run_id:
            verb = "resuming run" if event.resumed else "run"
            self._write(f"{verb} {event.run_id}" + (f" (shard {event.shard})" if event.shard
                                                     else ""))

    def _on_ItemsStarted(self, event: ItemsStarted) -> None:
        self.totals[event.step] = event.total
        self.done[event.step] = 0
        self.began[event.step] = self.clock()

    def _on_IterationFinished(self, event: IterationFinished) -> None:
        if event.step in self.totals:
            self.done[event.step] += 1
            now = self.clock()
            if self.live and (now - self.shown > 0.1 or self.done[event.step] == 1):
                self.shown = now
                self.out.write("\r\x1b[K" + self._progress(event.step, now))
                self.out.flush()
            elif not self.live and now - max(self.shown, self.began[event.step]) >= LOG_EVERY:
                self.shown = now  # a CI log: a line now and then, not a log silent for an hour
                self._write(self._progress(event.step, now))

    def _progress(self, step: str, now: float) -> str:
        done, total = self.done[step], self.totals[step]
        rate = done / max(now - self.began[step], 1e-6)
        if total:
            filled = int(20 * done / total)
            bar = "#" * filled + "." * (20 - filled)
            return f"  ...  {step}  [{bar}] {done}/{total}  {rate:.0f}/s"
        return f"  ...  {step}  {done} items  {rate:.0f}/s"

    def _on_CallFinished(self, event: CallFinished) -> None:
        if self.verbose:
            where = f"[{event.iteration}]" if event.iteration is not None else ""
            outcome = event.error or f"HTTP {event.status} {event.result_code or ''}".rstrip()
            self._write(f"        {event.step}{where} {event.request} -> {outcome} "
                        f"({event.duration * 1000:.0f} ms)")

    def _on_Warned(self, event: Warned) -> None:
        item = ITEM_REASON.fullmatch(event.message)  # about one item
        if item and event.step and not self.verbose:  # the same for many items: a few shown
            seen = self.alike.setdefault((event.step, item["why"]), [])
            seen.append(int(item["index"]))
            if len(seen) > ALIKE_SHOWN:
                return
        self._write(f"  warn  {event.step}: {event.message}" if event.step
                    else f"  warn  {event.message}")

    def _alike_untold(self, step: str | None = None) -> None:
        """For `step` (None: every step), how many items' warnings were held back as alike
        ones shown, and which items."""
        for (of, message), seen in list(self.alike.items()):
            if step in (None, of):
                if len(seen) > ALIKE_SHOWN:
                    more = seen[ALIKE_SHOWN:]
                    self._write(f"  warn  {of}: and {len(more)} more iteration"
                                f"{'s' * (len(more) != 1)} ({_spans(more)}): {message}")
                del self.alike[of, message]

    def _on_PlannedRequest(self, event: PlannedRequest) -> None:
        where = f"[{event.iteration}]" if event.iteration is not None else ""
        self._write(f"  plan  {event.step}{where}  {event.method} {event.url}")
        if event.body is not None:
            self._write(f"        body {json.dumps(event.body, ensure_ascii=False)}")

    def _on_NotPlanned(self, event: NotPlanned) -> None:
        self._write(f"  ----  {event.step}: not planned, {event.reason}")

    def _on_StepFinished(self, event: StepFinished) -> None:
        self.finished.append(event)
        self._alike_untold(event.step)
        if self.dry_run and event.status == "ok":
            return
        parts = [f"{event.calls} call{'s' * (event.calls != 1)}"]
        if event.retries:
            parts.append(f"{event.retries} retr{'ies' if event.retries != 1 else 'y'}")
        if event.step in self.totals:
            by_hand = f" ({len(event.left_out)} by hand)" if event.left_out else ""
            parts.append(f"{event.succeeded} ok, {event.skipped} skipped{by_hand}, "
                         f"{event.failed} failed")
        parts.append(f"{event.duration:.2f}s")
        self._write(f"  {_MARK[event.status]}  {event.step}  " + ", ".join(parts))
        for index, reason in event.failures[:20]:
            said = index is None or reason.startswith(  # None: no for_each
                (f"{iteration(index)}:", f"{iteration(index)} (key "))
            where = "" if said else f"item {index}: "
            self._write(f"        {where}{reason.splitlines()[0]}")
        if len(event.failures) > 20:
            self._write(f"        ... and {len(event.failures) - 20} more failed items")

    def _summary(self) -> None:
        """A table of the steps, once the run is over (when some step had items)."""
        if self.quiet or self.dry_run or not any(s.iterations > 1 for s in self.finished):
            return
        rows = [["STEP", "STATUS", "CALLS", "ITEMS", "OK", "SKIPPED", "FAILED", "RETRIES",
                 "TIME"]]
        rows += [[s.step, s.status, str(s.calls), str(s.iterations), str(s.succeeded),
                  skipped_text(s.skipped, len(s.left_out)), str(s.failed), str(s.retries),
                  f"{s.duration:.2f}s"]
                 for s in self.finished]
        self._write("")
        for line in table(rows).splitlines():
            self._write("  " + line)

    def _planned_text(self) -> str:
        """`dry run done: 3001 requests planned (1 list, 3000 creates), ...`: what a run would
        send, as a plan's last line says how much it would change."""
        total = sum(self.planned.values())
        kinds = ", ".join(f"{n} {kind}{'s' * (n != 1)}" for kind, n in self.planned.items())
        text = f"dry run done: {total} request{'s' * (total != 1)} planned"
        text += f" ({kinds})" if kinds else ""
        if self.not_planned:
            text += (f", {self.not_planned} step{'s' * (self.not_planned != 1)} not planned "
                     "(they depend on answers)")
        return text + "; nothing was sent"

    def _on_RunFinished(self, event: RunFinished) -> None:
        self._alike_untold()  # of the steps a pause or a failure left unfinished
        self._summary()
        if event.status == "paused":
            self._write(f"run paused after {event.duration:.2f}s; --resume goes on")
            return
        if event.error and event.status != "partial":
            self._write(f"run failed after {event.duration:.2f}s")
            return
        if self.dry_run:
            self._write(self._planned_text())
            return
        if event.outputs and not self.quiet:
            for line in outputs_text(event.outputs, self.run_id):
                self._write(line)
        if event.status == "partial":
            self._write(f"run done with failed items in {event.duration:.2f}s")
        else:
            self._write(f"run ok in {event.duration:.2f}s")


def _spans(numbers: list[int]) -> str:
    """`3601-3603, 3610`: sorted numbers, each run of consecutive ones as its ends."""
    spans: list[list[int]] = []
    for number in sorted(numbers):
        if spans and number == spans[-1][1] + 1:
            spans[-1][1] = number
        else:
            spans.append([number, number])
    told = [f"{first}-{last}" if last > first else str(first) for first, last in spans[:5]]
    return ", ".join(told) + (", ..." if len(spans) > 5 else "")
