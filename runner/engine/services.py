"""One HTTP client per service: base URL, rate limit, timeouts, and read retries.

Retrying follows what a vendor call may safely do again:
* reads (list, detail) are retried on transport errors, 5xx, 429 and retryable result codes,
  with exponential backoff and jitter, honouring Retry-After;
* creates and other writes are retried only when the request certainly never reached the
  server (a connect error); any other failure leaves the outcome unknown and is reported.
"""

from __future__ import annotations

import asyncio
import random
import re
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlencode

import httpx

from runner.clock import Clock
from runner.engine.proxies import Proxy
from runner.engine.requests import OutgoingRequest
from runner.engine.responses import CheckedResponse, check_response
from runner.engine.stop import NEVER, Stop
from runner.engine.transport import DeadlinePassed, why_not_connected
from runner.errors import (
    Finding,
    HTTPStatusError,
    Location,
    ResponseInvalid,
    RunError,
    TransportError,
    VendorError,
)
from runner.playbook import DEFAULT_TIMEOUTS, Retries, Timeouts
from runner.spec import READ_KINDS, Spec, sent_again

MAX_RETRY_AFTER = 120.0  # a Retry-After longer than this fails the call instead of waiting


class RateLimiter:
    """A token bucket shared by every call to one service."""

    def __init__(self, per_second: float | None, clock: Clock) -> None:
        self.interval = 1.0 / per_second if per_second else 0.0
        self.clock = clock
        self.next_free = 0.0

    async def acquire(self) -> None:
        now = self.clock.now()
        if not self.interval and self.next_free <= now:
            return
        start = max(now, self.next_free)
        self.next_free = start + self.interval
        if start > now:
            await self.clock.sleep(start - now)

    def slow_down(self, seconds: float) -> None:
        """A 429 or "too fast": nobody on this service sends for `seconds`."""
        self.next_free = max(self.next_free, self.clock.now() + seconds)


@dataclass(frozen=True)
class Exchange:
    """One request as sent (before signing) and the answer as it came."""

    request: OutgoingRequest
    status: int
    headers: Mapping[str, str]
    content: bytes
    seconds: float


