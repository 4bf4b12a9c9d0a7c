"""Vendors reached through a proxy, as a corporate network has them: HTTP_PROXY, HTTPS_PROXY,
ALL_PROXY and NO_PROXY from the environment, as curl takes them (https: tests/test_tls.py).
The simulator is named VENDOR here, a name only the proxy resolves (tests/proxy.py)."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.engine.proxies import proxy_for
from runner.errors import InputError
from tests.conftest import free_port, outbound, use_simulator
from tests.proxy import VENDOR, ForwardProxy, serving, vendor_url

PROXY_PASSWORD = "pr0xy-pass-9"


@pytest.fixture
def live_env(served: str, monkeypatch: pytest.MonkeyPatch, in_repo: Path) -> str:
    """The shipped playbooks pointed at the simulator by the name only the proxy knows."""
    use_simulator(monkeypatch, vendor_url(served))
    return vendor_url(served)


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    with ForwardProxy().running() as running:
        yield running


def _creates(base: str) -> int:
    with urllib.request.urlopen(f"{base.replace(VENDOR, '127.0.0.1')}/_sim/state",
                                timeout=5) as answer:
        return int(json.load(answer)["calls"].get("huawei-isales.appoint.create", 0))


PLAYBOOK = """\
playbook_version: 1
name: tasks
services:
  crm: {spec: crm, base_url: "{{ env.CRM_URL }}", retries: {attempts: 1},
        credentials: {api_key: "{{ secret('CRM_API_KEY') }}"}}
steps:
  - id: tasks
    call: crm.tasks.list
    params: {status: running}
"""


def test_a_campaign_goes_through_the_proxy_the_environment_names(
        live_env: str, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    before = _creates(live_env)
    result = outbound("run", "playbooks/crm-callbacks.yaml")
    assert result.exit_code == 0, result.output
    assert _creates(live_env) - before == 3  # the reservations, made through the proxy
    assert proxy.asked  # every connection the run opened, by the vendor's whole URL
    assert all(line.split()[1].startswith(f"{live_env}/") for line in proxy.asked)


@pytest.mark.parametrize("no_proxy", [VENDOR, ".test", "*", f"other.example, {VENDOR}:PORT"])
def test_no_proxy_names_the_hosts_reached_directly(
        live_env: str, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        no_proxy: str) -> None:
    """Reached directly, the name resolves nowhere: the run says so, the proxy saw nothing."""
    playbook = tmp_path / "tasks.yaml"
    playbook.write_text(PLAYBOOK)
    monkeypatch.setenv("http_proxy", proxy.url)
    monkeypatch.setenv("NO_PROXY", no_proxy.replace("PORT", live_env.rsplit(":", 1)[1]))
    result = outbound("run", str(playbook))
    assert result.exit_code == 1
    assert f"crm.tasks.list: cannot connect to {live_env} (unknown host: " in result.stderr
    assert proxy.asked == []


def test_this_machines_own_addresses_are_never_asked_of_a_proxy(
        served: str, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch, in_repo: Path) -> None:
    """No proxy can reach them for us: the README's `sim serve` workflow works behind one."""
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    for base in (served, served.replace("127.0.0.1", "localhost")):
        use_simulator(monkeypatch, base)
        result = outbound("run", "playbooks/crm-callbacks.yaml")
        assert result.exit_code == 0, result.output
    assert proxy.asked == []


def test_a_proxys_password_is_sent_to_it_and_shown_nowhere(
        live_env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        own_journal: Path) -> None:
    report = tmp_path / "report.json"
    with ForwardProxy(credentials=f"ops:{PROXY_PASSWORD}").running() as proxy:
        monkeypatch.setenv("ALL_PROXY", proxy.url.replace("//", f"//ops:{PROXY_PASSWORD}@"))
        result = outbound("run", "playbooks/crm-callbacks.yaml", "-v",
                          "--report-json", str(report))
    assert result.exit_code == 0, result.output
    assert proxy.asked
    for seen in (result.output, report.read_text(), own_journal.read_bytes().decode("latin-1")):
        assert PROXY_PASSWORD not in seen


def test_a_proxy_asking_for_credentials_it_was_not_given_is_named(
        live_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with ForwardProxy(credentials=f"ops:{PROXY_PASSWORD}").running() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        result = outbound("run", "playbooks/crm-callbacks.yaml")
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: step tasks: crm.tasks.list: the proxy {proxy.url} (HTTP_PROXY) would not open "
        f"the way to {live_env} (it answered 407 Proxy Authentication Required); give its "
        "credentials in HTTP_PROXY as http://user:password@host:port\n")
    assert len(proxy.asked) == 1  # refused: asking again would not help


