"""Peak memory of a for_each over 1,000,000 listed items, streamed page by page.

Each scenario runs in its own process (peak RSS is per process). The baseline process imports
the engine and loads the same playbook without running it; the fan-out lists 1,000,000 items
(100 a page), evaluates `when` for each and creates one job per 100 items; the keyed fan-out
does the same with a `key` per item, which the run keeps to skip repeats. Prints peak RSS of
each and the fan-outs' ratios to the baseline (goal: the fan-out under 200 MB).

    .venv/bin/python tests/bench/bench_fanout.py
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ITEMS = 1_000_000
PLAYBOOK = """\
playbook_version: 1
name: fan-out
services:
  v: {spec: SPEC, base_url: "http://vendor.test"}
steps:
  - id: all
    call: v.items.list
    params: {limit: 100}
    paginate: {stream: true, max_pages: 100000}
  - id: make
    for_each: "{{ steps.all.items }}"
    as: item
    concurrency: 16
    when: "{{ item.id % 100 == 0 }}"
    call: v.job.create
    params: {name: "{{ 'n' ~ item.id }}"}
"""


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scenario(kind: str) -> None:
    sys.path.insert(0, str(ROOT))
    import httpx

    from runner.clock import SimulatedClock
    from runner.engine.launch import execute
    from runner.playbook import load_playbook
    from tests.vendor import ScriptedVendor

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fanout.yaml"
        text = PLAYBOOK.replace("SPEC", str(ROOT / "tests/data/specs/testvendor.yaml"))
        if kind == "keyed":
            text = text.replace("    as: item\n", "    as: item\n    key: \"{{ item.id }}\"\n")
        path.write_text(text)
        playbook = load_playbook(path)
        vendor = ScriptedVendor(total=ITEMS, latency=0.0)
        started = time.perf_counter()
        if kind != "baseline":
            result = asyncio.run(execute(playbook, {}, lambda event: None,
                                         transport=httpx.ASGITransport(app=vendor),
                                         clock=SimulatedClock()))
            assert result.status == "ok", result.error
            assert len(vendor.bodies) == ITEMS // 100
        print(json.dumps({"peak_mb": round(_peak_mb(), 1),
                          "seconds": round(time.perf_counter() - started, 1),
                          "list_pages": vendor.calls["GET items"],
                          "creates": len(vendor.bodies)}))


def main() -> None:
    figures = {}
    for kind in ("baseline", "fanout", "keyed"):
        done = subprocess.run([sys.executable, __file__, kind], capture_output=True, text=True,
                              check=True)
        figures[kind] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{kind:<9} {figures[kind]}", flush=True)
    baseline = figures["baseline"]["peak_mb"]
    print(json.dumps({"items": ITEMS, **{f"{kind}_{what}": figure for kind in ("fanout", "keyed")
                                         for what, figure in (
                                             ("peak_mb", figures[kind]["peak_mb"]),
                                             ("vs_baseline",
                                              round(figures[kind]["peak_mb"] / baseline, 2)))}}))


if __name__ == "__main__":
    scenario(sys.argv[1]) if len(sys.argv) > 1 else main()
