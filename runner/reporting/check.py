"""Renderings of `outbound check`: text, JSON, JUnit."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from runner.contract.check import CheckResult
from runner.contract.drift import BREAKING


def check_text(result: CheckResult) -> str:
    lines = [str(finding) for finding in result.findings]
    breaking = sum(f.severity == BREAKING for f in result.findings)
    warnings = len(result.findings) - breaking
    if result.problem:
        lines.append(f"the probe did not run through: {result.problem}")
    if result.not_reached:
        lines.append(f"not checked: step{'s' * (len(result.not_reached) != 1)} "
                     f"{', '.join(result.not_reached)} (the probe stopped before them)")
    if result.not_compared:
        lines.append(_not_compared(result.not_compared))
    lines.append(f"{result.answers} answers checked: {breaking} breaking, {warnings} warning"
                 f"{'s' * (warnings != 1)}" if result.findings else
                 f"{result.answers} answers checked: they match the specs")
    return "\n".join(lines)


def _not_compared(errors: list[tuple[str, int]]) -> str:
    statuses: dict[str, list[str]] = {}
    for endpoint, status in errors:
        statuses.setdefault(endpoint, []).append(str(status))
    listed = "; ".join(f"{endpoint}: {', '.join(codes)}" for endpoint, codes in statuses.items())
    were = "answer was an HTTP error" if len(errors) == 1 else "answers were HTTP errors"
    return f"not compared: {len(errors)} {were}, not the endpoint's answer ({listed})"


def check_json(result: CheckResult) -> str:
    return json.dumps({"answers": result.answers, "problem": result.problem,
                       "findings": [f.__dict__ for f in result.findings],
                       "not_reached": result.not_reached,
                       "not_compared": [{"endpoint": endpoint, "status": status}
                                        for endpoint, status in result.not_compared]},
                      ensure_ascii=False, indent=2)


def check_junit(result: CheckResult, fail_on: str = BREAKING) -> str:
    """A test case per endpoint that answered (failing on a breaking finding, or on any with
    --fail-on warning), an errored one when the probe could not run through, and a skipped one
    per step it stopped before."""
    suite = ET.Element("testsuite", name="outbound check")
    failures = errors = 0
    for endpoint in sorted({*result.endpoints, *(f.endpoint for f in result.findings)}):
        case = ET.SubElement(suite, "testcase", classname="outbound check", name=endpoint)
        mine = [f for f in result.findings if f.endpoint == endpoint]
        failing = [f for f in mine if f.severity == BREAKING or fail_on == "warning"]
        if failing:
            failures += 1
            failure = ET.SubElement(case, "failure", message=str(failing[0]),
                                    type=failing[0].severity)
            failure.text = "\n".join(str(f) for f in failing)
        rest = [f for f in mine if f not in failing]
        if rest:
            ET.SubElement(case, "system-out").text = "\n".join(str(f) for f in rest)
    if result.problem:
        errors += 1
        case = ET.SubElement(suite, "testcase", classname="outbound check", name="probe")
        error = ET.SubElement(case, "error", message="the probe did not run through",
                              type="problem")
        error.text = result.problem
    for step in result.not_reached:
        case = ET.SubElement(suite, "testcase", classname="outbound check", name=f"step {step}")
        ET.SubElement(case, "skipped", message="not reached: the probe stopped before it")
    suite.set("tests", str(len(suite)))
    suite.set("skipped", str(len(result.not_reached)))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    root = ET.Element("testsuites", name="outbound check")
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)