async def _endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A vendor whose answer never ends: chunk after chunk of a JSON list."""
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n5\r\n[1, 2\r\n")
    chunk = b"%x\r\n%s\r\n" % (4096, b", 3" * 1365 + b" ")
    try:
        while True:
            writer.write(chunk)
            await writer.drain()
    except ConnectionError:
        pass


def test_an_answer_that_never_ends_is_cut_at_max_response_through_a_proxy(
        proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Through a proxy, httpx's pool reads the body: only as far as max_response."""
    playbook = tmp_path / "tasks.yaml"
    playbook.write_text(PLAYBOOK.replace("retries: {attempts: 1},",
                                         "retries: {attempts: 1}, max_response: 64KB, "
                                         "timeout: {total: 2s},"))
    monkeypatch.setenv("CRM_API_KEY", "key")
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    with serving(_endless) as vendor:
        monkeypatch.setenv("CRM_URL", vendor_url(vendor))
        result = outbound("run", str(playbook))
    assert result.exit_code == 1
    assert "crm.tasks.list answered more than 65536 bytes (max_response); refused" in \
        result.stderr, result.stderr


def test_a_proxy_that_is_not_there_is_named_in_the_error(
        live_env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    playbook = tmp_path / "tasks.yaml"
    playbook.write_text(PLAYBOOK)
    port = free_port()
    monkeypatch.setenv("HTTP_PROXY", f"127.0.0.1:{port}")  # no scheme: an HTTP proxy
    result = outbound("run", str(playbook))
    assert result.exit_code == 1
    assert (f"crm.tasks.list: cannot connect to {live_env} through the proxy "
            f"http://127.0.0.1:{port} (HTTP_PROXY) (connection refused)") in result.stderr


def test_a_socks_proxy_is_refused_before_anything_is_sent(
        live_env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    playbook = tmp_path / "tasks.yaml"
    playbook.write_text(PLAYBOOK)
    monkeypatch.setenv("all_proxy", "socks5://ops:secret-word@127.0.0.1:1080")
    result = outbound("run", str(playbook))
    assert result.exit_code == 2
    assert result.stderr == (
        "error: all_proxy names the proxy socks5://127.0.0.1:1080, which outbound cannot use: "
        "it speaks to HTTP and HTTPS proxies only; name one, or reach the vendor directly "
        "(NO_PROXY)\n")


@pytest.mark.parametrize(("url", "environ", "through"), [
    ("https://vendor.example", {"HTTPS_PROXY": "http://p:3128"}, "http://p:3128 (HTTPS_PROXY)"),
    ("https://vendor.example", {"HTTP_PROXY": "http://p:3128"}, None),  # for http URLs only
    ("http://vendor.example", {"HTTP_PROXY": "p:3128", "ALL_PROXY": "http://q:1"},
     "http://p:3128 (HTTP_PROXY)"),
    ("http://vendor.example", {"ALL_PROXY": "https://q:1"}, "https://q:1 (ALL_PROXY)"),
    ("https://vendor.example", {"https_proxy": "http://low:1", "HTTPS_PROXY": "http://up:1"},
     "http://low:1 (https_proxy)"),
    ("https://api.vendor.example", {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "vendor.example"},
     None),
    ("https://api.vendor.example", {"HTTPS_PROXY": "http://p:1", "NO_PROXY": ".vendor.example"},
     None),
    ("https://othervendor.example", {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "vendor.example"},
     "http://p:1 (HTTPS_PROXY)"),
    ("https://vendor.example", {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "vendor.example:443"},
     None),
    ("https://vendor.example:8443", {"HTTPS_PROXY": "http://p:1",
                                     "no_proxy": "vendor.example:443"},
     "http://p:1 (HTTPS_PROXY)"),
    ("http://10.1.2.3:8080", {"HTTP_PROXY": "http://p:1", "NO_PROXY": "10.0.0.0/8"}, None),
    ("http://[fd00::1]:8080", {"HTTP_PROXY": "http://p:1", "NO_PROXY": "fd00::1"}, None),
    ("http://11.1.2.3", {"HTTP_PROXY": "http://u:pw-1@p:1", "NO_PROXY": "10.0.0.0/8"},
     "http://p:1 (HTTP_PROXY)"),
    ("http://127.0.0.2:8700", {"HTTP_PROXY": "http://p:1"}, None),  # this machine's own
    ("http://[::1]:8700", {"HTTP_PROXY": "http://p:1"}, None),
    ("https://LocalHost:8443", {"HTTPS_PROXY": "http://p:1"}, None),
])
def test_which_proxy_a_url_goes_through(url: str, environ: dict[str, str],
                                        through: str | None) -> None:
    proxy = proxy_for(url, environ)
    assert (None if proxy is None else str(proxy)) == through


@pytest.mark.parametrize(("given", "told"), [
    ("http://p:port", "HTTPS_PROXY: http://p:port is not a proxy's URL (Port could not be cast"),
    ("http://u:pw-2@:3128", "HTTPS_PROXY: http://:3128 names no proxy to connect to"),
])
def test_a_proxy_url_that_names_no_proxy_is_an_input_error(given: str, told: str) -> None:
    with pytest.raises(InputError) as raised:
        proxy_for("https://vendor.example", {"HTTPS_PROXY": given})
    assert str(raised.value).startswith(told)
