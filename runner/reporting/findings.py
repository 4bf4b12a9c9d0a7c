"""Renderings of `outbound validate` results."""

from __future__ import annotations

import json
from typing import Any

from runner.errors import Finding, format_json_path
from runner.filecheck import CheckReport


def findings_text(report: CheckReport) -> str:
    if not report.results:  # the default folders, not there (a path named is a finding)
        return ("nothing to check: no .yaml files in specs/ or playbooks/ here; name the files "
                "or folders to check (outbound validate PATH ...)")
    lines = [str(finding) for finding in report.findings]
    files = len(report.results)
    bad = sum(1 for r in report.results if r.findings)
    if report.ok:
        lines.append(f"{files} file{'s' * (files != 1)} checked, all valid")
    else:
        problems = len(report.findings)
        lines.append(f"{problems} problem{'s' * (problems != 1)} in {bad} of {files} "
                     f"file{'s' * (files != 1)}")
    return "\n".join(lines)


def findings_json(report: CheckReport) -> str:
    document = {
        "valid": report.ok,
        "files": [{"file": r.file, "kind": r.kind, "valid": not r.findings}
                  for r in report.results],
        "findings": [_finding(f) for f in report.findings],
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


def _finding(finding: Finding) -> dict[str, Any]:
    location = finding.location
    return {
        "file": location.file,
        "line": location.line,
        "column": location.column,
        "path": format_json_path(location.path) if location.path else None,
        "message": finding.message,
    }
