"""`outbound runs report RUN_ID --html FILE`: a campaign's report as one self-contained page.

Built from the journal. Inline CSS and SVG only: it opens with no network, from a CI artifact
or an e-mail. Every chart has its numbers as a table beside it (for screen readers, and for
anyone who wants the figures), reads in light and dark surroundings, and prints. Successes
are aggregated, never listed, so a 100,000-call run gives a page that still opens at once.
"""

from __future__ import annotations

import html
import json
import statistics
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runner.catalog import all_specs
from runner.errors import InputError
from runner.journal import Journal
from runner.reporting.charts import bar_chart, figure, line_chart, timeline, timeline_rows
from runner.reporting.runs import inputs_text, item_name, why_left_out
from runner.secrets import REDACTOR

MAX_FAILURES = 200  # listed in full; the rest are counted
RESULT_CODE = "result code"  # the meanings key of an endpoint's result codes
BUCKETS = 40  # points on the time charts
_STATUS_RANK = {"ok": 0, "paused": 1, "partial": 2, "running": 3, "interrupted": 3,
                "killed": 3, "failed": 4}


@dataclass(frozen=True)
class RunData:
    """What the report needs of one run (or of the shards of one run, merged)."""

    runs: Sequence[Mapping[str, Any]]
    calls: Sequence[Mapping[str, Any]]
    meanings: Mapping[tuple[str, str], Mapping[str, str]]  # (endpoint, field) -> meanings


def load(journals: Sequence[Journal], run_ids: Sequence[str]) -> RunData:
    """The runs `run_ids` (shards of one run, or one run), each found in one of `journals`."""
    runs: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    for run_id in run_ids:
        journal = next((j for j in journals if j.has_run(run_id)), None)
        if journal is None:
            raise InputError.plain(f"no journal given has the run {run_id!r} (journals: "
                                   + ", ".join(str(j.path) for j in journals) + ")")
        runs.append(journal.run(run_id))
        calls.extend(journal.calls(run_id))
    endpoints = [e for spec in all_specs().values() for e in spec.endpoints.values()]
    meanings = {(endpoint.qualified_name, name): dict(enumerated[1])
                for endpoint in endpoints for name, enumerated in endpoint.enumerated.items()}
    meanings.update({(endpoint.qualified_name, RESULT_CODE): {
        code: entry.meaning for code, entry in endpoint.result_codes.items()}
        for endpoint in endpoints})
    return RunData(runs, calls, meanings)


def render(data: RunData) -> str:
    sections = [_header(data), _steps(data), _over_time(data), _result_codes(data),
                _facts(data), _failures(data), _unknown_writes(data), _left_out(data)]
    title = html.escape(f"{data.runs[0]['playbook']}: run report")
    page = (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{title}</title><style>{_CSS}</style></head><body><main>"
            + "".join(sections) + "</main></body></html>\n")
    return REDACTOR.text(page)


# ------------------------------------------------------------------ sections


def _header(data: RunData) -> str:
    first = data.runs[0]
    started = min(r["started_at"] for r in data.runs)
    finished = [r["finished_at"] for r in data.runs if r["finished_at"]]
    end = max(finished) if len(finished) == len(data.runs) else None
    status = max((r["status"] for r in data.runs), key=lambda s: _STATUS_RANK.get(s, 3))
    exits = sorted({str(r["exit_code"]) for r in data.runs if r["exit_code"] is not None})
    errors = "\n".join(r["error"] for r in data.runs if r.get("error"))
    rows = [("Playbook", f"{first['playbook']} ({first['file']})"),
            ("Run", ", ".join(f"{r['run_id']}" + (f" (shard {r['shard']})" if r["shard"]
                                                 else "") for r in data.runs)),
            ("Started", _when(started)), ("Finished", _when(end) if end else "not finished"),
            ("Duration", f"{end - started:.1f} s" if end else "-"), *_ran(data),
            ("Status", status), ("Exit code", ", ".join(exits) or "-"),
            *([("Error", errors)] if errors else []),  # also what no failed item tells
            ("Calls", str(len(data.calls))),
            ("Inputs", inputs_text(first["inputs"]))]
    status_class = f' class="status-{html.escape(status)}"'
    cells = "".join(f"<tr><th scope=\"row\">{html.escape(k)}</th><td"
                    f"{status_class if k == 'Status' else ''}"
                    f" data-field=\"{html.escape(k.lower())}\">{html.escape(v)}</td></tr>"
                    for k, v in rows)
    return (f"<header><h1>{html.escape(first['playbook'])}</h1>"
            f"<table class=\"facts\" id=\"run\">{cells}</table></header>")


