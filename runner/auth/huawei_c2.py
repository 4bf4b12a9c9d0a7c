"""Huawei "C2" AK/SK request signing (auth-v2), as Huawei's published demo code does it.

    prefix     = "auth-v2/" + AK + "/" + timestamp + "/" + signedHeaders
    canonical  = "\\n".join([method, raw path, (sorted query, only if any), signedHeaders,
                             *sorted "enc(name):enc(value)" header lines]) + "\\n" + enc(body)
    signingKey = hex(HMAC-SHA256(SK, prefix))
    signature  = hex(HMAC-SHA256(signingKey, canonical))
    Authorization: auth-v2/{AK}/{timestamp}/{signedHeaders}/{signature}

`enc` percent-encodes every UTF-8 byte but A-Z a-z 0-9 - . _ ~ (upper-case hex). The values
signed are exactly the values sent: the Host header httpx sends, the body bytes as sent.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import parse_qsl

import httpx

from runner.clock import Clock

PREFIX = "auth-v2"
_UNRESERVED = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
# byte value -> its text in `enc`: one str.translate over the bytes read as latin-1 encodes a
# whole body in C (urllib's quote goes byte by byte in Python, twice as slow on a JSON body)
_ENCODED = [chr(byte) if byte in _UNRESERVED else f"%{byte:02X}" for byte in range(256)]


def enc(value: str | bytes) -> str:
    data = value if isinstance(value, bytes) else value.encode()
    return data.decode("latin-1").translate(_ENCODED)


def timestamp_text(epoch: float, form: str = "seconds") -> str:
    text = _utc_second(int(epoch))
    if form == "milliseconds":
        text += f".{int(epoch * 1000) % 1000:03d}"
    return text + "Z"


@lru_cache(maxsize=4)
def _utc_second(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


def canonical_request(method: str, path: str, query: Sequence[tuple[str, str]],
                      headers: Sequence[tuple[str, str]], body: bytes, *,
                      sign_empty_query: bool = False) -> str:
    names = ";".join(name for name, _ in headers)
    lines = [method, path]
    if query or sign_empty_query:
        lines.append("&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(query)))
    lines.append(names)
    lines += [_header_line(name, value) for name, value in headers]
    return "\n".join(lines) + "\n" + enc(body)


@lru_cache(maxsize=256)
def _header_line(name: str, value: str) -> str:  # the same Host and Content-Type every call
    return f"{enc(name)}:{enc(value)}"


def authorization(ak: str, sk: str, timestamp: str, method: str, path: str,
                  query: Sequence[tuple[str, str]], headers: Mapping[str, str], body: bytes, *,
                  sign_empty_query: bool = False) -> str:
    """The Authorization header value for one request; `headers` are the signed ones."""
    signed = sorted((name.lower(), value) for name, value in headers.items())
    names = ";".join(name for name, _ in signed)
    prefix = f"{PREFIX}/{ak}/{timestamp}/{names}"
    signing_key = _signing_key(sk, prefix)
    canonical = canonical_request(method, path, query, signed, body,
                                  sign_empty_query=sign_empty_query)
    signature = hmac.new(signing_key.encode(), canonical.encode(), hashlib.sha256).hexdigest()
    return f"{prefix}/{signature}"


@lru_cache(maxsize=8)
def _signing_key(sk: str, prefix: str) -> str:  # one per second, shared by that second's calls
    return hmac.new(sk.encode(), prefix.encode(), hashlib.sha256).hexdigest()


@dataclass
class HuaweiC2Auth(httpx.Auth):
    """Signs each request with the customer's AK/SK, as the spec's `auth` settings say."""

    ak: str
    sk: str
    clock: Clock
    signed_headers: Sequence[str] = ("content-type", "host")
    timestamp_format: str = "seconds"
    sign_empty_query: bool = False

    _signed: frozenset[bytes] = field(init=False, repr=False)

    requires_request_body = True

    def __post_init__(self) -> None:
        self._signed = frozenset(name.lower().encode() for name in self.signed_headers)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        headers = {name.decode("latin-1").lower(): value.decode("latin-1")
                   for name, value in request.headers.raw if name.lower() in self._signed}
        request.headers["Authorization"] = authorization(
            self.ak, self.sk, timestamp_text(self.clock.now(), self.timestamp_format),
            request.method, raw_path(request.url), query_pairs(request.url), headers,
            request.content, sign_empty_query=self.sign_empty_query)
        yield request


def raw_path(url: httpx.URL) -> str:
    return url.raw_path.split(b"?", 1)[0].decode("ascii")


def query_pairs(url: httpx.URL) -> list[tuple[str, str]]:
    query = url.query
    return parse_qsl(query.decode("ascii"), keep_blank_values=True) if query else []
