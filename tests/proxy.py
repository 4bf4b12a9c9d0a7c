"""An HTTP proxy on loopback for the tests, as a corporate network has one: it forwards a
request for an http URL (absolute-form) and tunnels CONNECT for https, and keeps the first
request line of each connection it was given.

No proxy is asked for this machine's own addresses, so the tests name their loopback vendor
VENDOR, a name only the proxy knows (as a vendor's name may resolve only inside the proxy's
network): it connects to 127.0.0.1 for it."""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

VENDOR = "vendor.test"  # RFC 6761: resolves nowhere but here


def vendor_url(loopback_url: str) -> str:
    """A loopback server's URL with VENDOR for its host: reached through the proxy only."""
    return loopback_url.replace("127.0.0.1", VENDOR, 1)


class ForwardProxy:
    def __init__(self, credentials: str | None = None) -> None:
        self.credentials = credentials  # "user:password" it asks for (Basic), if any
        self.asked: list[str] = []  # each connection's first request line
        self.url = ""

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        line, *headers = head.decode("latin-1").split("\r\n")
        self.asked.append(line)
        method, target, version = line.split(" ")
        if self.credentials is not None and not _authorized(headers, self.credentials):
            writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                         b"Proxy-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            upstream_reader, upstream = await asyncio.open_connection(_resolved(host),
                                                                      int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:  # forwarded as it came, less what was for the proxy; the rest is piped
            parts = urlsplit(target)
            upstream_reader, upstream = await asyncio.open_connection(
                _resolved(parts.hostname or ""), parts.port or 80)
            kept = [h for h in headers if not h.lower().startswith("proxy-")]
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            upstream.write("\r\n".join([f"{method} {path} {version}", *kept]).encode("latin-1"))
        await asyncio.gather(_pipe(reader, upstream), _pipe(upstream_reader, writer))

    @contextmanager
    def running(self) -> Iterator[ForwardProxy]:
        """Serving on a free loopback port (its URL in `url`), in a thread of its own."""
        with serving(self._serve) as self.url:
            yield self


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextmanager
def serving(handle: Handler) -> Iterator[str]:
    """`handle` serving each connection on a free loopback port, in a thread of its own; the
    server's URL. Its connections are closed when done."""
    ready = threading.Event()
    url: list[str] = []
    stopping: list[Callable[[], None]] = []
    writers: set[asyncio.StreamWriter] = set()

    async def each(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.add(writer)
        await handle(reader, writer)

    async def serve() -> None:
        stop = asyncio.Event()
        async with await asyncio.start_server(each, "127.0.0.1", 0) as server:
            url.append(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
            loop = asyncio.get_running_loop()
            stopping.append(lambda: loop.call_soon_threadsafe(stop.set))
            ready.set()
            await stop.wait()
            for writer in writers:
                writer.close()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield url[0]
    finally:
        stopping[0]()
        thread.join(10)


def _resolved(host: str) -> str:
    return "127.0.0.1" if host == VENDOR else host


def _authorized(headers: list[str], credentials: str) -> bool:
    wanted = base64.b64encode(credentials.encode()).decode()
    for header in headers:
        name, _, value = header.partition(":")
        scheme, _, token = value.strip().partition(" ")
        if name.lower() == "proxy-authorization" and scheme.lower() == "basic":
            return token == wanted
    return False


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while chunk := await source.read(65536):
            sink.write(chunk)
            await sink.drain()
    except ConnectionError:
        pass
    finally:
        sink.close()
