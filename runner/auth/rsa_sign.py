"""RSA request signing (the "speech openapi" vendor): appId, timestamp and sign headers.

ASSUMPTION (VENDORS.md): sign = base64(RSA PKCS#1 v1.5 SHA-256(private key, appId + timestamp)),
timestamp in epoch milliseconds. The signed text and the hash are spec settings.
"""

from __future__ import annotations

import base64
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from runner.clock import Clock

DEFAULT_HEADERS = {"app_id": "appId", "timestamp": "timestamp", "sign": "sign"}
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"sha256": hashes.SHA256, "sha1": hashes.SHA1}


def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    """An RSA private key from PEM text; ValueError says why it is not one."""
    key = serialization.load_pem_private_key(pem.strip().encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the key is not an RSA key")
    return key


def signed_text(template: str, app_id: str, timestamp: str) -> bytes:
    return template.format(app_id=app_id, timestamp=timestamp).encode()


def sign(key: rsa.RSAPrivateKey, text: bytes, hash_name: str = "sha256") -> str:
    return base64.b64encode(key.sign(text, padding.PKCS1v15(), _HASHES[hash_name]())).decode()


def verify(public_pem: str, signature: str, text: bytes, hash_name: str = "sha256") -> bool:
    key = serialization.load_pem_public_key(public_pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    try:
        key.verify(base64.b64decode(signature, validate=True), text, padding.PKCS1v15(),
                   _HASHES[hash_name]())
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass
class RsaSignAuth(httpx.Auth):
    """The speech API's scheme: app id, timestamp and an RSA signature of them, as headers."""

    app_id: str
    key: rsa.RSAPrivateKey
    clock: Clock
    headers: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_HEADERS))
    text_template: str = "{app_id}{timestamp}"
    hash_name: str = "sha256"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        timestamp = str(int(self.clock.now() * 1000))
        names = {**DEFAULT_HEADERS, **self.headers}
        request.headers[names["app_id"]] = self.app_id
        request.headers[names["timestamp"]] = timestamp
        request.headers[names["sign"]] = sign(
            self.key, signed_text(self.text_template, self.app_id, timestamp), self.hash_name)
        yield request


def settings(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {"headers": {**DEFAULT_HEADERS, **raw.get("headers", {})},
            "text_template": raw.get("signed_text", "{app_id}{timestamp}"),
            "hash_name": raw.get("hash", "sha256")}
