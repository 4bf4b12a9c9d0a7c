"""CLI start-up and `outbound validate` of everything shipped, against a bare Python start.

Each command runs 7 times in fresh processes; medians are printed with their ratio to
`python -c pass` measured in the same run.

    .venv/bin/python tests/bench/bench_startup.py
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNS = 7
COMMANDS = {
    "python -c pass (baseline)": [sys.executable, "-c", "pass"],
    "outbound --help": [sys.executable, "-m", "runner", "--help"],
    "outbound validate (all shipped)": [sys.executable, "-m", "runner", "validate"],
    "outbound run --sim (a campaign)": [sys.executable, "-m", "runner", "run",
                                        "playbooks/speech-callbacks.yaml", "--sim", "-q"],
}


def _median_seconds(command: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, capture_output=True, check=True,
                       env={"OUTBOUND_JOURNAL": "/tmp/outbound-bench-journal.sqlite",
                            "PATH": "/usr/bin:/bin"})
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    figures = {label: _median_seconds(command) for label, command in COMMANDS.items()}
    baseline = figures["python -c pass (baseline)"]
    for label, seconds in figures.items():
        print(f"{label:<36} {seconds:6.3f} s  ({seconds / baseline:4.1f}x a bare start)")
    print(json.dumps({label: round(seconds, 3) for label, seconds in figures.items()}))


if __name__ == "__main__":
    main()
