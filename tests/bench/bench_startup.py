"""CLI start-up and `outbound validate` of everything shipped, against a bare Python start.

Each command runs 11 times in fresh processes, the commands taking turns; medians are printed
with their ratio to `python -c pass` measured in the same run. The commands that read specs
and playbooks run twice: as they usually do, the files' schema checks remembered from an
earlier run (runner/known_valid.py), and as on a machine's first run, with nothing
remembered (OUTBOUND_CACHE_DIR=).

    .venv/bin/python tests/bench/bench_startup.py [--instructions]

`--instructions` runs each command once under valgrind's callgrind instead and prints the
instructions it took: repeatable where the wall clock of a shared machine is not (~2 minutes).
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNS = 11
VALIDATE = [sys.executable, "-m", "runner", "validate"]
RUN = [sys.executable, "-m", "runner", "run", "playbooks/speech-callbacks.yaml", "--sim", "-q"]
COMMANDS = {  # label -> (command, whether schema checks are remembered)
    "python -c pass (baseline)": ([sys.executable, "-c", "pass"], True),
    "outbound --help": ([sys.executable, "-m", "runner", "--help"], True),
    "outbound validate (all shipped)": (VALIDATE, True),
    "  ... nothing remembered (validate)": (VALIDATE, False),
    "outbound run --sim (a campaign)": (RUN, True),
    "  ... nothing remembered (run)": (RUN, False),
}


def _run(command: list[str], cache: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, check=True, text=True,
                          env={"OUTBOUND_JOURNAL": "/tmp/outbound-bench-journal.sqlite",
                               "OUTBOUND_CACHE_DIR": cache, "PATH": "/usr/bin:/bin"})


def _seconds(command: list[str], cache: str) -> float:
    started = time.perf_counter()
    _run(command, cache)
    return time.perf_counter() - started


def _instructions(command: list[str], cache: str) -> float:
    err = _run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
               cache).stderr
    found = re.search(r"Collected : (\d+)", err)
    assert found, err[-2000:]
    return int(found.group(1)) / 1e6


def main() -> None:
    instructions = "--instructions" in sys.argv[1:]
    measured: dict[str, list[float]] = {label: [] for label in COMMANDS}
    with tempfile.TemporaryDirectory() as cache:
        _run(RUN, cache)  # what a machine's first run leaves
        _run(VALIDATE, cache)
        for _ in range(1 if instructions else RUNS):
            for label, (command, remembered) in COMMANDS.items():
                measure = _instructions if instructions else _seconds
                measured[label].append(measure(command, cache if remembered else ""))
    figures = {label: statistics.median(values) for label, values in measured.items()}
    baseline = figures["python -c pass (baseline)"]
    unit = "M instructions" if instructions else "s"
    for label, value in figures.items():
        print(f"{label:<38} {value:8.{1 if instructions else 3}f} {unit}  "
              f"({value / baseline:4.1f}x a bare start)")
    print(json.dumps({label.strip(" ."): round(value, 3) for label, value in figures.items()}))


if __name__ == "__main__":
    main()
