"""httpx's API over a lean HTTP/1.1 keep-alive pool: the transport for live runs.

Why not httpx's own pool: it scans every connection on each request and slows sharply with
concurrency (about 480 req/s at 32 in flight here). Why not aiohttp underneath: its client
machinery (sessions, trace hooks, cookie and redirect handling) costs ~90 us a request on this
machine, more than the rest of a checked, signed call. This pool writes each request with one
`transport.write` and parses the answer with httptools (llhttp, the C parser uvicorn uses):
~35 us a request (tests/bench/bench_chain.py). httpx's `Auth`, `Request` and `Response` stay.

What it speaks: HTTP/1.1 with keep-alive, one request at a time per connection, bodies by
Content-Length, chunked, or read to the close; TLS through `ssl`; a host's addresses tried
in turn a quarter second apart (happy eyeballs); no redirects or cookies (the engine uses
none), and no proxies (a service reached through one goes by httpx's own pool: see
runner/engine/launch.py). Connections idle longer than `keepalive_expiry` are closed rather
than reused.

Exceptions are mapped exactly, because the engine's safety rule depends on them: only a failure
to connect (the request never left) becomes `httpx.ConnectError`/`ConnectTimeout`, the one
case where a create may be sent again. A disconnect, reset or garbled answer after sending
becomes `httpx.ReadError`/`RemoteProtocolError`/`ReadTimeout`: the outcome is unknown.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import weakref
from collections import deque

import httptools
import httpx

Origin = tuple[str, str, int]
WATCH_EVERY = 1.0  # seconds between looks at waiting connections (or a quarter of a timeout)
CLOSE_WAIT = 1.0  # seconds aclose() lets a TLS connection say goodbye before cutting it off
# A host's next address is tried when its first has not connected within this (RFC 8305's
# 250 ms, as aiohttp and httpx's pool do): one address silent (an IPv6 route that goes
# nowhere) would otherwise take the whole connect timeout, and the next never be tried.
HAPPY_EYEBALLS = 0.25


class DeadlinePassed(httpx.ReadTimeout):
    """The call's total time (extensions["outbound.total"]) ran out before the answer did."""


