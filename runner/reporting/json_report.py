"""`--report-json FILE`: the run's result for machines (documented in the README)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from runner.engine.events import (
    CallFinished,
    Event,
    PlannedRequest,
    RunFinished,
    RunStarted,
    StepFinished,
    Warned,
)
from runner.errors import key_in

REPORT_VERSION = 1


class JsonReport:
    """Collects events; `write()` saves the report."""

    def __init__(self) -> None:
        self.document: dict[str, Any] = {"report_version": REPORT_VERSION, "steps": [],
                                         "warnings": []}
        self.results: dict[str, dict[str, int]] = {}

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.document.update(run_id=event.run_id or None, resumed=event.resumed,
                                 shard=event.shard,
                                 playbook=event.playbook, file=event.file,
                                 inputs=dict(event.inputs), dry_run=event.dry_run,
                                 simulated=event.simulated,
                                 started_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
            if event.dry_run:
                self.document["planned"] = []
        elif isinstance(event, PlannedRequest):
            self.document.setdefault("planned", []).append({
                "step": event.step, "iteration": event.iteration, "endpoint": event.endpoint,
                "kind": event.kind, "method": event.method, "url": event.url,
                "body": dict(event.body) if event.body is not None else None})
        elif isinstance(event, CallFinished):
            codes = self.results.setdefault(event.step, {})
            key = answer_name(event.result_code, event.status)
            codes[key] = codes.get(key, 0) + 1
        elif isinstance(event, StepFinished):
            self.document["steps"].append({
                "id": event.step, "status": event.status, "calls": event.calls,
                "iterations": event.iterations, "succeeded": event.succeeded,
                "skipped": event.skipped, "failed": event.failed,
                "duration_s": round(event.duration, 4), "error": event.error,
                "retries": event.retries, "result_codes": self.results.get(event.step, {}),
                "failures": told(event.failures), "left_out": told(event.left_out),
            })
        elif isinstance(event, Warned):
            self.document["warnings"].append({"step": event.step, "message": event.message})
        elif isinstance(event, RunFinished):
            self.document.update(status=event.status, duration_s=round(event.duration, 4),
                                 outputs=dict(event.outputs), error=event.error)

    def write(self, path: str | Path, exit_code: int) -> None:
        self.document["exit_code"] = exit_code
        Path(path).write_text(report_text(self.document), encoding="utf-8")


def told(items: Iterable[tuple[int | None, str]]) -> list[dict[str, Any]]:
    """Failed items (or items left out by hand) as a step's `failures` (`left_out`) list
    them: iteration, key, reason."""
    return [{"iteration": index, "key": key_in(reason), "reason": reason}
            for index, reason in items]


def answer_name(result_code: str | None, status: int | None) -> str:
    """How a step's `result_codes` name an answer: its result code, else its HTTP status."""
    return result_code or (f"HTTP {status}" if status else "no answer")


def report_text(document: dict[str, Any]) -> str:
    """A JSON report's document as its file holds it."""
    return json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n"