class ServiceClient:
    """Sends checked requests to one vendor service through an httpx transport.

    It builds each `httpx.Request` itself and hands it to the transport (applying the
    `httpx.Auth` flow): `httpx.AsyncClient` would merge URLs, cookies, redirects and hooks on
    every request, which costs more than the rest of a call (tests/bench/bench_chain.py).
    """

    def __init__(self, name: str, spec: Spec, base_url: str,
                 transport: httpx.AsyncBaseTransport, clock: Clock, *,
                 rate_limit: float | None = None, timeouts: Timeouts | None = None,
                 retries: Retries | None = None, auth: httpx.Auth | None = None,
                 observe: Callable[[Exchange], None] | None = None,
                 max_response: int = 32 * 1024 * 1024, proxy: Proxy | None = None) -> None:
        self.name = name
        self.spec = spec
        self.base_url = base_url.rstrip("/")
        self._base: httpx.URL | None = None  # parsed at the first call, which a bad one fails
        self.transport = transport
        self.clock = clock
        self.timeouts = (timeouts or Timeouts()).over(DEFAULT_TIMEOUTS)
        self.limiter = RateLimiter(rate_limit, clock)
        self.retries = retries or Retries()
        self.auth = auth
        self.observe = observe  # sees every answer as it came (check, --record)
        self.max_response = max_response
        self.proxy = proxy  # the one it is reached through (HTTPS_PROXY, ...), if any
        self.stop: Stop = NEVER  # the run's, which Ctrl-C and SIGTERM ask
        # a transport that keeps each call's total timeout itself (Http1Transport) spares a
        # task and a timer per call; for the others (the simulator in-process) asyncio does
        self._keeps_deadlines = bool(getattr(transport, "keeps_deadlines", False))

    def longest_wait(self, timeouts: Timeouts | None = None) -> float:
        """The longest this client waits for one call: its total timeout (`timeouts`, a
        step's, over the service's)."""
        limits = timeouts.over(self.timeouts) if timeouts else self.timeouts
        assert limits.total is not None  # over DEFAULT_TIMEOUTS, every limit is set
        return limits.total

    async def call(self, request: OutgoingRequest, *, timeouts: Timeouts | None = None,
                   retries: Retries | None = None,
                   lenient_schema: bool = False) -> tuple[CheckedResponse, int, float]:
        """Send with the retries the endpoint's kind allows; (response, attempts, seconds).

        `timeouts` and `retries` (a step's) override the service's.
        """
        limits = timeouts.over(self.timeouts) if timeouts else self.timeouts
        policy = retries or self.retries
        started = time.perf_counter()
        for attempt in range(1, policy.attempts + 1):
            try:
                checked = await self._once(request, limits, lenient_schema)
                return checked, attempt, time.perf_counter() - started
            except RunError as error:
                wait = self._retry_wait(error, attempt, request.endpoint.kind, policy)
                if wait is None:
                    error.retries = attempt - 1
                    if attempt > 1:
                        error.add_context(f"tried {attempt} times")
                    raise
                await self.clock.sleep(wait)
        raise AssertionError("unreachable")  # the last attempt re-raises

    def _retry_wait(self, error: RunError, attempt: int, kind: str,
                    policy: Retries) -> float | None:
        """How long to wait before another attempt, or None when it must not be retried."""
        if attempt >= policy.attempts:
            return None
        hinted: float | None = None
        refused = False  # turned away unread (too many, too fast): safe to send again, any kind
        if isinstance(error, HTTPStatusError):
            retryable, hinted = error.retryable, error.retry_after
            if error.status == 429:
                refused = True
                self.limiter.slow_down(hinted or policy.delay)
        elif isinstance(error, VendorError):
            retryable, refused = error.retryable, error.throttle
            if error.throttle:
                self.limiter.slow_down(policy.delay * 2 ** attempt)
        elif isinstance(error, TransportError):
            retryable = error.retryable
            if not retryable:
                return None
            if not error.reached_server:
                return _backoff(attempt, policy)  # never sent: safe for any kind
        else:
            return None
        if not sent_again(kind, retryable, refused):
            return None
        if hinted is not None and hinted > MAX_RETRY_AFTER:
            error.findings = [*error.findings, Finding(Location(), (
                f"Retry-After asks for {hinted:.0f}s, more than the {MAX_RETRY_AFTER:.0f}s the "
                "engine waits; try again later (with --resume)"))]
            return None
        return hinted if hinted is not None else _backoff(attempt, policy)

    async def _once(self, request: OutgoingRequest, limits: Timeouts,
                    lenient_schema: bool) -> CheckedResponse:
        await self.limiter.acquire()
        started = time.perf_counter()
        try:
            # Yield once before sending: the workers whose answers came in this turn all
            # finish first, and their sends go out together. Measured in one process,
            # alternating: 0.54 s without the yield, 0.41 s with (bench_chain). The simulator
            # in-process answers without a pause of its own: so its calls overlap too.
            await asyncio.sleep(0)
            if self.stop.asked:  # nothing leaves once the run is being stopped
                await self.stop.held()
            write = request.endpoint.kind not in READ_KINDS  # a stop waits for it to end
            self.stop.writes_out += write
            try:
                if self._keeps_deadlines:
                    status, headers, content = await self._exchange(request, limits)
                else:  # not wait_for: on 3.11 it swallows a cancel that meets a finished call
                    async with asyncio.timeout(limits.total):
                        status, headers, content = await self._exchange(request, limits)
            finally:
                if write:
                    self.stop.answered()
            if status == 407 and self.proxy is not None:  # the proxy's own: it went no further
                raise httpx.ProxyError("407 Proxy Authentication Required")
        except (TimeoutError, DeadlinePassed, httpx.TransportError) as exc:
            raise self._failure(exc, request, limits) from None
        if len(content) > self.max_response:
            raise ResponseInvalid([Finding(Location(), (
                f"{request.endpoint.qualified_name} answered more than {self.max_response} "
                "bytes (max_response); refused"))])
        if self.observe is not None:
            self.observe(Exchange(request, status, headers, content,
                                  time.perf_counter() - started))
        return check_response(self.spec, request.endpoint, status, headers, content,
                              now=self.clock.now(), lenient_schema=lenient_schema)

    def _failure(self, exc: Exception, request: OutgoingRequest,
                 limits: Timeouts) -> TransportError:
        """What a call that got no answer says: why, and whether the vendor may have acted."""
        name = request.endpoint.qualified_name
        if isinstance(exc, (TimeoutError, DeadlinePassed)):
            return TransportError([Finding(Location(), f"{name}: no answer within the call's "
                                           f"total timeout of {limits.total:g}s"
                                           f"{_unknown(request)}")])
        if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
            untrusted = any(isinstance(cause, ssl.SSLCertVerificationError)
                            for cause in _causes(exc))
            hint = ("; the vendor's certificate is not trusted here: if it is the vendor's "
                    "own CA, give the service verify: CA-BUNDLE.pem") if untrusted else ""
            return TransportError([Finding(Location(), f"{name}: cannot connect to "
                                           f"{self.base_url}{self._through()} "
                                           f"({_why_not_connected(exc)})" + hint)],
                                  reached_server=False, retryable=not untrusted)
        if isinstance(exc, httpx.PoolTimeout):  # waited for a connection: it never left
            return TransportError([Finding(Location(), f"{name}: "
                                           f"{exc or 'no free connection in time'} (more "
                                           "calls in flight than connections)")],
                                  reached_server=False)
        if isinstance(exc, httpx.ProxyError) and self.proxy is not None:
            return self._refused_by_proxy(name, str(exc))
        if isinstance(exc, httpx.TimeoutException):
            return TransportError([Finding(Location(), f"{name}: no answer in time "
                                           f"({type(exc).__name__}){_unknown(request)}")])
        return TransportError([Finding(Location(), f"{name}: the connection failed "
                                       f"({exc or type(exc).__name__}){_unknown(request)}")])

    def _refused_by_proxy(self, name: str, answer: str) -> TransportError:
        """The proxy passed the call on no further: it answered a CONNECT with other than
        2xx, or a forwarded request with a 407 of its own. A 4xx will not change by asking
        again."""
        assert self.proxy is not None
        hint = (f"; give its credentials in {self.proxy.variable} as "
                "http://user:password@host:port") if answer.startswith("407") else ""
        return TransportError([Finding(Location(), f"{name}: the proxy {self.proxy} would not "
                                       f"open the way to {self.base_url} (it answered "
                                       f"{answer}){hint}")],
                              reached_server=False, retryable=not answer.startswith("4"))

    def _through(self) -> str:
        return f" through the proxy {self.proxy}" if self.proxy else ""

    def _url(self, path: str, query: str) -> httpx.URL:
        if self._base is None:
            self._base = httpx.URL(self.base_url)
        joined = _joined(self._base, path, query)
        if joined is not None:
            return joined
        return httpx.URL(self.base_url + path + (f"?{query}" if query else ""))

    async def _exchange(self, request: OutgoingRequest,
                        limits: Timeouts) -> tuple[int, Mapping[str, str], bytes]:
        target = self._url(request.path, urlencode(request.query) if request.query else "")
        # Every header given, Host and Content-Length included, and the body as a ready
        # stream: httpx then skips re-encoding the body and re-deriving the headers (7 us).
        headers = [("Host", target.netloc.decode("ascii")), *request.headers.items()]
        if request.content or request.method in ("POST", "PUT", "PATCH"):
            headers.append(("Content-Length", str(len(request.content))))
        outgoing = httpx.Request(request.method, target, headers=headers,
                                 stream=httpx.ByteStream(request.content),
                                 extensions={"timeout": _timeouts(limits.connect, limits.read),
                                             "outbound.total": limits.total,
                                             "outbound.max_response": self.max_response})
        # Every scheme (runner.auth) signs synchronously, so httpx's synchronous flow driver
        # serves; its async one is an async generator per call, ~5 us of asyncio bookkeeping.
        flow = self.auth.sync_auth_flow(outgoing) if self.auth else None
        if flow is not None:
            outgoing = next(flow)
        while True:
            response = await self.transport.handle_async_request(outgoing)
            content = await _content(response, self.max_response)
            if flow is None:
                break
            try:  # an auth scheme may want the response (a challenge) and send again
                outgoing = flow.send(response)
            except StopIteration:
                break
        wanted = {k: v for k in ("retry-after", "content-type")
                  if (v := response.headers.get(k)) is not None}
        return response.status_code, wanted, content


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and what it was raised from, and so on."""
    cause: BaseException | None = exc
    while cause is not None:
        yield cause
        cause = cause.__cause__ or cause.__context__


def _why_not_connected(exc: Exception) -> str:
    """Our transport says why in a few words ("connection refused"); httpx's (through a
    proxy) says "All connection attempts failed" over the error that says it, which is told
    as our transport tells one."""
    if str(exc) == "All connection attempts failed":
        cause = next((cause for cause in _causes(exc)
                      if isinstance(cause, OSError) and cause.errno), None)
        if isinstance(cause, OSError):
            return why_not_connected(cause)
    return str(exc) or type(exc).__name__


async def _content(response: httpx.Response, limit: int) -> bytes:
    """The body, read and closed; past `limit` bytes, cut at limit + 1 (the caller refuses
    it), as our transport cuts it. A whole body the transport already holds, not
    content-encoded, is taken as it is (nothing to close); httpx's reading machinery
    (decoders, chunkers, closing) costs 10 us a call for nothing. Through httpx's own pool (a
    proxy's), the body is read only so far: one that never ends would fill the memory."""
    if type(response.stream) is httpx.ByteStream and "content-encoding" not in response.headers:
        return b"".join(response.stream)
    parts, size = [], 0
    try:
        async for part in response.aiter_bytes():
            parts.append(part)
            size += len(part)
            if size > limit:
                break
    finally:
        await response.aclose()
    return b"".join(parts)[:limit + 1]


