"""`outbound runs merge`: the JSON reports of a sharded run's jobs, as one."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runner.errors import FileError, Finding, Location
from runner.outfiles import write_out
from runner.reporting.json_report import report_text
from runner.reporting.junit import junit_of
from runner.validation import file_schema

_WORST = {"ok": 0, "paused": 1, "partial": 2, "interrupted": 3, "failed": 4}


def merge_reports(paths: Sequence[Path], out: Path, junit: Path | None = None) -> dict[str, Any]:
    reports = [_read(path) for path in paths]
    _check_one_campaign(paths, reports)
    first = reports[0]
    steps: dict[str, dict[str, Any]] = {}
    for report in reports:
        for step in report["steps"]:
            steps.setdefault(step["id"], _empty(step["id"]))
            _add(steps[step["id"]], step)
    merged = {
        "report_version": 1, "run_id": ",".join(r["run_id"] or "-" for r in reports),
        "merged_from": [r["run_id"] or "-" for r in reports], "resumed": False,
        "shard": ",".join(r.get("shard") or "-" for r in reports),
        "playbook": first["playbook"], "file": first["file"], "inputs": first["inputs"],
        "dry_run": any(r.get("dry_run") for r in reports),
        "simulated": all(r.get("simulated") for r in reports),
        "started_at": min(r.get("started_at", "") for r in reports),
        "status": max((r["status"] for r in reports), key=_WORST.__getitem__),
        "exit_code": max(r["exit_code"] for r in reports),
        "duration_s": max(r["duration_s"] for r in reports),
        "outputs": {r.get("shard") or str(i): r["outputs"] for i, r in enumerate(reports)},
        "error": "\n".join(r["error"] for r in reports if r["error"]) or None,
        "warnings": [w for r in reports for w in r["warnings"]],
        "steps": list(steps.values()),
    }
    text = report_text(merged)
    write_out("--report-json", out, lambda path: path.write_text(text, encoding="utf-8"))
    if junit is not None:
        write_out("--report-junit", junit, junit_of(merged).write)
    return merged


def _check_one_campaign(paths: Sequence[Path], reports: Sequence[dict[str, Any]]) -> None:
    """The reports are of one playbook, and no run or shard comes twice (its counts would)."""
    problems = []
    first = reports[0]
    seen: dict[tuple[str, str], Path] = {}
    for path, report in zip(paths, reports, strict=True):
        if report["playbook"] != first["playbook"]:
            problems.append(Finding(Location(str(path)), (
                f"a report of playbook {report['playbook']!r}, not {first['playbook']!r} "
                f"({paths[0]}): only the shards of one run merge")))
        keys = [("run", report["run_id"]), ("shard", report.get("shard"))]
        twice = next(((kind, key) for kind, key in keys if key and (kind, key) in seen), None)
        if twice is not None:
            problems.append(Finding(Location(str(path)), (
                f"{twice[0]} {twice[1]} is in {seen[twice]} already: merged twice, it would "
                "count twice")))
        seen.update({(kind, key): path for kind, key in keys if key and (kind, key) not in seen})
    if problems:
        raise FileError(problems)


def _read(path: Path) -> dict[str, Any]:
    try:
        report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FileError([Finding(Location(str(path)), f"not a JSON report ({exc})")]) from None
    if not isinstance(report, dict) or "report_version" not in report:  # another JSON file
        raise FileError([Finding(Location(str(path)), (
            "not a report written by --report-json (it has no report_version); runs merge "
            "takes the shards' JSON reports"))])
    issues = file_schema("report").issues(report)
    if issues:
        raise FileError([Finding(Location(str(path), path=i.path), i.message) for i in issues])
    return report


def _empty(step_id: str) -> dict[str, Any]:
    return {"id": step_id, "status": "skipped", "calls": 0, "iterations": 0, "succeeded": 0,
            "skipped": 0, "failed": 0, "duration_s": 0.0, "error": None, "retries": 0,
            "result_codes": {}, "failures": [], "left_out": []}


def _add(total: dict[str, Any], step: dict[str, Any]) -> None:
    for key in ("calls", "iterations", "succeeded", "skipped", "failed", "retries"):
        total[key] += step[key]
    total["duration_s"] = max(total["duration_s"], step["duration_s"])
    ranks = {"skipped": 0, "ok": 1, "paused": 2, "partial": 3, "interrupted": 4, "failed": 5}
    total["status"] = max(total["status"], step["status"], key=ranks.__getitem__)
    if step["error"]:
        total["error"] = "\n".join(filter(None, [total["error"], step["error"]]))
    for code, count in step["result_codes"].items():
        total["result_codes"][code] = total["result_codes"].get(code, 0) + count
    for listed in ("failures", "left_out"):  # left_out: not in reports before it was
        total[listed] = sorted(total[listed] + step.get(listed, []),
                               key=lambda f: (f["iteration"] is None, f["iteration"] or 0))