class Http1Transport(httpx.AsyncBaseTransport):
    """Sends httpx requests over pooled HTTP/1.1 connections, at most `max_connections`.

    Besides httpx's connect/read/pool timeouts it keeps a total one per call
    (extensions["outbound.total"], seconds), raising DeadlinePassed: the caller needs no
    timer of its own (`keeps_deadlines`).
    """

    keeps_deadlines = True

    def __init__(self, *, verify: ssl.SSLContext | bool = True, max_connections: int = 100,
                 keepalive_expiry: float = 5.0) -> None:
        self._verify = verify
        self._tls: ssl.SSLContext | None = None  # made on the first https connection (40 ms)
        self._keepalive_expiry = keepalive_expiry
        self._idle: dict[Origin, list[_Connection]] = {}
        self._free = max_connections  # connections that may still be opened
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._busy: set[_Connection] = set()  # awaiting an answer, watched for silence
        self._open: weakref.WeakSet[_Connection] = weakref.WeakSet()  # every one made
        self._watchdog: asyncio.TimerHandle | None = None
        self._watch_every = WATCH_EVERY

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        timeouts: dict[str, float | None] = request.extensions.get("timeout") or {}
        total: float | None = request.extensions.get("outbound.total")
        message = _head(request) + await request.aread()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + total if total else None
        if total:  # connecting, or waiting for a connection, spends the total too
            timeouts = {**timeouts, "pool": _within(timeouts.get("pool"), total),
                        "connect": _within(timeouts.get("connect"), total)}
        connection = await self._acquire(origin, timeouts, request)
        read_timeout = timeouts.get("read")
        if read_timeout or deadline is not None:
            self._watch(connection, read_timeout, deadline)
        try:
            status, headers, content = await connection.exchange(
                message, read_timeout, request.extensions.get("outbound.max_response"))
        except httpx.TransportError as exc:
            exc.request = request
            self._release(connection)
            raise
        except BaseException:  # cancelled mid-answer: the connection's state is unknown
            connection.close()
            self._release(connection)
            raise
        self._release(connection)
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(content),
                              request=request)

    async def aclose(self) -> None:
        """Close every connection, and return once their sockets are: a transport's close
        otherwise runs on a later loop turn, which may never come."""
        self._idle.clear()
        closing = [connection.closed for connection in self._open if not connection.closed.done()]
        for connection in self._open:
            connection.close()
        if not closing:
            return
        _, pending = await asyncio.wait(closing, timeout=CLOSE_WAIT)
        if pending:  # a TLS peer that does not answer the goodbye
            for connection in self._open:
                connection.close(at_once=True)
            await asyncio.wait(pending, timeout=CLOSE_WAIT)

    async def _acquire(self, origin: Origin, timeouts: dict[str, float | None],
                       request: httpx.Request) -> _Connection:
        loop = asyncio.get_running_loop()
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if connection.reusable and loop.time() - connection.idle_since < self._keepalive_expiry:
                return connection
            connection.close()
            self._free += 1
        if self._free <= 0 and not self._evict_idle():
            await self._wait_for_slot(timeouts.get("pool"), request)
            return await self._acquire(origin, timeouts, request)
        self._free -= 1
        try:
            return await self._connect(origin, timeouts.get("connect"), request)
        except BaseException:
            self._free += 1
            self._wake_one()
            raise

    async def _connect(self, origin: Origin, timeout: float | None,
                       request: httpx.Request) -> _Connection:
        scheme, host, port = origin
        tls = self._tls_context() if scheme == "https" else None
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                _, connection = await loop.create_connection(
                    lambda: _Connection(loop, origin), host, port, ssl=tls,
                    server_hostname=host if tls else None, happy_eyeballs_delay=HAPPY_EYEBALLS)
            self._open.add(connection)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"no connection to {host}:{port} within {timeout:g}s",
                                       request=request) from None
        except (OSError, ssl.SSLError) as exc:  # refused, unreachable, unknown host, TLS
            raise httpx.ConnectError(why_not_connected(exc),
                                     request=request) from exc  # the cause says if TLS
        return connection

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = (self._verify if isinstance(self._verify, ssl.SSLContext)
                         else tls_context(self._verify))
        return self._tls

    def _watch(self, connection: _Connection, read_timeout: float | None,
               deadline: float | None) -> None:
        """Read timeouts and deadlines: one watchdog looks over every waiting connection a few
        times per timeout, instead of a timer per request (asyncio keeps timers in a heap
        ordered in Python; arming and cancelling one per request cost ~8 us)."""
        self._busy.add(connection)
        connection.deadline = deadline
        every = min(WATCH_EVERY, (read_timeout or WATCH_EVERY * 4) / 4,
                    (deadline - connection.loop.time()) / 4 if deadline else WATCH_EVERY)
        if self._watchdog is None or every < self._watch_every:
            if self._watchdog is not None:
                self._watchdog.cancel()
            self._watch_every = every
            self._watchdog = connection.loop.call_later(every, self._look, connection.loop)

    def _look(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        for connection in list(self._busy):
            connection.check_silence(now)
        self._watchdog = (loop.call_later(self._watch_every, self._look, loop) if self._busy
                          else None)
        if self._watchdog is None:
            self._watch_every = WATCH_EVERY

    def _release(self, connection: _Connection) -> None:
        self._busy.discard(connection)
        if connection.reusable:
            connection.idle_since = connection.loop.time()
            self._idle.setdefault(connection.origin, []).append(connection)
        else:
            connection.close()
            self._free += 1
        self._wake_one()

    def _evict_idle(self) -> bool:
        """Close one idle connection (to any origin) to make room; False when none is idle."""
        for connections in self._idle.values():
            if connections:
                connections.pop(0).close()
                self._free += 1
                return True
        return False

    async def _wait_for_slot(self, timeout: float | None, request: httpx.Request) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                await waiter
        except TimeoutError:
            raise httpx.PoolTimeout(f"no free connection within {timeout:g}s",
                                    request=request) from None
        finally:
            if waiter in self._waiting:
                self._waiting.remove(waiter)

    def _wake_one(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: sends a request, gathers the answer httptools parses."""

    def __init__(self, loop: asyncio.AbstractEventLoop, origin: Origin) -> None:
        self.loop = loop
        self.origin = origin
        self.idle_since = 0.0
        self.reusable = False
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._answer: asyncio.Future[tuple[int, list[tuple[bytes, bytes]], bytes]] | None = None
        self._limit: int | None = None
        self._read_timeout: float | None = None
        self.deadline: float | None = None
        self._last_data = 0.0  # when data last came (or the request went)
        self.closed: asyncio.Future[None] = loop.create_future()  # done once the socket is
        self._reset()

    def _reset(self) -> None:
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._size = 0
        self._headers_done = False
        self._framed = False  # Content-Length or chunked: the end is known without a close

    async def exchange(self, message: bytes, read_timeout: float | None,
                       limit: int | None) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Send one request; (status, headers, body). Past `limit` bytes, the body is cut at
        limit + 1 (the caller refuses it) and the connection is closed."""
        assert self._transport is not None
        self.reusable = False
        self._limit = limit
        answer: asyncio.Future[tuple[int, list[tuple[bytes, bytes]], bytes]]
        self._answer = answer = self.loop.create_future()
        self._last_data = self.loop.time()
        self._read_timeout = read_timeout
        self._transport.write(message)
        try:
            return await answer
        finally:
            self._answer = None

    def check_silence(self, now: float) -> None:
        """Fail the answer awaited when no data has come for the read timeout, or when the
        call's deadline has passed."""
        if self._read_timeout and now - self._last_data >= self._read_timeout:
            self._fail(httpx.ReadTimeout(f"no data for {self._read_timeout:g}s"))
        elif self.deadline is not None and now >= self.deadline:
            self._fail(DeadlinePassed("the call's total time ran out"))

    def close(self, *, at_once: bool = False) -> None:
        self.reusable = False
        if self._transport is None:
            return
        if at_once:  # unsent data dropped, no TLS goodbye
            self._transport.abort()
        else:
            self._transport.close()

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        if self._answer is None:  # nobody asked: an idle connection must stay silent
            self.close()
            return
        self._last_data = self.loop.time()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(httpx.RemoteProtocolError("the server switched protocols, which the "
                                                 "request did not ask for"))
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"the answer is not valid HTTP: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        self.closed.set_result(None)
        if self._answer is None or self._answer.done():
            return
        if self._headers_done and not self._framed:  # the body ran to the close
            self._complete()
        elif self._headers_done:
            self._fail(httpx.RemoteProtocolError("the server closed the connection in the "
                                                 "middle of its answer"))
        else:
            reason = f" ({exc})" if exc else ""
            self._fail(httpx.ReadError("the server closed the connection without "
                                       f"answering{reason}"))

    # httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))
        lowered = name.lower()
        if lowered == b"content-length" or (lowered == b"transfer-encoding"
                                            and b"chunked" in value.lower()):
            self._framed = True

    def on_headers_complete(self) -> None:
        self._headers_done = True

    def on_body(self, body: bytes) -> None:
        self._body.append(body)
        self._size += len(body)
        if self._limit is not None and self._size > self._limit:
            self._complete(truncate=True)

    def on_message_complete(self) -> None:
        status = self._parser.get_status_code()
        if status == 101:
            self._fail(httpx.RemoteProtocolError("the server switched protocols, which the "
                                                 "request did not ask for"))
        elif 100 <= status < 200:  # an interim answer: the real one follows
            self._reset()
        else:
            self._complete()

    def _complete(self, truncate: bool = False) -> None:
        answer = self._answer
        if answer is None or answer.done():
            return
        body = b"".join(self._body)
        if truncate:
            assert self._limit is not None
            body = body[:self._limit + 1]
            self.close()
        else:
            self.reusable = self._parser.should_keep_alive() and self._framed
        answer.set_result((self._parser.get_status_code(), self._headers, body))
        self._reset()

    def _fail(self, error: httpx.TransportError) -> None:
        self.close()
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(error)


def _within(limit: float | None, total: float) -> float:
    return total if limit is None else min(limit, total)


def _head(request: httpx.Request) -> bytes:
    lines = [b"%s %s HTTP/1.1" % (request.method.encode(), request.url.raw_path)]
    lines += [name + b": " + value for name, value in request.headers.raw]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def why_not_connected(error: OSError) -> str:
    """A failed connect in a few words: "connection refused", "unknown host: ..."."""
    if isinstance(error, socket.gaierror):
        return f"unknown host: {str(error.strerror).lower()}"
    if isinstance(error, ssl.SSLError) or not error.errno:  # TLS, or several addresses failed
        return str(error)
    return os.strerror(error.errno).lower()


def tls_context(verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context

