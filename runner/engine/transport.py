"""httpx's API over aiohttp's connection pool: the transport for live runs.

httpx's own async pool scans every connection on each request and slows sharply with
concurrency (about 400 req/s at 32 in flight here, against about 10,000 for aiohttp on the same
server; see tests/bench/bench_chain.py). This transport keeps httpx's `Auth`, `Client` and test
seams and sends through aiohttp instead.

Exceptions are mapped exactly, because the engine's safety rule depends on them: only a failure
to connect (the request never left) becomes `httpx.ConnectError`/`ConnectTimeout`, the one
case where a create may be sent again. A disconnect or reset after sending becomes
`httpx.ReadError` (outcome unknown). The `httpx-aiohttp` package maps every aiohttp connection
error, including a disconnect after sending, to `ConnectTimeout`, which would make a lost answer
look like a request that never left; hence this module.
"""

from __future__ import annotations

import ssl
from functools import lru_cache
from typing import Any

import aiohttp
import httpx

_DROPPED_REQUEST_HEADERS = frozenset({b"content-length", b"transfer-encoding", b"connection"})
_DROPPED_RESPONSE_HEADERS = frozenset({b"content-encoding", b"content-length",
                                       b"transfer-encoding"})


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends httpx requests with one pooled aiohttp session (opened on first use)."""

    def __init__(self, *, verify: ssl.SSLContext | bool = True, max_connections: int = 100) -> None:
        self._verify = verify
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=self._max_connections, ssl=self._verify)
        self._session = aiohttp.ClientSession(connector=connector, auto_decompress=True,
                                              cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session or self._open()
        headers = {k.decode("latin-1"): v.decode("latin-1")
                   for k, v in request.headers.raw if k.lower() not in _DROPPED_REQUEST_HEADERS}
        try:
            async with session.request(
                    request.method, str(request.url), headers=headers,
                    data=request.content or None, allow_redirects=False,
                    timeout=_timeout(request.extensions.get("timeout"))) as answer:
                body = await _read(answer, request.extensions.get("outbound.max_response"))
                return httpx.Response(  # a ready stream: content= would encode and copy again
                    answer.status, stream=httpx.ByteStream(body), request=request,
                    headers=[(k, v) for k, v in answer.raw_headers
                             if k.lower() not in _DROPPED_RESPONSE_HEADERS])
        except aiohttp.ClientConnectorError as exc:  # never connected: nothing was sent
            raise httpx.ConnectError(str(exc), request=request) from exc
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "connect timeout", request=request) from exc
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise httpx.ReadTimeout(str(exc) or "read timeout", request=request) from exc
        except aiohttp.ClientPayloadError as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc
        except aiohttp.ClientError as exc:  # disconnected or reset after sending
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def _read(answer: aiohttp.ClientResponse, limit: int | None) -> bytes:
    """The body; past `limit` bytes only limit + 1 are read (the caller refuses it). A body
    shorter than its Content-Length still raises, as a dropped connection must."""
    length = answer.content_length
    if limit is None or (length is not None and length <= limit):
        return await answer.read()
    return await answer.content.read(limit + 1)


@lru_cache(maxsize=64)
def _client_timeout(connect: float | None, pool: float | None,
                    read: float | None) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=None, sock_connect=connect, connect=_sum(pool, connect),
                                 sock_read=read)


def _timeout(spec: dict[str, Any] | None) -> aiohttp.ClientTimeout:
    spec = spec or {}
    return _client_timeout(spec.get("connect"), spec.get("pool"), spec.get("read"))


def _sum(*parts: float | None) -> float | None:
    present = [p for p in parts if p is not None]
    return sum(present) if present else None
