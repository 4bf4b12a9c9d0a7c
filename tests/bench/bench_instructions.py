"""The journal's cost in the chain benchmark (bench_chain.py) as instructions, not seconds.

Wall times on a shared machine drift by a third within the hour; instructions counted by
valgrind's callgrind do not (the same run counts within a fraction of a percent). Runs the
chain (2,000 create -> detail chains, 32 in flight, against the loopback server) once and
three times under callgrind, without and with the journal, and takes the difference: the
instructions one run costs, start-up and loading left out. The ratio is the journal's
throughput as a CPU-bound run sees it: what the wall-clock one would be if nothing else ran.

    .venv/bin/python tests/bench/bench_instructions.py      (needs valgrind; ~4 minutes)

It misses what instructions do not show: cache misses, and waits on the disk.

Callgrind runs the engine some sixty times slower, while the journal groups its rows by the
clock (a commit GROUP_SECONDS after the first row waiting): counted as they were, nearly every
call's intent was committed alone and its outcome stored by an UPDATE after (128 commits a
run, against 11 in a real one), which overstated the journal's cost by a sixth. Each journal
run under callgrind therefore times one run first, against one timed outside it by `main`,
and stretches the grouping by that slowdown (the timing run is in both counts, so it cancels).
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = (1, 3)  # the difference between them is two runs' instructions


def inner(mode: str, runs: int, native: float) -> None:
    """Run the chain `runs` times (under callgrind, started by `main`). With the journal, one
    run more comes first, timed: outside callgrind (`native` 0) its seconds are printed and
    nothing else is run; under it, the rows' grouping is stretched by its slowdown."""
    sys.argv[1:] = []  # bench_chain reads IN_FLIGHT from the command line
    from bench_chain import chain_playbook, engine, start_server

    from runner.journal import Journal, store

    server, base = start_server("0")
    try:
        with tempfile.TemporaryDirectory() as folder:
            playbook, inputs = chain_playbook(folder, base)
            journal = Path(folder) / "j.sqlite"  # one file for every run, as in bench_chain

            def run() -> float:
                started = time.perf_counter()
                asyncio.run(engine(playbook, inputs, (lambda: Journal(journal))
                                   if mode == "journal" else (lambda: None)))
                return time.perf_counter() - started

            if mode == "journal":
                seconds = run()
                if not native:
                    print(seconds)
                    return
                store.GROUP_SECONDS *= seconds / native
            for _ in range(runs):
                run()
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    native = subprocess.run([sys.executable, __file__, "journal", "0", "0"], check=True,
                            capture_output=True, text=True).stdout.strip()
    counting = {(mode, runs): subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         __file__, mode, str(runs), native], stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True) for mode in ("none", "journal") for runs in RUNS}
    counted = {}
    for key, process in counting.items():
        _, err = process.communicate()
        found = re.search(r"Collected : (\d+)", err)
        assert process.returncode == 0 and found, err[-2000:]
        counted[key] = int(found.group(1))
    per_run = {mode: (counted[mode, RUNS[1]] - counted[mode, RUNS[0]]) / (RUNS[1] - RUNS[0])
               for mode in ("none", "journal")}
    for mode, instructions in per_run.items():
        print(f"{mode:<8} {instructions / 1e6:8.0f} M instructions a run")
    print(json.dumps({"journal_vs_no_journal_instructions":
                      round(per_run["none"] / per_run["journal"], 3)}))


if __name__ == "__main__":
    if len(sys.argv) == 4:
        inner(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
    else:
        main()
