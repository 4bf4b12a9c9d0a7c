"""Signing as the vendors require, checked by verifiers written here from VENDORS.md."""

from __future__ import annotations

import asyncio
import base64
import calendar
import hashlib
import hmac
import time
from pathlib import Path
from urllib.parse import parse_qsl, quote

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from runner.auth import build_auth
from runner.auth.huawei_c2 import HuaweiC2Auth
from runner.clock import SimulatedClock
from runner.engine.launch import execute
from runner.errors import InputError
from runner.playbook import load_playbook, resolve_inputs
from runner.sim import demo_credentials
from runner.sim.app import Simulator
from runner.spec import Auth
from tests.conftest import ROOT, use_simulator


def test_the_vendors_md_test_vector() -> None:
    signed_at = calendar.timegm(time.strptime("2025-05-15T09:48:56", "%Y-%m-%dT%H:%M:%S"))
    request = httpx.Request(
        "POST", "https://10.22.26.181:28080/rest/isales/v1/openapi/campaigns/1/appoint/list",
        headers={"Content-Type": "application/json;charset=UTF-8"},
        content=b'{"limit":10,"offset":0,"taskId":"1106025109"}')
    auth = HuaweiC2Auth("EXAMPLEAK", "EXAMPLESK", SimulatedClock(start=signed_at))
    signed = next(auth.auth_flow(request))
    assert signed.headers["Authorization"] == (
        "auth-v2/EXAMPLEAK/2025-05-15T09:48:56Z/content-type;host/"
        "33b2cae3896ad1e8f82ad4c81df47f9818ec3bb40df642c0b770b4daee5fcb0c")


