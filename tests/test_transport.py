"""The live-run transport against a raw loopback server that answers exactly as each test says.

What matters most is which exception each failure becomes: only "never connected" may let a
create be sent again; everything after the request left must read as "outcome unknown".
"""

from __future__ import annotations

import asyncio
import gzip
import os
import socket
from collections.abc import Awaitable, Callable

import httpx
import pytest

from runner.engine.transport import DeadlinePassed, Http1Transport
from tests.conftest import free_port

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}"
Answer = Callable[[bytes], Awaitable[bytes | None]]  # request bytes -> reply (None: hang up)


class Server:
    """Reads each request (head and Content-Length body) and writes what `answer` returns;
    None hangs up without answering, and `hang_up` closes the connection after each answer."""

    def __init__(self, answer: Answer, *, hang_up: bool = False) -> None:
        self.answer = answer
        self.hang_up = hang_up
        self.connections = 0
        self.requests: list[bytes] = []
        self.open_now = 0
        self.most_open = 0
        self.writers: set[asyncio.StreamWriter] = set()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def __aexit__(self, *_: object) -> None:
        """Closed, every connection with it, before the loop ends: a transport the loop never
        got to close is a ResourceWarning (the client's closes, scheduled, run meanwhile)."""
        self.server.close()
        for writer in self.writers:
            writer.close()
        await asyncio.gather(*(writer.wait_closed() for writer in self.writers),
                             return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.add(writer)
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                reply = await self.answer(request)
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
                if self.hang_up:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the client hung up, or the test is over
        finally:
            self.open_now -= 1
            writer.close()


def fixed(*replies: bytes | None) -> Answer:
    """Answer the n-th request with replies[n] (the last one repeats)."""
    seen = 0

    async def answer(request: bytes) -> bytes | None:
        nonlocal seen
        seen += 1
        return replies[min(seen, len(replies)) - 1]

    return answer


def within(server: Server, test: Callable[[str], Awaitable[None]]) -> Server:
    """Run `test(base_url)` while `server` serves; the server, to see what it saw. Anything
    asyncio had to log on the way (an exception escaping a protocol callback) fails it."""
    logged: list[dict[str, object]] = []

    async def body() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _, context:
                                                         logged.append(context))
        async with server as base:
            await test(base)

    asyncio.run(body())
    assert not logged, logged
    return server


async def call(base: str, transport: Http1Transport, *, read: float = 5.0,
               max_response: int | None = None) -> httpx.Response:
    request = httpx.Request("POST", base + "/rest/x?page=1", content=b'{"a":1}',
                            headers={"Content-Type": "application/json"},
                            extensions={"timeout": {"connect": 2.0, "read": read, "pool": 2.0},
                                        "outbound.max_response": max_response})
    response = await transport.handle_async_request(request)
    await response.aread()
    return response


def test_sends_the_request_as_built_and_reuses_the_connection() -> None:
    transport = Http1Transport()

    async def test(base: str) -> None:
        first = await call(base, transport)
        second = await call(base, transport)
        assert (first.status_code, first.json(), second.json()) == (200, {"ok": True},
                                                                     {"ok": True})
        await transport.aclose()

    server = within(Server(fixed(OK)), test)
    assert server.connections == 1
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == b"POST /rest/x?page=1 HTTP/1.1"
    assert b"Content-Length: 7" in head and b"Host: 127.0.0.1:" in head
    assert body == b'{"a":1}'


GZIPPED = gzip.compress(b'{"ok":true}', mtime=0)


@pytest.mark.parametrize("reply", [
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"4\r\n{\"ok\r\n7\r\n\":true}\r\n0\r\n\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\n" + OK,
    b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" + OK,
    b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s"
    % (len(GZIPPED), GZIPPED),
], ids=["chunked", "interim-100", "interim-103", "gzip"])
def test_reads_every_framing_of_an_answer(reply: bytes) -> None:
    transport = Http1Transport()

    async def test(base: str) -> None:
        assert (await call(base, transport)).json() == {"ok": True}
        assert (await call(base, transport)).json() == {"ok": True}
        await transport.aclose()

    assert within(Server(fixed(reply)), test).connections == 1


def test_a_body_that_runs_to_the_close_ends_there() -> None:
    transport = Http1Transport()
    unframed = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"ok\":true}"

    async def test(base: str) -> None:
        assert (await call(base, transport)).json() == {"ok": True}
        assert (await call(base, transport)).json() == {"ok": True}
        await transport.aclose()

    assert within(Server(fixed(unframed), hang_up=True), test).connections == 2


def test_a_connection_the_server_closed_while_idle_is_not_used() -> None:
    transport = Http1Transport()

    async def test(base: str) -> None:
        await call(base, transport)
        await asyncio.sleep(0.05)  # the server has hung up by now, without saying it would
        assert (await call(base, transport)).json() == {"ok": True}
        await transport.aclose()

    assert within(Server(fixed(OK), hang_up=True), test).connections == 2


