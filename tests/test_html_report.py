"""The campaign report as a person sees it: rendered by headless Chromium, numbers checked in
the DOM the browser built, against the run's own JSON report."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from runner.window import EXIT_PAUSED
from tests.conftest import outbound

CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not "
                                    "installed (.ci/run installs it)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking"]


class Dom(HTMLParser):
    """The elements the checks read: chart bars, step rows, header fields, failures."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.bars: dict[str, dict[str, int]] = {}
        self.steps: dict[str, dict[str, int]] = {}
        self.fields: dict[str, str] = {}
        self.failures = 0
        self._figure = ""
        self._step = ""
        self._cell: tuple[str, str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "figure":
            self._figure = found.get("id", "")
        elif tag == "rect" and "data-value" in found:
            self.bars.setdefault(self._figure, {})[found["data-label"]] = int(found["data-value"])
        elif tag == "tr" and "data-step" in found:
            self._step = found["data-step"]
            self.steps[self._step] = {}
        elif tag == "td" and "data-count" in found:
            self._cell = ("step", found["data-count"])
        elif tag == "td" and "data-field" in found:
            self._cell = ("field", found["data-field"])
        elif tag == "details" and "failure" in found.get("class", ""):
            self.failures += 1

    def handle_data(self, data: str) -> None:
        if self._cell is None:
            return
        kind, name = self._cell
        if kind == "step":
            self.steps[self._step][name] = int(data)
        else:
            self.fields[name] = data
        self._cell = None


def _chromium(*args: str) -> str:
    assert CHROMIUM is not None
    done = subprocess.run([CHROMIUM, *FLAGS, *args], capture_output=True, text=True,
                          timeout=120, check=True)
    return done.stdout


BLOCKLISTED = """\
playbook_version: 1
name: a campaign with a few bad numbers
services:
  isales: {spec: huawei-isales}
inputs:
  count: {type: integer, default: 30}
steps:
  - id: reserve
    for_each: "{{ range(inputs.count) | list }}"
    as: n
    concurrency: 4
    max_failures: 5
    call: isales.appoint.create
    params: {vdnId: 8, taskId: "2201", callType: "2", userAccount: ops,
             calledNo: "{{ ('999' if n % 10 == 3 else '137') ~ '0000%04d' % n }}",
             appointTime: "{{ now_ms() + 1000 }}"}
    outputs: {id: "{{ values.appointId }}"}
  - id: results
    for_each: "{{ steps.reserve.outputs }}"
    as: reservation
    call: isales.callresult.detail
    params: {vdnId: 8, callId: "{{ reservation.id }}"}
    outputs: {fail_code: "{{ response.data.failCode }}"}
outputs:
  fail_codes: "{{ steps.results.outputs | map(attribute='fail_code') | list }}"
"""


@needs_chromium
def test_the_report_shows_the_runs_real_numbers(tmp_path: Path) -> None:
    playbook, report, page = tmp_path / "p.yaml", tmp_path / "r.json", tmp_path / "report.html"
    playbook.write_text(BLOCKLISTED)
    result = outbound("run", str(playbook), "--sim", "--report-json", str(report),
                      "--report-html", str(page))
    assert result.exit_code == 1  # partial: the blocklisted numbers failed
    expected = json.loads(report.read_text())
    shot = tmp_path / "shot.png"
    _chromium("--hide-scrollbars", "--window-size=1100,2400", f"--screenshot={shot}",
              page.as_uri())
    assert shot.stat().st_size > 20_000  # a real picture of a real page
    dom = Dom(_chromium("--dump-dom", page.as_uri()))

    assert dom.fields["status"] == "partial" and dom.fields["exit code"] == "1"
    for step in expected["steps"]:
        shown = dom.steps[step["id"]]
        assert (shown["calls"], shown["iterations"], shown["succeeded"], shown["failed"]) == (
            step["calls"], step["iterations"], step["succeeded"], step["failed"])
    creates = dom.bars["codes-huawei-isales-appoint-create"]
    assert creates == {"0200000 success": 27,
                       "04000003 the reserved number is blocklisted": 3}
    fail_codes: dict[str, int] = {}
    for code in expected["outputs"]["fail_codes"]:
        fail_codes[code] = fail_codes.get(code, 0) + 1
    shown_codes = {label.split()[0]: n for label, n in
                   dom.bars["facts-huawei-isales-callresult-detail-data-failCode"].items()}
    assert shown_codes == fail_codes
    assert "00604 call rejected" in dom.bars["facts-huawei-isales-callresult-detail-data-"
                                             "failCode"]
    assert dom.failures == 3


def test_the_report_says_why_a_run_failed_when_no_item_did(tmp_path: Path) -> None:
    playbook, page = tmp_path / "p.yaml", tmp_path / "report.html"
    playbook.write_text("playbook_version: 1\nname: outputs fail\nservices:\n"
                        "  crm: {spec: crm}\nsteps:\n"
                        "  - {id: tasks, call: crm.tasks.list, when: '{{ false }}',\n"
                        "     outputs: {first: '{{ response }}'}}\n"
                        "outputs:\n  first: '{{ steps.tasks.outputs.first }}'\n")
    result = outbound("run", str(playbook), "--sim", "--report-html", str(page))
    assert result.exit_code == 2  # a template that read no answer
    dom = Dom(page.read_text())
    assert dom.fields["status"] == "failed" and dom.failures == 0
    assert dom.fields["error"] == (
        f"{playbook}:9:10 (outputs.first): no output 'first': the step was skipped (its when "
        "was false); give a fallback with | default(...), or test the step's skipped in "
        "'{{ steps.tasks.outputs.first }}'")


def test_a_resumed_runs_report_tells_its_running_time_from_its_span(
        tmp_path: Path, own_journal: Path) -> None:
    playbook, page = tmp_path / "p.yaml", tmp_path / "report.html"
    playbook.write_text(BLOCKLISTED.replace("default: 30", "default: 6"))
    assert outbound("run", str(playbook), "--sim", "--max-creates", "2").exit_code == EXIT_PAUSED
    time.sleep(1.5)  # the night between two scheduled jobs
    assert outbound("run", str(playbook), "--sim", "--resume", "latest").exit_code == 1
    assert outbound("runs", "report", "latest", "--html", str(page)).exit_code == 0
    fields = Dom(page.read_text()).fields
    ran, attempts = re.fullmatch(r"([\d.]+) s over (\d) attempts", fields["ran"]).groups()
    assert attempts == "2" and float(ran) <= float(fields["duration"].split()[0]) - 1.5 + 0.1
    assert "ran" not in Dom(_report_of_one_attempt(playbook, tmp_path)).fields


def _report_of_one_attempt(playbook: Path, tmp_path: Path) -> str:
    page = tmp_path / "once.html"
    outbound("run", str(playbook), "--sim", "--report-html", str(page))
    return page.read_text()


def test_a_report_holds_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token = "s3cret/t0ken+x=="
    monkeypatch.setenv("NOTE_TOKEN", token)
    playbook, page = tmp_path / "p.yaml", tmp_path / "report.html"
    with_secret = "userAccount: ops, remark: \"{{ secret('NOTE_TOKEN') }}\","
    playbook.write_text(BLOCKLISTED.replace("userAccount: ops,", with_secret)
                        .replace("default: 30", "default: 4"))
    result = outbound("run", str(playbook), "--sim", "--report-html", str(page))
    assert result.exit_code == 1  # one blocklisted number
    text = page.read_text()
    assert "[redacted]" in text
    import base64
    from urllib.parse import quote

    for form in (token, quote(token, safe=""), base64.b64encode(token.encode()).decode()):
        assert form not in text


def test_runs_report_merges_the_shards_of_a_run(tmp_path: Path, own_journal: Path) -> None:
    playbook = tmp_path / "p.yaml"
    playbook.write_text(BLOCKLISTED.replace("default: 30", "default: 12"))
    ids, journals = [], []
    for shard in ("1/2", "2/2"):
        result = outbound("run", str(playbook), "--sim", "--shard", shard)
        ids.append(next(line.split()[1] for line in result.stdout.splitlines()
                        if line.startswith("run ")))
        journals += ["--journal", str(own_journal.with_name(
            f"journal.shard-{shard[0]}-of-2.sqlite"))]
    page = tmp_path / "merged.html"
    result = outbound("runs", "report", *ids, "--html", str(page), *journals)
    assert result.exit_code == 0, result.output
    dom = Dom(page.read_text())
    assert dom.steps["reserve"]["iterations"] == 12
    assert "shard 1/2" in dom.fields["run"] and "shard 2/2" in dom.fields["run"]
    newest = tmp_path / "latest.html"  # `latest`: the newest run of each journal
    assert outbound("runs", "report", "latest", "--html", str(newest), *journals).exit_code == 0
    assert Dom(newest.read_text()).steps == dom.steps


def test_the_shards_of_a_resumed_run_ran_as_long_as_the_longest() -> None:
    """Shards run side by side: the merged page's Ran is the longest one's time, not their
    sum, which could exceed its Duration."""
    from runner.reporting.html import RunData, render

    def shard(k: int, ran: float) -> dict[str, Any]:
        return {"run_id": f"r{k}", "playbook": "p", "file": "p.yaml", "inputs": {},
                "shard": f"{k}/2", "started_at": 1000.0, "finished_at": 50_000.0,
                "status": "ok", "exit_code": 0, "outputs": {}, "error": None, "resumed": 1,
                "ran_s": ran, "steps": [], "failures": [], "left_out": [], "unknown_writes": [],
                "calls": {}}

    fields = Dom(render(RunData([shard(1, 30.0), shard(2, 42.5)], [], {}))).fields
    assert fields["duration"] == "49000.0 s"
    assert fields["ran"] == "42.5 s, the longest of its 2 runs over their attempts"


def test_a_hundred_thousand_calls_make_a_small_page() -> None:
    from runner.reporting.html import RunData, render

    calls = [{"step": "reserve", "iteration": i, "endpoint": "huawei-isales.appoint.create",
              "params": {}, "sent_at": 1000.0 + i / 100, "finished_at": 1000.01 + i / 100,
              "status": 200, "result_code": "0200000" if i % 50 else "04000003",
              "outcome": "ok" if i % 50 else "failed", "duration": 0.01, "error": None,
              "facts": None, "response": None} for i in range(100_000)]
    run = {"run_id": "r", "playbook": "big", "file": "big.yaml", "inputs": {}, "shard": None,
           "started_at": 1000.0, "finished_at": 2000.0, "status": "partial", "exit_code": 1,
           "outputs": {}, "error": None, "resumed": 0,
           "steps": [{"step": "reserve", "status": "ok", "calls": 100_000,
                      "iterations": 100_000, "succeeded": 98_000, "skipped": 0,
                      "failed": 2000, "retries": 0, "duration": 1000.0, "error": None}],
           "failures": [{"step": "reserve", "iteration": i, "reason": "blocklisted"}
                        for i in range(0, 100_000, 50)],
           "left_out": [], "unknown_writes": [], "calls": {}}
    page = render(RunData([run], calls, {}))
    assert len(page) < 300_000  # successes aggregated, 200 failures listed, the rest counted
    assert "... and 1800 more failed items" in page
    dom = Dom(page)
    assert dom.bars["codes-huawei-isales-appoint-create"] == {"0200000": 98_000,
                                                              "04000003": 2000}


def test_every_chart_has_its_numbers_as_a_table_for_screen_readers(tmp_path: Path) -> None:
    playbook, page = tmp_path / "p.yaml", tmp_path / "report.html"
    playbook.write_text(BLOCKLISTED.replace("default: 30", "default: 6"))
    outbound("run", str(playbook), "--sim", "--report-html", str(page))
    text = page.read_text()
    charts = text.count('<svg role="img"')
    assert charts >= 5
    assert text.count('aria-describedby="') == charts
    assert text.count('<table class="numbers sr-only"') == charts


def test_the_report_lists_each_write_of_unknown_outcome_with_why(tmp_path: Path) -> None:
    """What its operator settles it by where --resume cannot look it up: which item, why no
    answer is known, and the request as sent."""
    from runner.journal import Journal

    journal_path, page = tmp_path / "journal.sqlite", tmp_path / "report.html"
    journal = Journal(journal_path)
    journal.begin("run-1", "reserve", "p.yaml", "-", {}, None)
    for n in range(2):
        sent = journal.intent("reserve", n, "huawei-isales.appoint.create", "create",
                              {"calledNo": f"1370000000{n}"}, write=True)
        if n == 0:
            journal.outcome(sent, status=None, result_code=None, outcome="unknown",
                            duration=3.0, error="huawei-isales.appoint.create: no answer "
                            "within the read timeout (3s)")
    journal.close()  # the second with no outcome, as a kill leaves it
    reported = outbound("runs", "report", "run-1", "--html", str(page), "--journal",
                        str(journal_path))
    assert reported.exit_code == 0, reported.output
    text = page.read_text(encoding="utf-8")
    assert "<h2>Outcome unknown (2)</h2>" in text
    assert re.findall(r'<details class="unknown"><summary><strong>(.*?)</strong> (.*?): '
                      r"(.*?)</summary><h4>Request</h4><pre>(.*?)</pre>", text, re.DOTALL) == [
        ("reserve[0]", "huawei-isales.appoint.create", "no answer within the read timeout (3s)",
         '{\n  &quot;calledNo&quot;: &quot;13700000000&quot;\n}'),
        ("reserve[1]", "huawei-isales.appoint.create",
         "no outcome recorded: the run was killed (or crashed) with it out",
         '{\n  &quot;calledNo&quot;: &quot;13700000001&quot;\n}')]
    assert "<code>outbound runs resolve run-1 STEP[ITERATION]</code>" in text