def _ran(data: RunData) -> list[tuple[str, str]]:
    """Of a resumed run, the time its attempts ran (Duration is from its start to its end,
    the nights between them included); of the shards of one, the longest shard's, as they
    ran side by side. Nothing where the journal does not know it."""
    ran = [r["ran_s"] for r in data.runs if r.get("ran_s") is not None]
    if not any(r["resumed"] for r in data.runs) or len(ran) < len(data.runs):
        return []
    if len(ran) == 1:
        return [("Ran", f"{ran[0]:.1f} s over {data.runs[0]['resumed'] + 1} attempts")]
    return [("Ran", f"{max(ran):.1f} s, the longest of its {len(ran)} runs over their attempts")]


def _steps(data: RunData) -> str:
    steps: dict[str, dict[str, Any]] = {}
    for run in data.runs:
        for step in run["steps"]:
            total = steps.setdefault(step["step"], {"step": step["step"], "status": "ok",
                                                    **dict.fromkeys(_STEP_COUNTS, 0)})
            for key in _STEP_COUNTS:
                if key != "unknown":
                    total[key] += step[key] or 0  # None: not counted (a step cut short)
            if step["status"] != "ok":
                total["status"] = step["status"]
    spans: dict[str, list[float]] = {}
    for call in data.calls:
        if call["step"] in steps:
            if call["outcome"] in (None, "unknown"):
                steps[call["step"]]["unknown"] += 1
            end = call["finished_at"] or call["sent_at"]
            span = spans.setdefault(call["step"], [call["sent_at"], end])
            span[0], span[1] = min(span[0], call["sent_at"]), max(span[1], end)
    header = "".join(f"<th scope=\"col\">{h}</th>" for h in
                     ("Step", "Status", "Calls", "Items", "OK", "Skipped", "Failed", "Retries",
                      "Unknown outcome"))
    rows = "".join(
        f"<tr data-step=\"{html.escape(s['step'])}\"><th scope=\"row\">{html.escape(s['step'])}"
        f"</th><td>{html.escape(s['status'])}</td>"
        + "".join(f"<td data-count=\"{k}\">{s[k]}</td>" for k in _STEP_COUNTS) + "</tr>"
        for s in steps.values())
    table = f"<table id=\"steps\"><thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table>"
    return (f"<section><h2>Steps</h2>{table}"
            + figure("timeline", "When each step ran", timeline(spans),
                      [("Step", "From (s)", "To (s)"), *timeline_rows(spans)]) + "</section>")


_STEP_COUNTS = ("calls", "iterations", "succeeded", "skipped", "failed", "retries", "unknown")


def _over_time(data: RunData) -> str:
    done = [c for c in data.calls if c["finished_at"]]
    if not done:
        return "<section><h2>Requests over time</h2><p>No call finished.</p></section>"
    start = min(c["sent_at"] for c in done)
    end = max(c["finished_at"] for c in done)
    width = max(end - start, 1e-3) / BUCKETS
    buckets: list[list[Mapping[str, Any]]] = [[] for _ in range(BUCKETS)]
    for call in done:
        buckets[min(int((call["finished_at"] - start) / width), BUCKETS - 1)].append(call)
    rate, median, p95 = [], [], []
    for i, bucket in enumerate(buckets):
        x = (i + 0.5) * width
        rate.append((x, len(bucket) / width))
        latencies = sorted(c["duration"] * 1000 for c in bucket if c["duration"])
        if latencies:
            median.append((x, statistics.median(latencies)))
            p95.append((x, latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]))
    rows = [(f"{x:.2f}", f"{r:.1f}", _at(median, x), _at(p95, x)) for x, r in rate]
    return ("<section><h2>Requests over time</h2>"
            + figure("rate", "Requests per second",
                      line_chart({"requests/s": rate}, "seconds into the run", "requests/s"),
                      [("Second", "Requests/s"), *((r[0], r[1]) for r in rows)])
            + figure("latency", "Latency (median and p95)",
                      line_chart({"median": median, "p95": p95}, "seconds into the run", "ms"),
                      [("Second", "Median ms", "p95 ms"), *((r[0], r[2], r[3]) for r in rows)])
            + "</section>")


