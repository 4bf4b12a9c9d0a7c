"""The shipped playbooks against `outbound sim serve`, over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.sim import demo_credentials
from runner.sim.serve import listen
from tests.conftest import ROOT, free_port, isales_playbook, outbound, sim_server, use_simulator


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """`outbound sim serve` in its own process, a simulated minute passing each real second."""
    with sim_server("--speed", "60") as base:
        yield base


@pytest.fixture(scope="module")
def skewed() -> Iterator[str]:
    """`outbound sim serve` whose clock is ten minutes ahead of ours."""
    with sim_server("--clock-offset", "600") as base:
        yield base


@pytest.fixture
def live_env(served: str, monkeypatch: pytest.MonkeyPatch, in_repo: Path) -> str:
    use_simulator(monkeypatch, served)
    monkeypatch.delenv("SPEECH_PRIVATE_KEY", raising=False)
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


def test_a_simulator_up_for_a_while_still_takes_signatures_and_appointments(
        in_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # at --speed 60 the vendors' clock used to run ahead too: five seconds after the start
    # every signature was "too far from the server's clock", and ten minutes' lead was past
    with sim_server("--speed", "60") as base:
        use_simulator(monkeypatch, base)
        monkeypatch.delenv("SPEECH_PRIVATE_KEY", raising=False)
        request = urllib.request.Request(f"{base}/_sim/clock?advance=3600", method="POST")
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert abs(json.load(answer)["now"] - time.time()) < 60  # the vendors' real time
        result = outbound("run", "playbooks/speech-callbacks.yaml", "--var", "lead_minutes=6",
                          "--var", "poll_every=1s")
        assert result.exit_code == 0, result.output
        assert _calls(base)["huawei-isales.appoint.create"] == 4


def test_the_clock_control_refuses_what_is_not_a_time_ahead(served: str) -> None:
    for advance in ("abc", "-5", "inf", "nan"):
        request = urllib.request.Request(f"{served}/_sim/clock?advance={advance}",
                                         method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == 400
        assert json.load(refused.value) == {"error": "advance must be a number of seconds, 0 or "
                                                     "more (time does not go back)"}


def test_the_crm_playbook_runs_over_real_http(live_env: str) -> None:
    result = outbound("run", "playbooks/crm-callbacks.yaml")
    assert result.exit_code == 0, result.output
    assert 'tasks: ["12347", "12348"]' in result.stdout


def test_sim_serve_answers_without_waiting_for_a_delayed_ack() -> None:
    """Its connections have TCP_NODELAY, as asyncio gives a TCP socket that says it is one:
    without it, each answer after a connection's first came 40 ms late."""

    async def nodelay_of_an_accepted_connection() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Server(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                sock = transport.get_extra_info("socket")
                accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

        listening = listen("127.0.0.1", 0)  # the socket sim serve hands uvicorn
        server = await asyncio.get_running_loop().create_server(Server, sock=listening)
        async with server:
            _, writer = await asyncio.open_connection(*listening.getsockname())
            nodelay = await accepted
            writer.close()
        return nodelay

    assert asyncio.run(nodelay_of_an_accepted_connection()) != 0


def test_sim_serve_announces_where_it_is() -> None:
    port = free_port()
    with subprocess.Popen(
            [sys.executable, "-m", "runner", "sim", "serve", "--port", str(port)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        try:
            assert process.stdout is not None
            first = process.stdout.readline()
            assert first.startswith(f"vendor simulator on http://127.0.0.1:{port}")
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_sim_serve_on_any_free_port_names_the_one_it_took() -> None:
    with subprocess.Popen(
            [sys.executable, "-m", "runner", "sim", "serve", "--port", "0"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        try:
            assert process.stdout is not None
            first = process.stdout.readline()
            base = first.split()[3]
            assert base.startswith("http://127.0.0.1:") and not base.endswith(":0")
            assert _calls(base) == {}  # at once: it listens before it says where
            taken = subprocess.run([sys.executable, "-m", "runner", "sim", "serve", "--port",
                                    base.rsplit(":", 1)[1]], cwd=ROOT, capture_output=True,
                                   text=True, timeout=30)
            assert (taken.returncode, taken.stdout) == (2, "")
            assert taken.stderr == (f"error: sim serve: cannot listen on {base[7:]} (Address "
                                    "already in use)\n")
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_sim_serve_stops_at_once_though_a_timeout_fault_holds_a_request(tmp_path: Path) -> None:
    """SIGTERM (or Ctrl-C) ends it without sitting through the silence (here ten minutes) of
    a request a timeout fault holds, and without a traceback for the request it cuts."""
    faults = tmp_path / "faults.yaml"
    faults.write_text("faults:\n  - {kind: timeout, seconds: 600, on: [list]}\n")
    with subprocess.Popen(
            [sys.executable, "-m", "runner", "sim", "serve", "--port", "0", "--faults",
             str(faults)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True) as process:
        try:
            assert process.stdout is not None
            base = process.stdout.readline().split()[3]
            with pytest.raises(TimeoutError):  # held: no answer
                urllib.request.urlopen(f"{base}/api/v1/outboundtasks", timeout=0.5)
            process.terminate()
            output, _ = process.communicate(timeout=60)  # ten minutes if it waited it out
        finally:
            process.kill()
    assert process.returncode == -signal.SIGTERM  # uvicorn, stopped, raises it again
    assert "Traceback" not in output and "ERROR" not in output, output


def test_a_create_that_waited_too_long_for_a_connection_is_sent_later_not_lost(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """101 creates in flight share 100 connections; the vendor takes 1.5 s an answer, so
    the last waits longer than its 1 s for a connection. It never left: it is sent when one
    is free, not failed as a create whose outcome is unknown."""
    faults, playbook = tmp_path / "slow.yaml", tmp_path / "many.yaml"
    faults.write_text("faults: [{kind: latency, seconds: 1.5, on: appoint.create}]\n")
    playbook.write_text(isales_playbook("many at once", """\
    timeout: {connect: 1s}
steps:
  - id: reserve
    for_each: "{{ range(101) | list }}"
    as: n
    concurrency: 101
    call: isales.appoint.create
    params: {vdnId: 8, taskId: "2201", callType: "1", calledNo: "{{ '1390000%04d' % n }}",
             userAccount: ops, appointTime: "{{ now_ms() + 3600000 }}"}
"""))
    with sim_server("--faults", str(faults)) as base:
        use_simulator(monkeypatch, base)
        result = outbound("run", str(playbook), "--report-json", str(tmp_path / "r.json"))
        made = _calls(base)["huawei-isales.appoint.create"]
    assert result.exit_code == 0, result.output
    assert made == 101
    assert json.loads((tmp_path / "r.json").read_text())["steps"][0]["retries"] == 1


ISALES_401 = "huawei-isales.appoint.create answered HTTP 401: authentication failed"


@pytest.fixture(scope="module")
def other_key(tmp_path_factory: pytest.TempPathFactory) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path_factory.mktemp("keys") / "other.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return str(path)


@pytest.mark.parametrize(("playbook", "change", "message"), [
    ("speech-callbacks", {"ISALES_AK": "wrong-ak"}, ISALES_401),
    ("speech-callbacks", {"ISALES_SK": "wrong-secret"}, ISALES_401),
    ("speech-callbacks", {"SPEECH_PRIVATE_KEY_FILE": "OTHER"},
     "speech-openapi.task.page answered 10001: authentication failed"),
    ("speech-callbacks", {"SPEECH_APP_ID": "unknown-app"},
     "speech-openapi.task.page answered 10002: no public key found for the appId"),
    ("crm-callbacks", {"CRM_API_KEY": "wrong-key"},
     "crm.tasks.list answered HTTP 401: authentication failed"),
    ("crm-callbacks", {"ISALES_SK": "wrong-secret"}, ISALES_401),
])
def test_wrong_credentials_fail_with_an_authentication_error(
        live_env: str, monkeypatch: pytest.MonkeyPatch, other_key: str, playbook: str,
        change: dict[str, str], message: str) -> None:
    for name, value in change.items():
        monkeypatch.setenv(name, other_key if value == "OTHER" else value)
    result = outbound("run", f"playbooks/{playbook}.yaml")
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("playbook", "message"), [
    ("speech-callbacks", "speech-openapi.task.page answered 10001: authentication failed: a "
                         "wrong appId or key, or a timestamp too far from the vendor's clock"),
    ("crm-callbacks", ISALES_401 + ": the vendor rejected the credentials or the signature (or "
                                   "this machine's clock is more than 300 s off the vendor's: "
                                   "the signature carries the time)"),
])
def test_a_clock_ten_minutes_off_fails_authentication(
        skewed: str, live_env: str, monkeypatch: pytest.MonkeyPatch, playbook: str,
        message: str) -> None:
    use_simulator(monkeypatch, skewed)
    result = outbound("run", f"playbooks/{playbook}.yaml")
    assert result.exit_code == 1
    assert message in result.stderr
    if playbook == "crm-callbacks":  # the CRM has no clock; iSales says what was wrong
        assert "timestamp is invalid or too far from the server" in result.stderr


SECRET_PLAYBOOK = isales_playbook("secrets stay secret", """\
steps:
  - id: note
    call: isales.appoint.create
    params: {vdnId: 8, taskId: "2201", callType: "1", calledNo: "13800000001", userAccount: ops,
             appointTime: "{{ now_ms() + 3600000 }}", remark: "token {{ secret('NOTE_TOKEN') }}"}
    outputs: {remark: "token {{ secret('NOTE_TOKEN') }}", id: "{{ values.appointId }}"}
  - id: per_item
    for_each: ["2201", "{{ secret('NOTE_TOKEN') }}"]
    as: task
    call: isales.appoint.list
    params: {vdnId: 8, taskId: "{{ task }}", offset: 0, limit: 5}
    outputs: {asked: "{{ task }}"}
  - id: leak
    call: isales.appoint.create
    params: {vdnId: 8, taskId: "2201", callType: "1", calledNo: "{{ secret('NOTE_TOKEN') }}",
             userAccount: ops, appointTime: "{{ now_ms() + 3600000 }}"}
outputs:
  echoed: "{{ steps.note.outputs }}"
""")


def _forms(secret: str) -> list[str]:
    import base64
    from urllib.parse import quote, quote_plus

    return [secret, quote(secret, safe=""), quote_plus(secret),
            base64.b64encode(secret.encode()).decode()]


def _run_id(output: str) -> str:
    return next(line.split()[1] for line in output.splitlines() if line.startswith("run "))


def test_secret_values_appear_in_no_output(live_env: str, monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path, own_journal: Path) -> None:
    token = "tok/3n+v@lue=9 x"
    monkeypatch.setenv("NOTE_TOKEN", token)
    failing = tmp_path / "failing.yaml"
    failing.write_text(SECRET_PLAYBOOK)
    passing = tmp_path / "passing.yaml"
    passing.write_text(SECRET_PLAYBOOK[:SECRET_PLAYBOOK.index("  - id: leak")]
                       + SECRET_PLAYBOOK[SECRET_PLAYBOOK.index("outputs:\n  echoed"):])
    report, cassettes = tmp_path / "report.json", tmp_path / "cassettes"
    ok = outbound("run", str(passing), "-v", "--report-json", str(report), "--record",
                  str(cassettes), "--report-html", str(tmp_path / "report.html"),
                  "--report-junit", str(tmp_path / "junit.xml"))
    assert ok.exit_code == 0, ok.output
    assert '"remark": "token [redacted]"' in ok.stdout
    assert '"remark": "token [redacted]"' in report.read_text()
    failed = outbound("run", str(failing), "-v")
    assert failed.exit_code == 2  # the leak's number breaks its rule: refused before sending
    assert "param calledNo: '[redacted]' does not match" in failed.stderr
    dry = outbound("run", str(passing), "--dry-run")
    assert '"remark": "token [redacted]"' in dry.stdout
    written = {"run output": ok.output, "report": report.read_text(),
               "failing run": failed.output, "dry run": dry.output,
               "html report": (tmp_path / "report.html").read_text(),
               "junit": (tmp_path / "junit.xml").read_text(),
               "journal": b"".join(p.read_bytes() for p in own_journal.parent.glob(
                   "journal.sqlite*")).decode("utf-8", errors="replace"),  # with its WAL
               "shown run": outbound("runs", "show", _run_id(ok.stdout)).output}
    written |= {f"cassette {p.name}": p.read_text() for p in cassettes.glob("*.json")}
    assert len(written) > 8
    secrets = [token, demo_credentials.ISALES_SK, demo_credentials.ISALES_AK]
    for where, text in written.items():
        for secret in secrets:
            for form in _forms(secret):
                assert form not in text, f"{form!r} leaked into the {where}"
