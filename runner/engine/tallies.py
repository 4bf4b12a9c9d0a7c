"""How a run's steps add up: `steps.<id>` of a for_each over the iterations that ran, the
error that names the failed items (the first few: the journal and reports keep every one),
and the run's result."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from runner.engine.events import StepFinished
from runner.errors import ITEM_REASON, Finding, Location, OutboundError, RunError
from runner.playbook import Step


@dataclass
class RunResult:
    """How a run ended: status, outputs, error and each step's counts."""

    status: str
    outputs: dict[str, Any] = field(default_factory=dict)
    error: OutboundError | None = None
    steps: dict[str, StepFinished] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return 0 if self.error is None else self.error.exit_code

    @property
    def failed_items(self) -> list[tuple[str, int | None, str]]:
        return [(step, index, reason) for step, finished in self.steps.items()
                for index, reason in finished.failures]


def collected(records: list[dict[str, Any]]) -> dict[str, Any]:
    """`steps.<id>` of a for_each step: lists over the iterations that ran."""
    return {
        "outputs": [r["outputs"] for r in records],
        "response": [r.get("response") for r in records],
        "values": [r.get("values", {}) for r in records],
        "items": [item for r in records for item in r.get("items", [])],
        "iterations": len(records),
    }


def stopped_error(step: Step, failures: list[OutboundError], started: int,
                  total: int | None, run_id: str) -> OutboundError:
    """The error of a for_each step that stopped: its failed items, each with its reason."""
    if len(failures) == 1 and step.max_failures == 0:
        return failures[0]
    first = failures[0]
    limit = f"{-step.max_failures:.0%}" if step.max_failures < 0 else f"{step.max_failures:g}"
    of = f" of {total}" if total is not None else f" of the {started} started"
    head = Finding(Location(), f"{len(failures)} items{of} failed, more than max_failures "
                               f"({limit}); no new item was started:")
    return type(first)([head, *first_failures([str(error) for error in failures], run_id)])


def tolerated_error(finished: Iterable[StepFinished], run_id: str) -> RunError | None:
    """What makes a run that went on past failed items (max_failures) no success."""
    reasons = [f"  step {s.step}: {why}" for s in finished for _, why in s.failures]
    if not reasons:
        return None
    head = Finding(Location(), f"{len(reasons)} item{'s' * (len(reasons) != 1)} failed "
                               "within max_failures:")
    return RunError([head, *first_failures(reasons, run_id)])


LISTED_FAILURES = 10  # an error names this many reasons; the journal and reports keep all
ITERATIONS_NAMED = 5  # of items failed for one reason, the iterations an error names
_ITERATION = re.compile(r"(?P<lead>\s*(?:step \S+: )?)" + ITEM_REASON.pattern, re.DOTALL)


def first_failures(reasons: list[str], run_id: str) -> list[Finding]:
    """The failed items' reasons, those of items that failed alike told once (a campaign's
    500 blocklisted numbers are one line), the first few; and how many more there are and
    where they are."""
    groups: dict[tuple[str, str], list[str]] = {}  # (lead, reason) -> the iterations
    keys: dict[tuple[str, str], str] = {}  # ` (key 12347)` by (lead, iteration), if keyed
    for number, reason in enumerate(reasons):
        alike = _ITERATION.fullmatch(reason)
        if alike is None:  # not an item's: told as it is
            groups[(reason, f"#{number}")] = []
        else:
            groups.setdefault((alike["lead"], alike["why"]), []).append(alike["index"])
            keys[(alike["lead"], alike["index"])] = \
                f" (key {alike['key']})" if alike["key"] is not None else ""
    listed = []
    for (lead, why), indexes in groups.items():
        if len(indexes) <= 1:  # one item: named with its key; several: by iteration
            listed.append(f"{lead}iteration {indexes[0]}{keys[(lead, indexes[0])]}: {why}"
                          if indexes else lead)
            continue
        named = ", ".join(indexes[:ITERATIONS_NAMED]) + (
            ", ..." if len(indexes) > ITERATIONS_NAMED else "")
        listed.append(f"{lead}{len(indexes)} items (iterations {named}): {why}")
    findings = [Finding(Location(), line) for line in listed[:LISTED_FAILURES]]
    more = sum(len(indexes) or 1 for indexes in list(groups.values())[LISTED_FAILURES:])
    every = f"outbound runs show {run_id} lists every one" if run_id else ""
    if more > 0:
        findings.append(Finding(Location(), f"  ... and {more} more"
                                + (f" ({every})" if every else "")))
    elif every and any(len(indexes) > ITERATIONS_NAMED for indexes in groups.values()):
        findings.append(Finding(Location(), f"  {every}"))
    return findings
