"""The console view of a run: a line per step as it starts and ends, progress on loops."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from runner.engine.events import (
    CallFinished,
    Event,
    IterationFinished,
    NotPlanned,
    PlannedRequest,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
    Warned,
)

_MARK = {"ok": "ok  ", "failed": "FAIL", "skipped": "skip", "paused": "wait"}


class ConsoleReporter:
    """Writes a readable account of the events to `out`; `verbose` adds every call."""

    def __init__(self, out: TextIO | None = None, *, verbose: bool = False,
                 quiet: bool = False) -> None:
        self.out = out or sys.stdout
        self.verbose = verbose
        self.quiet = quiet
        self.live = self.out.isatty()
        self.dry_run = False
        self.totals: dict[str, int] = {}
        self.done: dict[str, int] = {}

    def __call__(self, event: Event) -> None:
        handler = getattr(self, f"_on_{type(event).__name__}", None)
        if handler is not None and not (self.quiet and not isinstance(event, RunFinished)):
            handler(event)

    def _write(self, text: str) -> None:
        if self.live:
            text = "\r\x1b[K" + text
        self.out.write(text + "\n")
        self.out.flush()

    def _on_RunStarted(self, event: RunStarted) -> None:
        self.dry_run = event.dry_run
        mode = "dry run, nothing is sent" if event.dry_run else \
            "embedded simulator" if event.simulated else "live"
        self._write(f"{event.playbook}  ({event.file}, {mode})")
        if event.run_id:
            verb = "resuming run" if event.resumed else "run"
            self._write(f"{verb} {event.run_id}" + (f" (shard {event.shard})" if event.shard
                                                     else ""))

    def _on_StepStarted(self, event: StepStarted) -> None:
        if event.total is not None:
            self.totals[event.step] = event.total
            self.done[event.step] = 0

    def _on_IterationFinished(self, event: IterationFinished) -> None:
        if event.step in self.totals:
            self.done[event.step] += 1
            if self.live:
                self.out.write(f"\r\x1b[K  ...  {event.step}  {self.done[event.step]}/"
                               f"{self.totals[event.step]}")
                self.out.flush()

    def _on_CallFinished(self, event: CallFinished) -> None:
        if self.verbose:
            where = f"[{event.iteration}]" if event.iteration is not None else ""
            outcome = event.error or f"HTTP {event.status} {event.result_code or ''}".rstrip()
            self._write(f"        {event.step}{where} {event.request} -> {outcome} "
                        f"({event.duration * 1000:.0f} ms)")

    def _on_Warned(self, event: Warned) -> None:
        self._write(f"  warn  {event.step}: {event.message}" if event.step
                    else f"  warn  {event.message}")

    def _on_PlannedRequest(self, event: PlannedRequest) -> None:
        where = f"[{event.iteration}]" if event.iteration is not None else ""
        self._write(f"  plan  {event.step}{where}  {event.method} {event.url}")
        if event.body is not None:
            self._write(f"        body {json.dumps(event.body, ensure_ascii=False)}")

    def _on_NotPlanned(self, event: NotPlanned) -> None:
        self._write(f"  ----  {event.step}: not planned, {event.reason}")

    def _on_StepFinished(self, event: StepFinished) -> None:
        if self.dry_run and event.status == "ok":
            return
        parts = [f"{event.calls} call{'s' * (event.calls != 1)}"]
        if event.retries:
            parts.append(f"{event.retries} retr{'ies' if event.retries != 1 else 'y'}")
        if event.step in self.totals:
            parts.append(f"{event.succeeded} ok, {event.skipped} skipped, {event.failed} failed")
        parts.append(f"{event.duration:.2f}s")
        self._write(f"  {_MARK[event.status]}  {event.step}  " + ", ".join(parts))
        for index, reason in event.failures[:20]:
            self._write(f"        item {index}: {reason.splitlines()[0]}")
        if len(event.failures) > 20:
            self._write(f"        ... and {len(event.failures) - 20} more failed items")

    def _on_RunFinished(self, event: RunFinished) -> None:
        if event.status == "paused":
            self._write(f"run paused outside its calling window after {event.duration:.2f}s")
            return
        if event.error and event.status != "partial":
            self._write(f"run failed after {event.duration:.2f}s")
            return
        if self.dry_run:
            self._write("dry run done: nothing was sent")
            return
        if event.outputs and not self.quiet:
            self._write("outputs:")
            for name, value in event.outputs.items():
                self._write(f"  {name}: {_compact(value)}")
        if event.status == "partial":
            self._write(f"run done with failed items in {event.duration:.2f}s")
        else:
            self._write(f"run ok in {event.duration:.2f}s")


def _compact(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 300 else text[:297] + "..."
