"""The shipped playbooks against `outbound sim serve`, over real HTTP on loopback."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, outbound


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """`outbound sim serve` in its own process, a simulated minute passing each real second."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "runner", "sim", "serve", "--port", str(port), "--speed", "60"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while True:
        try:
            urllib.request.urlopen(f"{base}/_sim/state", timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                output = process.stdout.read() if process.stdout else ""
                pytest.fail(f"sim serve did not start: {output}")
            time.sleep(0.1)
    yield base
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def live_env(served: str, monkeypatch: pytest.MonkeyPatch, in_repo: Path) -> str:
    for name in ("ISALES_URL", "SPEECH_URL", "CRM_URL"):
        monkeypatch.setenv(name, served)
    for name in ("SPEECH_APP_ID", "SPEECH_PRIVATE_KEY", "ISALES_AK", "ISALES_SK", "CRM_API_KEY"):
        monkeypatch.setenv(name, "demo")
    return served


def _calls(base: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{base}/_sim/state", timeout=5) as answer:
        calls: dict[str, int] = json.load(answer)["calls"]
    return calls


def test_the_callback_playbook_runs_over_real_http(live_env: str, tmp_path: Path) -> None:
    before = _calls(live_env).get("huawei-isales.appoint.create", 0)
    report = tmp_path / "r.json"
    result = outbound("run", "playbooks/speech-callbacks.yaml", "--var", "lead_minutes=6",
                      "--var", "poll_every=1s", "--report-json", str(report))
    assert result.exit_code == 0, result.output
    document = json.loads(report.read_text())
    assert (document["outputs"]["reserved"], document["outputs"]["answered"]) == (4, 2)
    assert _calls(live_env)["huawei-isales.appoint.create"] - before == 4


def test_the_crm_playbook_runs_over_real_http(live_env: str) -> None:
    result = outbound("run", "playbooks/crm-callbacks.yaml")
    assert result.exit_code == 0, result.output
    assert 'tasks: ["12347", "12348"]' in result.stdout


def test_sim_serve_announces_where_it_is() -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "runner", "sim", "serve", "--port", str(port)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith(f"vendor simulator on http://127.0.0.1:{port}")
    finally:
        process.terminate()
        process.wait(timeout=10)
