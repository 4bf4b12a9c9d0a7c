"""`--report-junit FILE`: the run as JUnit XML, for GitLab, Jenkins and the like.

One <testsuite> per run (the playbook); one <testcase> per step, failed or skipped as the step
was (a paused one is skipped: not done yet); and one <testcase> per failed item of a
`for_each`, named `step[index]`, with its reason.
"""

from __future__ import annotations

import socket
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from runner.engine.events import Event, RunFinished, RunStarted, StepFinished
from runner.errors import key_in


class JUnitReport:
    """Collects events; `write()` saves the XML."""

    def __init__(self) -> None:
        self.name = "outbound run"
        self.run_id = ""
        self.started = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        self.steps: list[StepFinished] = []
        self.duration = 0.0
        self.error: str | None = None
        self.status = ""

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.name, self.run_id = event.playbook, event.run_id
        elif isinstance(event, StepFinished):
            self.steps.append(event)
        elif isinstance(event, RunFinished):
            self.duration, self.error, self.status = event.duration, event.error, event.status

    def document(self) -> ET.ElementTree:
        cases = [case for step in self.steps for case in self._cases_of(step)]
        if self.status == "interrupted":  # the rest never ran: an error, not a failure
            case = ET.Element("testcase", classname=self.name, name="run",
                              time=f"{self.duration:.3f}")
            ET.SubElement(case, "error", message=self.error or "interrupted",
                          type="interrupted").text = "the run was stopped before its end; " \
                "outbound run ... --resume RUN_ID continues it"
            cases.append(case)
        elif self.status == "failed" and self.error and not any(
                c.find("failure") is not None for c in cases):
            # it failed outside every step (its outputs): CI must not read it as green
            case = ET.Element("testcase", classname=self.name, name="run",
                              time=f"{self.duration:.3f}")
            _failure(case, self.error)
            cases.append(case)
        failures = sum(1 for c in cases if c.find("failure") is not None)
        errors = sum(1 for c in cases if c.find("error") is not None)
        skipped = sum(1 for c in cases if c.find("skipped") is not None)
        suite = ET.Element("testsuite", name=self.name, tests=str(len(cases)),
                           failures=str(failures), errors=str(errors), skipped=str(skipped),
                           time=f"{self.duration:.3f}", timestamp=self.started,
                           hostname=socket.gethostname())
        if self.run_id:
            properties = ET.SubElement(suite, "properties")
            ET.SubElement(properties, "property", name="run_id", value=self.run_id)
        suite.extend(cases)
        if self.error and self.status not in ("interrupted", "failed"):  # paused: not a failure
            ET.SubElement(suite, "system-err").text = self.error
        root = ET.Element("testsuites", name="outbound", tests=str(len(cases)),
                          failures=str(failures), errors=str(errors),
                          time=f"{self.duration:.3f}")
        root.append(suite)
        ET.indent(root)
        return ET.ElementTree(root)

    def _cases_of(self, step: StepFinished) -> list[ET.Element]:
        """The step's test case, and one per failed item of its for_each."""
        case = ET.Element("testcase", classname=self.name, name=step.step,
                          time=f"{step.duration:.3f}")
        if step.status == "failed":
            _failure(case, step.error or "failed")
        elif step.status == "skipped":
            ET.SubElement(case, "skipped", message=_why_skipped(step))
        elif step.status == "paused":  # not done, nor failed: the next job's --resume goes on
            ET.SubElement(case, "skipped", message=f"paused: {step.error or 'not finished'}")
        elif step.status == "interrupted":  # cut short: an error, not a failure
            ET.SubElement(case, "error", message="stopped before the step's end",
                          type="interrupted")
        cases = [case]
        for items, told in ((step.failures, _failure), (step.left_out, _left_out)):
            for index, reason in items:
                if index is None:  # a step without for_each: its own test case has it
                    continue
                key = key_in(reason)  # the item as its operator finds it at the vendor
                named = f"{step.step}[{index}]" + (f" (key {key})" if key is not None else "")
                item = ET.Element("testcase", classname=f"{self.name}.{step.step}",
                                  name=named, time="0.000")
                told(item, reason)
                cases.append(item)
        return cases

    def write(self, path: str | Path) -> None:
        self.document().write(path, encoding="UTF-8", xml_declaration=True)


def junit_of(report: dict[str, Any]) -> JUnitReport:
    """The JUnit report of a JSON report's document (schemas/report.schema.json): of shards'
    reports merged, or of a run drawn from its journal."""
    junit = JUnitReport()
    junit(RunStarted(report["playbook"], report["file"], report["inputs"], False, False,
                     report["run_id"]))
    for step in report["steps"]:
        junit(StepFinished(step["id"], step["status"], step["calls"], step["iterations"],
                           step["succeeded"], step["skipped"], step["failed"],
                           step["duration_s"], step["error"], step["retries"],
                           tuple((f["iteration"], f["reason"]) for f in step["failures"]),
                           tuple((f["iteration"], f["reason"])  # not in reports before it was
                                 for f in step.get("left_out", []))))
    junit(RunFinished(report["status"], report["duration_s"], error=report["error"]))
    return junit


def _why_skipped(step: StepFinished) -> str:
    """Why a step was skipped as a whole: its `when`, or `runs resolve --skip`."""
    whole = next((why for index, why in step.left_out if index is None), None)
    if whole is not None:  # a step without for_each, left out
        return whole
    by_hand = len(step.left_out)
    if not by_hand:
        return "every item was skipped (when)"
    if by_hand == step.skipped:
        return "every item was left out by hand (runs resolve --skip)"
    return (f"every item was skipped: {step.skipped - by_hand} by when, {by_hand} left out "
            "by hand (runs resolve --skip)")


def _left_out(case: ET.Element, reason: str) -> None:
    ET.SubElement(case, "skipped", message=reason)


def _failure(case: ET.Element, reason: str) -> None:
    failure = ET.SubElement(case, "failure", message=reason.splitlines()[0][:500],
                            type="failure")
    failure.text = reason
