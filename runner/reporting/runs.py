"""Renderings of `outbound runs list`, `runs show` and `runs prune`."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from runner.errors import why_in
from runner.journal import Pruned
from runner.reporting.specs import table

WARNINGS_SHOWN = 10  # of a run's warnings, in `runs show`


def _when(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch)) if epoch else "-"


def _took(run: Mapping[str, Any]) -> str:
    """How long the run ran: its attempts' time added up (a resumed campaign's nights between
    them left out), else, in a journal from before attempts were kept, its start to its end."""
    ran = run.get("ran_s")
    if run["status"] == "running" or (ran is None and not run.get("finished_at")):
        return "-"
    return f"{ran if ran is not None else run['finished_at'] - run['started_at']:.1f}s"


def _span(seconds: float) -> str:
    minutes, hours = int(seconds // 60), int(seconds // 3600)
    if hours:
        return f"{hours}h {minutes % 60:02d}m"
    return f"{minutes}m {int(seconds % 60):02d}s" if minutes else f"{seconds:.1f}s"


def runs_text(runs: Sequence[Mapping[str, Any]]) -> str:
    rows = [["RUN_ID", "STATUS", "EXIT", "STARTED (UTC)", "TOOK", "CALLS", "FAILED", "PLAYBOOK"]]
    rows += [[r["run_id"], r["status"], str(r["exit_code"] if r["exit_code"] is not None
                                            else "-"),
              _when(r["started_at"]), _took(r), str(r["calls"]), str(r["failed_items"]),
              r["playbook"]] for r in runs]
    return table(rows)


def runs_json(runs: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps(list(runs), ensure_ascii=False, indent=2)


def inputs_text(inputs: Mapping[str, Any], width: int = 200) -> str:
    """The inputs as JSON, a long list or mapping told by its size (a CSV's 10,000 rows are
    not printed whole)."""
    return "{" + ", ".join(f"{json.dumps(name, ensure_ascii=False)}: {brief(value, width)}"
                           for name, value in inputs.items()) + "}"


def brief(value: Any, width: int) -> str:
    """`value` as JSON, or, past `width` characters, a list or mapping by its size and any
    other value cut short."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > width and isinstance(value, (list, dict)):
        return f"<{len(value)} {'items' if isinstance(value, list) else 'keys'}>"
    return text if len(text) <= width else text[:width] + "..."


OUTPUTS_SHOWN = 300  # characters of an output printed; the journal and reports have it whole


def outputs_text(outputs: Mapping[str, Any], run_id: str | None) -> list[str]:
    """A run's outputs, a line each, and where to read those cut short whole."""
    shown = {name: brief(value, OUTPUTS_SHOWN) for name, value in outputs.items()}
    cut = any(text != json.dumps(outputs[name], ensure_ascii=False, default=str)
              for name, text in shown.items())
    whole = f" (whole: outbound runs show {run_id} --format json)" if cut and run_id else ""
    return [f"outputs:{whole}", *(f"  {name}: {text}" for name, text in shown.items())]


FAILURES_LISTED_ALONE = 10  # past this many failed items, a count per reason comes first


def _failures_by_reason(failures: Sequence[Mapping[str, Any]]) -> list[str]:
    """Past FAILURES_LISTED_ALONE failed items that failed for a few reasons (no more than
    that many), how many failed for each (the step's, their iteration left out), most first:
    a campaign's 500 blocklisted numbers are one line."""
    counted = Counter((f["step"], why_in(f["reason"])) for f in failures)
    if len(failures) <= FAILURES_LISTED_ALONE or len(counted) > FAILURES_LISTED_ALONE:
        return []
    rows = [[str(n), step, why.splitlines()[0]] for (step, why), n in counted.most_common()]
    return ["failed items by reason:", *("  " + line for line in
                                         table([["ITEMS", "STEP", "REASON"], *rows]).splitlines())]


def _calls(count: int, outcome: str, tried_again: int | None) -> str:
    """`8 failed (all tried again)`: calls a poll or a retry went on from are no failure."""
    again = "" if not tried_again else (
        " (all tried again)" if tried_again == count else f" ({tried_again} tried again)")
    return f"{count} {outcome}{again}"


def _resumed(run: Mapping[str, Any]) -> str:
    if not run["resumed"]:
        return ""
    if not run.get("finished_at") or run.get("ran_s") is None:
        return f", resumed {run['resumed']}x"
    return (f", resumed {run['resumed']}x ({_span(run['finished_at'] - run['started_at'])} "
            "from its start to its end)")


