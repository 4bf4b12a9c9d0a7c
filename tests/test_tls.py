"""TLS to vendor servers: checked by default, a private CA by path, off only when said."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from runner.sim import demo_credentials
from tests.conftest import outbound, sim_server
from tests.proxy import VENDOR, ForwardProxy, vendor_url


def _certificate(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name,
                 signer: ec.EllipticCurvePrivateKey, *, ca: bool,
                 strict: bool = True) -> x509.Certificate:
    """A certificate; `strict`: with the key identifiers (and a CA's key usage) of RFC 5280,
    which a vendor's home-made CA often lacks."""
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(issuer).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if strict:  # what Python 3.13's strict verification asks of every chain
        builder = (builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                       signer.public_key()), critical=False))
    if ca and strict:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                         x509.DNSName(VENDOR)]),  # as a proxy reaches it
            critical=False)
    return builder.sign(signer, hashes.SHA256())


@pytest.fixture(scope="module", params=[True, False], ids=["rfc5280", "home-made"])
def private_ca(tmp_path_factory: pytest.TempPathFactory,
               request: pytest.FixtureRequest) -> Iterator[tuple[str, Path]]:
    """A vendor server on https://127.0.0.1 with a certificate from a private CA: one made
    by the book, and one without key identifiers (which Python 3.13 verifies strictly)."""
    folder = tmp_path_factory.mktemp("tls")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test private CA")])
    ca = _certificate("test private CA", ca_key, ca_name, ca_key, ca=True,
                      strict=request.param)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _certificate("127.0.0.1", server_key, ca_name, ca_key, ca=False,
                          strict=request.param)
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "server.pem").write_bytes(server.public_bytes(serialization.Encoding.PEM))
    (folder / "server.key").write_bytes(server_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    with sim_server("--tls-cert", str(folder / "server.pem"),
                    "--tls-key", str(folder / "server.key")) as base:
        yield base, folder / "ca.pem"


PLAYBOOK = """\
playbook_version: 1
name: tls
services:
  crm: {spec: crm, base_url: "{{ env.CRM_URL }}",
        credentials: {api_key: "{{ secret('CRM_API_KEY') }}"}VERIFY}
steps:
  - id: tasks
    call: crm.tasks.list
    params: {status: running}
"""


def _run(tmp_path: Path, base: str, verify: str, monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.setenv("CRM_URL", base)
    monkeypatch.setenv("CRM_API_KEY", demo_credentials.CRM_API_KEY)
    playbook = tmp_path / "tls.yaml"
    playbook.write_text(PLAYBOOK.replace("VERIFY", f", verify: {verify}" if verify else ""))
    return outbound("run", str(playbook))


def test_an_unknown_certificate_is_refused_by_default(
        private_ca: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _run(tmp_path, private_ca[0], "", monkeypatch)
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "crm.tasks.list: cannot connect to" in result.stderr  # type: ignore[attr-defined]
    assert "certificate verify failed" in result.stderr  # type: ignore[attr-defined]
    assert result.stderr.rstrip().endswith(  # type: ignore[attr-defined]
        "the vendor's certificate is not trusted here: if it is the vendor's own CA, give "
        "the service verify: CA-BUNDLE.pem")
    failed = next(line for line in result.stdout.splitlines()  # type: ignore[attr-defined]
                  if line.startswith("  FAIL  tasks"))
    assert "retr" not in failed  # trying again cannot help: it was not


def test_a_private_ca_is_named_per_service(
        private_ca: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _run(tmp_path, private_ca[0], str(private_ca[1]), monkeypatch)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "warn" not in result.output  # type: ignore[attr-defined]


def test_turning_checks_off_must_be_said_and_warns_each_run(
        private_ca: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(2):
        result = _run(tmp_path, private_ca[0], "false", monkeypatch)
        assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
        assert ("  warn  TLS certificate checking is off for service crm (verify: false)"
                in result.stdout)  # type: ignore[attr-defined]


@contextmanager
def _proxy(monkeypatch: pytest.MonkeyPatch, wanted: str, given: str) -> Iterator[ForwardProxy]:
    """A proxy that asks for the credentials `wanted`, named in HTTPS_PROXY with `given`."""
    with ForwardProxy(credentials=wanted).running() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url.replace("//", f"//{given}@"))
        yield proxy


def test_https_goes_through_the_proxys_tunnel_its_certificate_checked_end_to_end(
        private_ca: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base, ca = vendor_url(private_ca[0]), private_ca[1]
    with _proxy(monkeypatch, "ops:pr0xy-pass-9", "ops:pr0xy-pass-9") as proxy:
        result = _run(tmp_path, base, str(ca), monkeypatch)
        assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
        assert proxy.asked == [f"CONNECT {base.removeprefix('https://')} HTTP/1.1"]
        untrusted = _run(tmp_path, base, "", monkeypatch)  # the CA not named: refused
    assert untrusted.exit_code == 1  # type: ignore[attr-defined]
    assert untrusted.stderr.rstrip().endswith(  # type: ignore[attr-defined]
        "give the service verify: CA-BUNDLE.pem")
    assert "pr0xy-pass-9" not in result.output + untrusted.output  # type: ignore[attr-defined]


def test_a_proxy_that_will_not_open_the_tunnel_is_named_and_not_asked_again(
        private_ca: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base, ca = vendor_url(private_ca[0]), private_ca[1]
    with _proxy(monkeypatch, "ops:the-right-one", "ops:wrong-one") as proxy:
        result = _run(tmp_path, base, str(ca), monkeypatch)
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert result.stderr == (  # type: ignore[attr-defined]
        f"error: step tasks: crm.tasks.list: the proxy {proxy.url} (HTTPS_PROXY) would not "
        f"open the way to {base} (it answered 407 Proxy Authentication Required); give its "
        "credentials in HTTPS_PROXY as http://user:password@host:port\n")
    assert len(proxy.asked) == 1  # refused: asking again would not help


def test_a_missing_ca_bundle_is_an_input_error(tmp_path: Path) -> None:
    playbook = tmp_path / "tls.yaml"
    playbook.write_text(PLAYBOOK.replace("VERIFY", ", verify: certs/ca.pem"))
    result = outbound("validate", str(playbook))
    assert result.exit_code == 2
    assert "verify: the CA bundle 'certs/ca.pem' does not exist" in result.output