def _result_codes(data: RunData) -> str:
    counts = Counter((c["endpoint"], _code_of(c)) for c in data.calls)
    endpoints = sorted({endpoint for endpoint, _ in counts})
    figures = []
    for endpoint in endpoints:
        meanings = data.meanings.get((endpoint, RESULT_CODE), {})
        rows = sorted(((code, n) for (e, code), n in counts.items() if e == endpoint),
                      key=lambda row: -row[1])
        labelled = [(f"{code} {meanings[code]}" if code in meanings else code, n)
                    for code, n in rows]
        figures.append(figure(f"codes-{endpoint}", f"Result codes of {endpoint}",
                               bar_chart(labelled), [("Result", "Meaning", "Calls")] + [
                                   (code, meanings.get(code, ""), str(n)) for code, n in rows]))
    return "<section><h2>Vendor result codes</h2>" + "".join(figures) + "</section>"


def _facts(data: RunData) -> str:
    counts: Counter[tuple[str, str, str]] = Counter()
    for call in data.calls:
        for field_name, values in (call["facts"] or {}).items():
            for value in values:
                counts[(call["endpoint"], field_name, str(value))] += 1
    figures = []
    for endpoint, field_name in sorted({(e, f) for e, f, _ in counts}):
        meanings = data.meanings.get((endpoint, field_name), {})
        rows = sorted(((v, n) for (e, f, v), n in counts.items()
                       if (e, f) == (endpoint, field_name)), key=lambda row: -row[1])
        labelled = [(f"{v} {meanings[v]}" if v in meanings else v, n) for v, n in rows]
        figures.append(figure(f"facts-{endpoint}-{field_name}", f"{field_name} in answers of "
                               f"{endpoint}", bar_chart(labelled), [("Value", "Meaning",
                                                                      "Count")] + [
            (v, meanings.get(v, ""), str(n)) for v, n in rows]))
    if not figures:
        return ""
    return "<section><h2>Outcomes</h2>" + "".join(figures) + "</section>"


def _failures(data: RunData) -> str:
    failed = [(run, f) for run in data.runs for f in run["failures"]]
    if not failed:
        return "<section><h2>Failures</h2><p id=\"no-failures\">None.</p></section>"
    last_call: dict[tuple[str, Any], Mapping[str, Any]] = {}
    for call in data.calls:
        if call["outcome"] != "ok":
            last_call[(call["step"], call["iteration"])] = call
    items = []
    for _, failure in failed[:MAX_FAILURES]:
        found = last_call.get((failure["step"], failure["iteration"]))
        where = item_name(failure)
        detail = ""
        if found is not None:
            detail = (f"<h4>Request ({html.escape(found['endpoint'])})</h4>"
                      f"<pre>{html.escape(_pretty(found['params']))}</pre>"
                      f"<h4>Answer</h4><pre>{html.escape(_pretty(found['response']))}</pre>")
        items.append(f"<details class=\"failure\"><summary><strong>{html.escape(where)}"
                     f"</strong>: {html.escape((failure['reason'] or '').splitlines()[0])}"
                     f"</summary>{detail}</details>")
    more = len(failed) - MAX_FAILURES
    tail = f"<p>... and {more} more failed items (see outbound runs show).</p>" if more > 0 \
        else ""
    return (f"<section><h2>Failures ({len(failed)})</h2><div id=\"failures\">"
            + "".join(items) + f"</div>{tail}</section>")


