from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import xmlschema
from click.testing import CliRunner, Result

from runner.cli import main
from runner.secrets import REDACTOR
from runner.sim import demo_credentials

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
JUNIT_XSD = xmlschema.XMLSchema(DATA / "junit.xsd")  # what GitLab and Jenkins read
FAILING_LIST = DATA / "playbooks" / "failing-list.yaml"  # a step without for_each that fails


COLLECTION_CACHE = tempfile.mkdtemp(prefix="outbound-cache-")


def pytest_configure(config: pytest.Config) -> None:
    """Files loaded while tests are collected remember their passes in a folder of the test
    run's own, never in the home folder's cache (each test then gets its own: `own_cache`).
    The tests reach their loopback vendors directly, whatever proxy the machine names (those
    of tests/test_proxies.py name their own), and so do their own requests to a simulator."""
    os.environ["OUTBOUND_CACHE_DIR"] = COLLECTION_CACHE
    for name in list(os.environ):
        if name.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
            del os.environ[name]
    urllib.request.install_opener(urllib.request.build_opener(urllib.request.ProxyHandler({})))


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(COLLECTION_CACHE, ignore_errors=True)


def isales_playbook(name: str, rest: str) -> str:
    """A playbook's text: `name`, the iSales service on the environment's simulator (as
    `use_simulator` or --sim sets it), then `rest` (more of the service, steps, outputs)."""
    return f"""\
playbook_version: 1
name: {name}
services:
  isales:
    spec: huawei-isales
    base_url: "{{{{ env.ISALES_URL }}}}"
    credentials: {{ak: "{{{{ secret('ISALES_AK') }}}}", sk: "{{{{ secret('ISALES_SK') }}}}"}}
""" + rest


@pytest.fixture(autouse=True)
def own_journal(tmp_path_factory: pytest.TempPathFactory,
                monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test journals to a file of its own, never into the working tree."""
    path = tmp_path_factory.mktemp("journal") / "journal.sqlite"
    monkeypatch.setenv("OUTBOUND_JOURNAL", str(path))
    return path


@pytest.fixture(autouse=True)
def own_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test remembers the files it found valid in a folder of its own (so each checks
    its files afresh), never in the home folder's cache."""
    path = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("OUTBOUND_CACHE_DIR", str(path))
    return path


@pytest.fixture(autouse=True)
def own_secrets() -> Iterator[None]:
    """The secrets a test's commands register are forgotten after it, as a command's are when
    its process ends: a short one (four digits) would mask the ids and times later tests
    journal."""
    kept = {name: set(value) if isinstance(value, set) else value
            for name, value in vars(REDACTOR).items()}
    yield
    vars(REDACTOR).clear()
    vars(REDACTOR).update(kept)  # copies: the test's additions went to the sets it had


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run from the repository root, as the README's commands do."""
    monkeypatch.chdir(ROOT)
    yield ROOT


def outbound(*args: str, input: str | None = None) -> Result:
    """Run the real `outbound` command line in-process."""
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def offered(words: str) -> list[tuple[str, str, str]]:
    """What zsh is told a Tab after `words` offers: (type, value, help) each, as the shell
    asks the real command (the last word is the one being completed, maybe empty)."""
    result = CliRunner().invoke(main, [], prog_name="outbound", env={
        "_OUTBOUND_COMPLETE": "zsh_complete", "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split(" ")) - 1)})
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    lines = result.stdout.splitlines() if result.stdout.strip() else []
    return [(lines[i], lines[i + 1], lines[i + 2]) for i in range(0, len(lines), 3)]


def values(words: str) -> list[str]:
    return [value for _, value, _ in offered(words)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def sim_server(*options: str) -> Iterator[str]:
    """`outbound sim serve OPTIONS` in its own process on a free loopback port; its URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "runner", "sim", "serve", "--port", str(port), *options],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    scheme = "https" if "--tls-cert" in options else "http"
    base = f"{scheme}://127.0.0.1:{port}"
    unchecked = ssl._create_unverified_context()  # only to see that the server is up
    deadline = time.monotonic() + 15
    with process:  # its output pipe closed too
        try:
            while True:
                try:
                    urllib.request.urlopen(f"{base}/_sim/state", timeout=1, context=unchecked
                                           if scheme == "https" else None).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        process.kill()
                        output = process.stdout.read() if process.stdout else ""
                        pytest.fail(f"sim serve did not start: {output}")
                    time.sleep(0.1)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """One `outbound sim serve` for the module's tests; its URL."""
    with sim_server() as base:
        yield base


def use_simulator(monkeypatch: pytest.MonkeyPatch, base: str) -> None:
    """The shipped playbooks' services pointed at `base`, with the simulator's credentials."""
    for name in ("ISALES_URL", "SPEECH_URL", "CRM_URL"):
        monkeypatch.setenv(name, base)
    for name, value in demo_credentials.ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