def _independent_c2_check(request: httpx.Request, ak: str, sk: str) -> bool:
    """VENDORS.md's steps, written again here without the engine's code."""
    def enc(data: bytes) -> str:
        return quote(data, safe="-._~")

    prefix, _, signature = request.headers["authorization"].rpartition("/")
    version, given_ak, _signed_at, names = prefix.split("/")
    assert (version, given_ak) == ("auth-v2", ak)
    lines = [request.method, request.url.raw_path.split(b"?")[0].decode()]
    query = parse_qsl(request.url.query.decode(), keep_blank_values=True)
    if query:
        lines.append("&".join(f"{enc(k.encode())}={enc(v.encode())}"
                              for k, v in sorted(query)))
    lines.append(names)
    lines += [f"{enc(n.encode())}:{enc(request.headers[n].encode())}"
              for n in sorted(names.split(";"))]
    canonical = "\n".join(lines) + "\n" + enc(request.content)
    key = hmac.new(sk.encode(), prefix.encode(), hashlib.sha256).hexdigest()
    wanted = hmac.new(key.encode(), canonical.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(wanted, signature)


class Recording(httpx.AsyncBaseTransport):
    """Keeps every request the engine sends, then hands it to the real simulator."""

    def __init__(self, simulator: Simulator) -> None:
        self.inner = httpx.ASGITransport(app=simulator)
        self.sent: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return await self.inner.handle_async_request(request)


def test_requests_signed_by_the_engine_pass_independent_verifiers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    use_simulator(monkeypatch, "http://127.0.0.1:8700")  # in process: no server listens
    clock = SimulatedClock()
    network = Recording(Simulator(clock=clock))
    playbook = load_playbook(ROOT / "playbooks" / "speech-callbacks.yaml")
    result = asyncio.run(execute(playbook, resolve_inputs(playbook, {}), lambda e: None,
                                 transport=network, clock=clock))
    assert result.status == "ok", result.error
    isales = [r for r in network.sent if r.url.path.startswith("/rest/isales")]
    speech = [r for r in network.sent if r.url.path.startswith("/speech")]
    assert len(isales) > 5 and len(speech) == 2
    assert {r.method for r in isales} == {"GET", "POST"}
    for request in isales:
        assert request.headers["host"] == "127.0.0.1:8700"
        assert _independent_c2_check(request, demo_credentials.ISALES_AK,
                                     demo_credentials.ISALES_SK)
    public = serialization.load_pem_public_key(demo_credentials.SPEECH_PUBLIC_KEY.encode())
    assert isinstance(public, rsa.RSAPublicKey)
    for request in speech:
        text = (request.headers["appId"] + request.headers["timestamp"]).encode()
        assert len(request.headers["sign"]) == 344  # RSA-2048, as the vendor page's sample
        public.verify(base64.b64decode(request.headers["sign"]), text, padding.PKCS1v15(),
                      hashes.SHA256())  # raises if the signature is wrong


def test_a_changed_byte_breaks_the_signature() -> None:
    request = httpx.Request("POST", "http://h:1/p?b=2&a=1", headers={"Content-Type": "x"},
                            content=b'{"a":1}')
    signed = next(HuaweiC2Auth("AK", "SK", SimulatedClock()).auth_flow(request))
    assert _independent_c2_check(signed, "AK", "SK")
    tampered = httpx.Request("POST", "http://h:1/p?b=2&a=1", headers=signed.headers,
                             content=b'{"a":2}')
    assert not _independent_c2_check(tampered, "AK", "SK")


@pytest.mark.parametrize(("auth", "credentials", "message"), [
    (Auth("huawei-c2"), {"ak": "x"}, "service s: the huawei-c2 scheme needs sk in credentials "
                                     "(it takes: ak, sk)"),
    (Auth("api-key", {"in": "query", "name": "api_key"}), {"api_key": "k", "ak": "x"},
     "service s: the api-key scheme does not take ak in credentials (it takes: api_key)"),
    (Auth("rsa-sign"), {"app_id": "a", "private_key": "/etc/keys/speech.pem"},
     "service s: credentials.private_key is not a PEM RSA private key (it is not PEM text, "
     "which starts -----BEGIN; a key in a file is read with secret('NAME') from the file "
     "named by NAME_FILE)"),
    (Auth("rsa-sign"), {"app_id": "a", "private_key": "-----BEGIN PUBLIC KEY-----\nMFww\n"
                                                      "-----END PUBLIC KEY-----\n"},
     "service s: credentials.private_key is not a PEM RSA private key (it is a public key: "
     "the private one signs, the vendor keeps the public one)"),
    (Auth("rsa-sign"), {"app_id": "a", "private_key": "-----BEGIN PRIVATE KEY-----\nabc\n"
                                                      "-----END PRIVATE KEY-----\n"},
     "service s: credentials.private_key is not a PEM RSA private key (Unable to load PEM"),
    (Auth("huawei-c2"), {"ak": "x", "sk": ""},  # e.g. secret('ISALES_SK') of an empty variable
     "service s: credentials.sk is empty (check the variable or file it comes from)"),
    (Auth("api-key", {"in": "query", "name": "api_key"}), {"api_key": "k1\n"},  # pasted
     "service s: credentials.api_key ends with a line break (did the variable or file it comes "
     "from keep a newline?); no vendor takes one, so nothing is sent"),
    (Auth("bearer"), {"token": "t0k\r\nX-Admin: 1"},
     "service s: credentials.token holds a line break; no vendor takes one, so nothing is sent"),
])
def test_wrong_credentials_are_refused_before_sending(auth: Auth, credentials: dict[str, str],
                                                      message: str) -> None:
    with pytest.raises(InputError) as caught:
        build_auth("s", auth, credentials, SimulatedClock())
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(("auth", "credentials", "where", "value"), [
    (Auth("api-key", {"in": "query", "name": "api_key"}), {"api_key": "k1"}, "query",
     "api_key=k1"),
    (Auth("api-key", {"in": "header", "name": "X-Key"}), {"api_key": "k1"}, "x-key", "k1"),
    (Auth("bearer"), {"token": "t0k"}, "authorization", "Bearer t0k"),
    (Auth("basic"), {"username": "u", "password": "p"}, "authorization", "Basic dTpw"),
])
def test_simple_schemes_put_the_credential_where_the_spec_says(
        auth: Auth, credentials: dict[str, str], where: str, value: str) -> None:
    scheme = build_auth("s", auth, credentials, SimulatedClock())
    assert scheme is not None
    request = next(scheme.auth_flow(httpx.Request("GET", "http://h/x")))
    found = request.url.query.decode() if where == "query" else request.headers[where]
    assert found == value


def test_the_demo_key_files_are_a_pair(tmp_path: Path) -> None:
    key = serialization.load_pem_private_key(
        demo_credentials.SPEECH_PRIVATE_KEY_FILE.read_bytes(), password=None)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    assert public.decode() == demo_credentials.SPEECH_PUBLIC_KEY
