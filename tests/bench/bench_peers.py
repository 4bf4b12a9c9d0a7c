"""The whole command, as PERFORMANCE.md measured the peers: start-up with one request, and
200 create -> detail chains (400 requests), each a fresh process against the loopback server.

`outbound run` (journal and all, as a user runs it) against a hand-written httpx.Client
script doing the same requests one after another, in the same run. Prints each one's median
wall time of RUNS, its peak memory, and the ratio to the script; then the peers' figures from
PERFORMANCE.md (measured on these machines, not in this run) for scale.

    .venv/bin/python tests/bench/bench_peers.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_chain import BODY, CREATE_PATH, DETAIL_PATH, PLAYBOOK, start_server

RUNS = 7
CHAINS = 200
SCRIPT = f"""\
import sys, httpx
chains = int(sys.argv[2])
with httpx.Client(base_url=sys.argv[1]) as client:
    for _ in range(chains):
        made = client.post({CREATE_PATH!r}, json={BODY!r}).json()["returnObject"]["id"]
        if chains > 1:
            client.get({DETAIL_PATH!r}.format(made)).json()
"""
ONE_REQUEST = """\
playbook_version: 1
name: one request
services:
  isales: {spec: huawei-isales, base_url: "BASE", credentials: {ak: bench-ak, sk: bench-sk}}
steps:
  - id: reserve
    call: isales.appoint.create
    params: {vdnId: 8, taskId: "2201", callType: "2", calledNo: "13800000001",
             userAccount: "116", appointTime: 1900000000000}
"""
PEERS = {  # PERFORMANCE.md: (start-up and one request, 400 requests) in seconds; peak MB
    "Redocly Respect (Arazzo)": (0.45, 1.11, "150"),
    "Step CI": (1.44, 2.2, "180-260"),
    "Tavern": (0.82, 2.75, "60-100"),
    "hand-written httpx.Client": (0.20, 0.31, "30"),
}


# Each command runs under this small launcher, which times it and reads its peak RSS: a child
# forked from this process (aiohttp, httpx and the engine imported) would count our pages.
LAUNCHER = """\
import json, resource, subprocess, sys, time
started = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(json.dumps([time.perf_counter() - started,
                  resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024]))
"""


def _measured(command: list[str], folder: str) -> tuple[float, float]:
    """Median seconds and the largest peak RSS (MB) of RUNS fresh processes."""
    seconds, peaks = [], []
    for _ in range(RUNS):
        launched = subprocess.run([sys.executable, "-c", LAUNCHER, *command], cwd=folder,
                                  env={**os.environ, "OUTBOUND_JOURNAL": f"{folder}/j.sqlite"},
                                  capture_output=True, text=True, check=True)
        took, peak = json.loads(launched.stdout)
        seconds.append(took)
        peaks.append(peak)
    return statistics.median(seconds), max(peaks)


def main() -> None:
    server, base = start_server("0")
    outbound = [sys.executable, "-m", "runner", "run", "-q"]
    try:
        with tempfile.TemporaryDirectory() as folder:
            here = Path(folder)
            (here / "script.py").write_text(SCRIPT)
            (here / "one.yaml").write_text(ONE_REQUEST.replace("BASE", base))
            for in_flight in (1, 32):
                (here / f"chain{in_flight}.yaml").write_text(
                    PLAYBOOK.replace("BASE", base).replace("IN_FLIGHT", str(in_flight)))
            (here / "numbers.json").write_text(json.dumps(
                {"numbers": [f"1380000{i:04d}" for i in range(CHAINS)]}))
            chains = ["--vars-file", "numbers.json"]
            script = [sys.executable, "script.py", base]
            commands = {
                "httpx.Client script, 1 request (baseline)": [*script, "1"],
                "outbound run, 1 request": [*outbound, "one.yaml"],
                f"httpx.Client script, {2 * CHAINS} requests (baseline)": [*script, str(CHAINS)],
                f"outbound run, {2 * CHAINS} requests one at a time": [
                    *outbound, "chain1.yaml", *chains],
                f"outbound run, {2 * CHAINS} requests 32 in flight": [
                    *outbound, "chain32.yaml", *chains],
            }
            print(f"whole processes against {base}; median of {RUNS}, peak RSS")
            figures: dict[str, float] = {}
            baseline = 0.0
            for label, command in commands.items():
                median, peak = _measured(command, folder)
                baseline = median if "baseline" in label else baseline
                figures[label] = round(median, 3)
                print(f"{label:<48} {median:6.3f} s  {peak:5.0f} MB  "
                      f"{median / baseline:5.2f}x the script")
    finally:
        server.terminate()
        server.wait()
    print("\nthe peers, from PERFORMANCE.md (not measured in this run):")
    for peer, (one, many, memory) in PEERS.items():
        print(f"{peer:<28} 1 request {one:4.2f} s  400 requests {many:4.2f} s  {memory} MB")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