def run_text(run: Mapping[str, Any]) -> str:
    ended = f" (exit {run['exit_code']})" if run["exit_code"] is not None else ""  # running
    out = [f"run {run['run_id']}  {run['status']}{ended}",
           f"playbook {run['playbook']}  ({run['file']})",
           f"started {_when(run['started_at'])} UTC, took {_took(run)}" + _resumed(run),
           f"inputs {inputs_text(run['inputs'])}", ""]
    by_hand = Counter(item["step"] for item in run["left_out"])
    rows = [["STEP", "STATUS", "CALLS", "ITEMS", "OK", "SKIPPED", "FAILED", "RETRIES"]]
    rows += [[s["step"], s["status"], str(s["calls"]), str(s["iterations"]),
              str(s["succeeded"]), skipped_text(s["skipped"], by_hand[s["step"]]),
              str(s["failed"]), "-" if s["retries"] is None else str(s["retries"])]
             for s in run["steps"]]
    out += [table(rows), ""]
    calls = sorted(run["calls"].items(), key=lambda counted: counted[0] != "ok")  # ok first
    out.append("calls: " + (", ".join(_calls(n, outcome, run["calls_tried_again"].get(outcome))
                                      for outcome, n in calls) or "none"))
    out += _failures_by_reason(run["failures"])
    for failure in run["failures"]:
        out.append(f"failed {item_name(failure)}: {why_in(failure['reason'])}")
    if run["unknown_writes"]:
        out.append("writes whose outcome is unknown (--resume looks each up through its spec's "
                   "reconcile; without one, say what happened: outbound runs resolve "
                   f"{run['run_id']} STEP[ITERATION] --not-sent | --answer FILE | --skip):")
        for write in run["unknown_writes"]:
            out.append(f"  {item_name(write)} {write['endpoint']} "
                       f"{json.dumps(write['params'], ensure_ascii=False)}")
            out.append(f"      {write['why']}")
    if run["left_out"]:
        out.append("left out by hand (runs resolve --skip):")
        out += [f"  {item_name(item)}: {why_left_out(item)}" for item in run["left_out"]]
    out += _warnings(run["warnings"])
    if run["outputs"]:
        out += outputs_text(run["outputs"], run["run_id"])
    if run["error"]:
        out.append(f"error: {run['error']}")
    return "\n".join(out)


def _warnings(warnings: Sequence[Mapping[str, Any]]) -> list[str]:
    """The run's warnings as the console gave them, the first WARNINGS_SHOWN."""
    shown = [f"warn  {w['step']}: {w['message']}" if w["step"] else f"warn  {w['message']}"
             for w in warnings[:WARNINGS_SHOWN]]
    if len(warnings) > WARNINGS_SHOWN:
        shown.append(f"... and {len(warnings) - WARNINGS_SHOWN} more warnings (--format json "
                     "has every one)")
    return shown


def skipped_text(skipped: int, by_hand: int) -> str:
    """A step's skipped items, `3 (1 by hand)` where `runs resolve --skip` left some out."""
    return f"{skipped} ({by_hand} by hand)" if by_hand else str(skipped)


def why_left_out(item: Mapping[str, Any]) -> str:
    """What had become of an item `runs resolve --skip` left out: `it had failed: ...`."""
    return why_in(item["reason"]).partition("; ")[2]


def item_name(item: Mapping[str, Any]) -> str:
    """`reserve[3]`, `reserve[3] (key 12347)` where its for_each has a key, or the step's name
    alone."""
    where = f"[{item['iteration']}]" if item["iteration"] is not None else ""
    key = f" (key {item['key']})" if item.get("key") is not None else ""
    return f"{item['step']}{where}{key}"


def run_json(run: Mapping[str, Any]) -> str:
    return json.dumps(run, ensure_ascii=False, indent=2)


def pruned_text(pruned: Pruned, older_than: str, size_before: int, size_after: int,
                dry_run: bool) -> str:
    kept = f"{pruned.kept} kept" + (
        f" ({pruned.kept_old} of them older, each the newest run of its playbook, which "
        "--resume latest goes by)" if pruned.kept_old else "")
    if not pruned.runs:
        return (f"no run started more than {older_than} ago"
                + (" to remove" if pruned.kept_old else "") + f"; {kept}")
    unfinished = (f"; {pruned.unfinished} of them unfinished, which "
                  + ("could" if dry_run else "can") + " no longer be resumed"
                  if pruned.unfinished else "")
    said = (f"{'would remove' if dry_run else 'removed'} {pruned.runs} "
            f"run{'s' if pruned.runs != 1 else ''} started more than {older_than} ago "
            f"({pruned.calls} calls{unfinished}); {kept}")
    if dry_run:
        return said
    return f"{said}; the journal went from {_size(size_before)} to {_size(size_after)}"


def _size(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.0f} KB"
