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
    lines.append(f"{result.answers} answers checked: {breaking} breaking, {warnings} warning"
                 f"{'s' * (warnings != 1)}" if result.findings else
                 f"{result.answers} answers checked: they match the specs")
    return "\n".join(lines)


def check_json(result: CheckResult) -> str:
    return json.dumps({"answers": result.answers, "problem": result.problem,
                       "findings": [f.__dict__ for f in result.findings]},
                      ensure_ascii=False, indent=2)


def check_junit(result: CheckResult) -> str:
    endpoints = sorted({f.endpoint for f in result.findings})
    suite = ET.Element("testsuite", name="outbound check", tests=str(max(len(endpoints), 1)),
                       failures="0", errors="0")
    failures = 0
    for endpoint in endpoints:
        case = ET.SubElement(suite, "testcase", classname="outbound check", name=endpoint)
        mine = [f for f in result.findings if f.endpoint == endpoint]
        broken = [f for f in mine if f.severity == BREAKING]
        if broken:
            failures += 1
            failure = ET.SubElement(case, "failure", message=str(broken[0]), type="breaking")
            failure.text = "\n".join(str(f) for f in broken)
        rest = [f for f in mine if f.severity != BREAKING]
        if rest:
            ET.SubElement(case, "system-out").text = "\n".join(str(f) for f in rest)
    if not endpoints:
        ET.SubElement(suite, "testcase", classname="outbound check", name="specs match")
    suite.set("failures", str(failures))
    root = ET.Element("testsuites", name="outbound check")
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)
