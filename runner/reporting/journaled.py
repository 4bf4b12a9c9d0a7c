"""The reports of a run that had finished before this command: a scheduled job that finds its
campaign done (`run --resume`: nothing to do) still leaves the --report-json, --report-junit
and --report-html files its CI reads, drawn from the journal."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from runner.journal import Journal
from runner.outfiles import write_out
from runner.reporting.json_report import REPORT_VERSION, answer_name, report_text
from runner.reporting.junit import junit_of


def journaled_report(journal: Journal, run_id: str) -> dict[str, Any]:
    """The JSON report (schemas/report.schema.json) of run `run_id` as its journal has it:
    each step's counts over every attempt, its failed items, and the warnings of the attempts
    that ended (a killed one's are lost with it)."""
    run = journal.run(run_id)
    codes: dict[str, dict[str, int]] = {}
    for step, code, status, calls in journal.answers(run_id):
        named, name = codes.setdefault(step, {}), answer_name(code, status)
        named[name] = named.get(name, 0) + calls
    failures: dict[str, list[dict[str, Any]]] = {}
    left_out: dict[str, list[dict[str, Any]]] = {}
    for items, by_step in ((run["failures"], failures), (run["left_out"], left_out)):
        for item in items:
            by_step.setdefault(item["step"], []).append(
                {"iteration": item["iteration"], "key": item["key"], "reason": item["reason"]})
    return {
        "report_version": REPORT_VERSION, "run_id": run_id, "resumed": bool(run["resumed"]),
        "shard": run["shard"], "playbook": run["playbook"], "file": run["file"],
        "inputs": run["inputs"], "dry_run": False,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(run["started_at"])),
        "status": run["status"], "exit_code": run["exit_code"],
        "duration_s": round(run["ran_s"] if run["ran_s"] is not None else
                            (run["finished_at"] or run["started_at"]) - run["started_at"], 4),
        "outputs": run["outputs"], "error": run["error"], "warnings": run["warnings"],
        "steps": [{"id": step["step"], "status": step["status"], "calls": step["calls"],
                   "iterations": step["iterations"], "succeeded": step["succeeded"],
                   "skipped": step["skipped"], "failed": step["failed"],
                   "duration_s": round(step["duration"], 4), "error": step["error"],
                   "retries": step["retries"], "result_codes": codes.get(step["step"], {}),
                   "failures": failures.get(step["step"], []),
                   "left_out": left_out.get(step["step"], [])} for step in run["steps"]],
    }


def write_journaled_reports(journal: Journal, run_id: str, *, report_json: Path | None,
                            report_junit: Path | None, report_html: Path | None) -> None:
    """The reports asked for, of run `run_id` as its journal has it."""
    after = f"run {run_id} had finished before, and its journal has it"
    report = journaled_report(journal, run_id) if report_json or report_junit else {}
    if report_json:
        write_out("--report-json", report_json,
                  lambda path: path.write_text(report_text(report), encoding="utf-8"),
                  after_run=after)
    if report_junit:
        write_out("--report-junit", report_junit, junit_of(report).write, after_run=after)
    if report_html:
        from runner.reporting import html as html_report

        page = html_report.render(html_report.load([journal], [run_id]))
        write_out("--report-html", report_html,
                  lambda path: path.write_text(page, encoding="utf-8"), after_run=after)
