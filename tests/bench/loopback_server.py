"""A fast HTTP/1.1 keep-alive server on loopback answering like iSales, for benchmarks.

Plain asyncio, no framework, so the client side is what gets measured: POST answers an
`appoint.create`, GET a `callresult.detail`, both valid by the shipped spec. An optional
second argument delays each answer by that many milliseconds, as a real vendor would.

    python loopback_server.py PORT [DELAY_MS]
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys

CREATE_BEFORE_ID, CREATE_AFTER_ID = json.dumps({
    "resultCode": "0200000", "resultDesc": "success", "returnCode": "0200000",
    "returnDesc": "success", "returnObject": {"id": "ID"}}).encode().split(b"ID")
DETAIL = json.dumps({"resultCode": "0200000", "resultDesc": "Query Success!",
                     "returnCode": "0200000", "returnDesc": "Query Success!",
                     "data": {"callId": "ID", "called": "13800000001", "callStatus": "6",
                              "failCode": "00000", "vdnId": 8,
                              "callEndTime": "2026-11-21 10:00:45"}}).encode()


_ids = itertools.count(1_000_000)


def _created() -> bytes:
    """An `appoint.create` answer with an id of its own, as a vendor's would be."""
    return CREATE_BEFORE_ID + str(next(_ids)).encode() + CREATE_AFTER_ID


def _response(body: bytes) -> bytes:
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=UTF-8\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length:]
            assert self.transport is not None
            answer = _response(_created() if head.startswith("POST") else DETAIL)
            if DELAY:
                asyncio.get_running_loop().call_later(DELAY, self.transport.write, answer)
            else:
                self.transport.write(answer)


async def main(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(_Protocol, "127.0.0.1", port,
                                                            backlog=1024)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


DELAY = float(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0.0

if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