_PLAIN = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@/%-]*")  # what a URL's path and query may hold
_REUSABLE = isinstance(getattr(httpx.URL("http://x"), "_uri_reference", None), tuple)


def _joined(base: httpx.URL, path: str, query: str) -> httpx.URL | None:
    """`base` with `path` appended and `query` set, as httpx would parse the whole text, or
    None where that needs httpx's parse. httpx checks a URL character by character and parses
    its host with ipaddress (~15 us, 40 in a busy loop), for every URL seen once, like each
    call result's. A path and query built percent-encoded (requests.py) hold nothing to check,
    so the parsed base is reused with them (its parts are a named tuple);
    tests/test_transport.py pins both ways to the same URL."""
    if not (_REUSABLE and _PLAIN.fullmatch(path) and _PLAIN.fullmatch(query)):
        return None
    parts = base._uri_reference
    url = object.__new__(httpx.URL)
    url._uri_reference = parts._replace(path=parts.path + path, query=query or None)
    return url


@lru_cache(maxsize=64)
def _timeouts(connect: float | None, read: float | None) -> dict[str, float | None]:
    return {"connect": connect, "read": read, "write": read, "pool": connect}


def _unknown(request: OutgoingRequest) -> str:
    """What a failed call's error adds of its outcome: nothing for a read, which changes
    nothing at the vendor."""
    return "" if request.endpoint.kind in READ_KINDS else "; the outcome is unknown"


def _backoff(attempt: int, policy: Retries) -> float:
    ceiling = min(policy.max_delay, policy.delay * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)  # jitter, not security