def test_a_server_that_hangs_up_after_reading_leaves_the_outcome_unknown() -> None:
    transport = Http1Transport()

    async def test(base: str) -> None:
        with pytest.raises(httpx.ReadError, match="closed the connection without answering"):
            await call(base, transport)

    server = within(Server(fixed(None)), test)
    assert len(server.requests) == 1  # it arrived: a create here must not be sent again


def test_half_an_answer_is_a_protocol_error() -> None:
    transport = Http1Transport()
    half = b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{\"ok\""

    async def test(base: str) -> None:
        with pytest.raises(httpx.RemoteProtocolError, match="in the middle of its answer"):
            await call(base, transport)

    within(Server(fixed(half), hang_up=True), test)


def test_garbage_is_a_protocol_error() -> None:
    transport = Http1Transport()

    async def test(base: str) -> None:
        with pytest.raises(httpx.RemoteProtocolError, match="not valid HTTP"):
            await call(base, transport)

    within(Server(fixed(b"SMTP ready\r\n\r\n")), test)


def test_silence_past_the_read_timeout_is_a_read_timeout() -> None:
    transport = Http1Transport()

    async def silent(request: bytes) -> bytes | None:
        await asyncio.sleep(2)
        return OK

    async def test(base: str) -> None:
        with pytest.raises(httpx.ReadTimeout, match=r"no data for 0\.2s"):
            await call(base, transport, read=0.2)
        await transport.aclose()

    within(Server(silent), test)


def test_a_slow_trickle_within_the_read_timeout_is_not_a_timeout() -> None:
    transport = Http1Transport()

    async def trickle(request: bytes) -> bytes | None:
        await asyncio.sleep(0.15)
        return OK

    async def test(base: str) -> None:
        for _ in range(3):  # the timer armed by one call must not fire into the next
            assert (await call(base, transport, read=0.2)).json() == {"ok": True}
        await asyncio.sleep(0.3)
        assert (await call(base, transport, read=0.2)).json() == {"ok": True}
        await transport.aclose()

    within(Server(trickle), test)


def test_a_host_whose_first_address_is_silent_is_reached_at_its_next(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """As an IPv6 route that goes nowhere: the first address the name resolves to takes the
    connection and never answers (a listener whose queue is full drops it), the second is
    the server. The second is tried a quarter second on, within the connect timeout."""
    real = socket.getaddrinfo

    async def test(base: str) -> None:
        port = int(base.rsplit(":", 1)[1])
        with socket.socket() as silent, socket.socket() as queued:
            try:
                silent.bind(("127.0.0.2", port))
            except OSError:
                pytest.skip("127.0.0.2 is no loopback address here (macOS has only 127.0.0.1)")
            silent.listen(0)
            queued.connect(("127.0.0.2", port))  # fills the queue: later connects hang

            def resolve(host: str, *args: object, **kwargs: object) -> list[tuple[object, ...]]:
                if host != "vendor.test":
                    return real(host, *args, **kwargs)  # type: ignore[arg-type]
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
                        for address in ("127.0.0.2", "127.0.0.1")]

            monkeypatch.setattr(socket, "getaddrinfo", resolve)
            transport = Http1Transport()
            assert (await call(f"http://vendor.test:{port}", transport)).json() == {"ok": True}
            await transport.aclose()

    within(Server(fixed(OK)), test)


def test_a_refused_port_is_a_connect_error_saying_so_once() -> None:
    transport = Http1Transport()
    with pytest.raises(httpx.ConnectError) as refused:
        asyncio.run(call(f"http://127.0.0.1:{free_port()}", transport))
    assert str(refused.value) == "connection refused"


def test_a_host_name_that_does_not_resolve_is_named_as_such() -> None:
    transport = Http1Transport()
    with pytest.raises(httpx.ConnectError, match=r"^unknown host: "):
        asyncio.run(call("http://no-such-host.invalid", transport))


def test_an_answer_past_the_limit_is_cut_at_limit_plus_one() -> None:
    transport = Http1Transport()
    big = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100_000

    async def test(base: str) -> None:
        assert len((await call(base, transport, max_response=1000)).content) == 1001
        assert (await call(base, transport)).json() == {"ok": True}  # on a new connection
        await transport.aclose()

    assert within(Server(fixed(big, OK)), test).connections == 2


def test_closing_the_transport_closes_every_connection_before_it_returns() -> None:
    """None is left for a later loop turn to close: the process exits, or its loop ends,
    right after."""
    transport = Http1Transport()

    async def slow(request: bytes) -> bytes | None:
        await asyncio.sleep(0.02)
        return OK

    async def test(base: str) -> None:
        port = int(base.rsplit(":", 1)[1])
        await asyncio.gather(*(call(base, transport) for _ in range(3)))
        assert connections_to(port) == 3
        await transport.aclose()
        assert connections_to(port) == 0

    within(Server(slow), test)


def connections_to(port: int) -> int:
    """How many of this process's sockets are connected to `port` (the client's ends)."""
    return sum(_peer_port(int(fd)) == port for fd in os.listdir("/dev/fd"))


def _peer_port(fd: int) -> int | None:
    """The port the TCP socket `fd` is connected to; None for any other file."""
    try:
        copy = os.dup(fd)  # a socket object closes its file: this one's, not the process's
    except OSError:  # the listing's own, closed since
        return None
    try:
        sock = socket.socket(fileno=copy)
    except OSError:  # not a socket
        os.close(copy)
        return None
    with sock:
        try:
            peer = sock.getpeername()
        except OSError:  # not connected (a listening socket)
            return None
    return peer[1] if sock.family in (socket.AF_INET, socket.AF_INET6) else None


def test_connections_never_exceed_the_limit() -> None:
    transport = Http1Transport(max_connections=2)

    async def slow(request: bytes) -> bytes | None:
        await asyncio.sleep(0.02)
        return OK

    async def test(base: str) -> None:
        answers = await asyncio.gather(*(call(base, transport) for _ in range(10)))
        assert [a.status_code for a in answers] == [200] * 10
        await transport.aclose()

    server = within(Server(slow), test)
    assert (server.most_open, len(server.requests)) == (2, 10)


def test_an_answer_that_trickles_past_the_total_time_is_cut_off() -> None:
    transport = Http1Transport()

    async def trickle(request: bytes) -> bytes | None:
        return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

    server = Server(trickle)

    async def test(base: str) -> None:
        request = httpx.Request("GET", base + "/slow", extensions={
            "timeout": {"read": 0.3}, "outbound.total": 0.5})
        started = asyncio.get_running_loop().time()
        sending = asyncio.ensure_future(transport.handle_async_request(request))
        while not sending.done():  # a chunk every 0.1 s: never silent for the read timeout
            await asyncio.sleep(0.1)
            for writer in list(server.writers):
                writer.write(b"1\r\nx\r\n")
        with pytest.raises(DeadlinePassed, match="total time ran out"):
            await sending
        assert 0.5 <= asyncio.get_running_loop().time() - started < 1.0

    within(server, test)


def test_a_switch_of_protocols_nobody_asked_for_is_a_protocol_error() -> None:
    transport = Http1Transport()
    switch = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\nframes"

    async def test(base: str) -> None:
        with pytest.raises(httpx.RemoteProtocolError, match="switched protocols"):
            await call(base, transport)

    within(Server(fixed(switch)), test)


def test_an_interim_answer_then_a_pause_is_not_a_read_timeout() -> None:
    transport = Http1Transport()

    async def early_hints_then_pause(request: bytes) -> bytes | None:
        return b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"

    server = Server(early_hints_then_pause)

    async def test(base: str) -> None:
        sending = asyncio.ensure_future(call(base, transport, read=0.4))
        await asyncio.sleep(0.2)  # the watchdog looks every 0.1 s meanwhile
        for writer in list(server.writers):
            writer.write(OK)
        assert (await sending).json() == {"ok": True}
        await transport.aclose()

    within(server, test)


@pytest.mark.parametrize(("base", "path", "query"), [
    ("http://127.0.0.1:8700", "/rest/isales/v1/openapi/campaigns/8/callresultdetail/1000042", ""),
    ("https://isales.example.com/gateway/", "/rest/a/%E4%BD%A0%2Fb", "page=1&q=x+y&r=%26"),
    ("http://[::1]:8443", "/a/b", "q="),
    ("HTTP://Example.COM", "/a", "b=1"),
    ("http://host", "/with space", ""),  # not plain: left to httpx's own parse
    ("http://host", "/p", "name=\u00fc"),
])
def test_a_request_url_is_the_one_httpx_would_parse(base: str, path: str, query: str) -> None:
    from runner.clock import RealClock
    from runner.engine.services import ServiceClient
    from runner.spec import load_spec
    from tests.conftest import ROOT

    client = ServiceClient("isales", load_spec(ROOT / "specs/huawei-isales.yaml"), base,
                           Http1Transport(), RealClock())
    built = client._url(path, query)
    parsed = httpx.URL(base.rstrip("/") + path + (f"?{query}" if query else ""))
    assert (str(built), built.raw_path, built.netloc, built.scheme, built.port, built.query) \
        == (str(parsed), parsed.raw_path, parsed.netloc, parsed.scheme, parsed.port,
            parsed.query)
