"""2,000 create -> detail chains, 32 in flight, against one fast loopback server.

Runs, in one process and against the same server: the engine (a playbook with the shipped
iSales spec: every request rendered, checked, signed (C2), sent, and every response
checked), the same playbook with its journal, a hand-written aiohttp loop, and a
hand-written loop on a default httpx.AsyncClient. Prints each one's throughput, its ratio
to the aiohttp loop (the engine's targets: at least 0.5, then 0.8) and the journal's cost
(engine + journal against engine alone; target: at least 0.9).

    .venv/bin/pip install -q -e '.[bench]'                     (aiohttp, for the baseline)
    .venv/bin/python tests/bench/bench_chain.py [IN_FLIGHT] [DELAY_MS]

IN_FLIGHT: 32 unless given (try 1). DELAY_MS: the server answers that much later (default 0:
as fast as it can, so the client's own cost is all that is measured; 10 is closer to a real
vendor, where the engine mostly waits). ROUNDS=11 in the environment times more rounds than
the default 5 (the journal's ratio wanders by some 3% between runs of 5). The httpx loop,
a reference far below the others (some 5 s a round at 32 in flight), runs in the first
round only.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from runner.engine.launch import execute
from runner.journal import Journal, new_run_id
from runner.playbook import Playbook, load_playbook, resolve_inputs

ROUNDS = int(os.environ.get("ROUNDS", "5"))
CHAINS = 2000
IN_FLIGHT = int(sys.argv[1]) if len(sys.argv) > 1 else 32  # bench_chain.py 1: one at a time
DELAY_MS = sys.argv[2] if len(sys.argv) > 2 else "0"
HERE = Path(__file__).resolve().parent
CREATE_PATH = "/rest/isales/v1/openapi/campaigns/8/appoint/create"
DETAIL_PATH = "/rest/isales/v1/openapi/campaigns/8/callresultdetail/{}"
BODY = {"callType": "2", "calledNo": "13800000001", "userAccount": "116", "taskId": "2201",
        "appointTime": 1_900_000_000_000}

PLAYBOOK = """\
playbook_version: 1
name: bench chain
services:
  isales: {spec: huawei-isales, base_url: "BASE", credentials: {ak: bench-ak, sk: bench-sk}}
inputs:
  numbers: {type: array}
steps:
  - id: reserve
    for_each: "{{ inputs.numbers }}"
    as: number
    concurrency: IN_FLIGHT
    call: isales.appoint.create
    params: {vdnId: 8, taskId: "2201", callType: "2", calledNo: "{{ number }}",
             userAccount: "116", appointTime: 1900000000000}
    outputs: {id: "{{ values.appointId }}"}
  - id: result
    for_each: "{{ steps.reserve.outputs }}"
    as: reservation
    concurrency: IN_FLIGHT
    call: isales.callresult.detail
    params: {vdnId: 8, callId: "{{ reservation.id }}"}
    outputs: {status: "{{ response.data.callStatus }}"}
"""


async def _bounded(work: list[int], one: object) -> None:
    queue = iter(work)

    async def worker() -> None:
        for item in queue:
            await one(item)  # type: ignore[operator]

    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))


async def aiohttp_loop(base: str) -> None:
    connector = aiohttp.TCPConnector(limit=IN_FLIGHT)
    async with aiohttp.ClientSession(base, connector=connector) as session:
        async def chain(i: int) -> None:
            async with session.post(CREATE_PATH, json=BODY) as created:
                appoint = (await created.json(content_type=None))["returnObject"]["id"]
            async with session.get(DETAIL_PATH.format(appoint)) as detail:
                await detail.json(content_type=None)

        await _bounded(list(range(CHAINS)), chain)


async def httpx_loop(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        async def chain(i: int) -> None:
            created = await client.post(CREATE_PATH, json=BODY)
            appoint = created.json()["returnObject"]["id"]
            (await client.get(DETAIL_PATH.format(appoint))).json()

        await _bounded(list(range(CHAINS)), chain)


async def engine(playbook: Playbook, inputs: dict[str, Any],
                 open_journal: Callable[[], Journal | None] = lambda: None) -> None:
    journal = open_journal()  # opened inside the timing: a run opens its journal
    if journal is not None:
        journal.begin(new_run_id(), playbook.name, playbook.file, "-", inputs, None)
    result = await execute(playbook, inputs, lambda event: None, journal=journal)
    assert result.status == "ok", result.error
    if journal is not None:
        journal.close()


def _timed(run: Callable[[], Coroutine[Any, Any, None]]) -> float:
    started = time.perf_counter()
    asyncio.run(run())
    return time.perf_counter() - started


def start_server(delay_ms: str) -> tuple[subprocess.Popen[str], str]:
    """The loopback server on a free port, answering `delay_ms` late; it and its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, str(HERE / "loopback_server.py"), str(port),
                               delay_ms], stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None and server.stdout.readline().strip() == "ready"
    return server, f"http://127.0.0.1:{port}"


def chain_playbook(folder: str, base: str) -> tuple[Playbook, dict[str, Any]]:
    """The chain's playbook against `base`, loaded (start-up is measured apart), and inputs."""
    path = Path(folder) / "chain.yaml"
    path.write_text(PLAYBOOK.replace("BASE", base).replace("IN_FLIGHT", str(IN_FLIGHT)))
    playbook = load_playbook(path)
    numbers = [f"1380000{i:04d}" for i in range(CHAINS)]
    return playbook, resolve_inputs(playbook, {"numbers": numbers})


def main() -> None:
    server, base = start_server(DELAY_MS)
    try:
        with tempfile.TemporaryDirectory() as folder:
            playbook, inputs = chain_playbook(folder, base)
            journal = Path(folder) / "j.sqlite"
            runs: dict[str, Callable[[], Coroutine[Any, Any, None]]] = {
                "aiohttp loop (baseline)": lambda: aiohttp_loop(base),
                "engine": lambda: engine(playbook, inputs),
                "engine + journal": lambda: engine(playbook, inputs, lambda: Journal(journal)),
                "httpx.AsyncClient loop": lambda: httpx_loop(base),
            }
            print(f"{CHAINS} create -> detail chains, {IN_FLIGHT} in flight, answers delayed "
                  f"{DELAY_MS} ms, {base}; "
                  f"median of {ROUNDS} interleaved rounds (the httpx loop: the first)")
            seconds: dict[str, list[float]] = {label: [] for label in runs}
            for round_ in range(ROUNDS):
                for label, run in runs.items():
                    if round_ == 0 or not label.startswith("httpx"):
                        seconds[label].append(_timed(run))
        medians = {label: statistics.median(times) for label, times in seconds.items()}
        for label, median in medians.items():
            print(f"{label:<26} {median:6.2f} s  {2 * CHAINS / median:8.0f} req/s")
        baseline = medians["aiohttp loop (baseline)"]
        print(json.dumps({"engine_vs_aiohttp": round(baseline / medians["engine"], 3),
                          "journal_vs_no_journal": round(
                              medians["engine"] / medians["engine + journal"], 3),
                          "httpx_vs_aiohttp": round(
                              baseline / medians["httpx.AsyncClient loop"], 3)}))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