def _unknown_writes(data: RunData) -> str:
    """The writes whose outcome is unknown, if any: each with why and its request, which is
    what its operator settles it by where --resume cannot look it up."""
    unknown = [write for run in data.runs for write in run["unknown_writes"]]
    if not unknown:
        return ""
    items = "".join(
        f"<details class=\"unknown\"><summary><strong>{html.escape(item_name(write))}"
        f"</strong> {html.escape(write['endpoint'])}: {html.escape(write['why'])}</summary>"
        f"<h4>Request</h4><pre>{html.escape(_pretty(write['params']))}</pre></details>"
        for write in unknown[:MAX_FAILURES])
    more = len(unknown) - MAX_FAILURES
    run_id = data.runs[0]["run_id"] if len(data.runs) == 1 else "RUN_ID"  # shards: each its own
    settle = html.escape(f"outbound runs resolve {run_id} STEP[ITERATION]")
    return (f"<section><h2>Outcome unknown ({len(unknown)})</h2><p>--resume looks each up "
            f"through its spec's reconcile; without one, <code>{settle}</code> records what "
            f"became of it.</p><div id=\"unknown-writes\">{items}</div>"
            + (f"<p>... and {more} more (see outbound runs show).</p>" if more > 0 else "")
            + "</section>")


def _left_out(data: RunData) -> str:
    """The items `runs resolve --skip` left out, if any, and what had become of each."""
    left_out = [item for run in data.runs for item in run["left_out"]]
    if not left_out:
        return ""
    items = "".join(f"<li><strong>{html.escape(item_name(item))}</strong>: "
                    f"{html.escape(why_left_out(item))}</li>" for item in left_out)
    return (f"<section><h2>Left out by hand ({len(left_out)})</h2><ul id=\"left-out\">"
            f"{items}</ul></section>")


# ------------------------------------------------------------------ small helpers


def _code_of(call: Mapping[str, Any]) -> str:
    if call["result_code"]:
        return str(call["result_code"])
    if call["status"]:
        return f"HTTP {call['status']}"
    return "no answer" if call["outcome"] in ("unknown", None) else "not sent"


def _at(points: Iterable[tuple[float, float]], x: float) -> str:
    return next((f"{y:.1f}" for px, y in points if px == x), "")


def _pretty(value: Any) -> str:
    return "-" if value is None else json.dumps(value, ensure_ascii=False, indent=2)


def _when(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch)) if epoch else "-"


_CSS = """
:root { --fg: #1b1f24; --bg: #ffffff; --muted: #57606a; --line: #d0d7de;
        --c0: #0969da; --c1: #bf3989; --c2: #1a7f37; --bad: #cf222e; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9da7b3; --line: #30363d;
          --c0: #58a6ff; --c1: #f778ba; --c2: #3fb950; --bad: #ff7b72; } }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden;
           clip: rect(0 0 0 0); white-space: nowrap; }
@media print { :root { --fg: #000; --bg: #fff; --muted: #333; --line: #999; }
  .sr-only { position: static; width: auto; height: auto; clip: auto; white-space: normal; }
  details { display: block; } }
body { color: var(--fg); background: var(--bg); font: 15px/1.45 system-ui, sans-serif;
       margin: 0; }
main { max-width: 980px; margin: 0 auto; padding: 24px; }
h1 { font-size: 1.6em; margin: 0 0 12px; } h2 { border-bottom: 1px solid var(--line);
  padding-bottom: 4px; margin-top: 32px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { text-align: left; padding: 3px 10px; border-bottom: 1px solid var(--line); }
td[data-field="error"] { white-space: pre-wrap; }
td[data-count] { text-align: right; font-variant-numeric: tabular-nums; }
.facts th { color: var(--muted); font-weight: normal; }
.status-failed, .status-partial { color: var(--bad); font-weight: bold; }
.status-ok { color: var(--c2); font-weight: bold; }
figure { margin: 16px 0 24px; } figcaption { font-weight: 600; margin-bottom: 4px; }
svg.chart { max-width: 760px; display: block; }
svg text { fill: var(--fg); font-size: 12px; }
.axis, .tick { stroke: var(--fg); stroke-width: 1; } .grid { stroke: var(--line); }
.bar, .span { fill: var(--c0); } .line { stroke-width: 2; }
.line.s0 { stroke: var(--c0); } .line.s1 { stroke: var(--c1); }
.legend.s0 { fill: var(--c0); } .legend.s1 { fill: var(--c1); }
details.failure, details.unknown { border-left: 3px solid var(--bad); padding: 4px 10px;
  margin: 6px 0; }
pre { background: color-mix(in srgb, var(--fg) 6%, var(--bg)); padding: 8px; overflow: auto; }
summary { cursor: pointer; color: var(--muted); }
"""
