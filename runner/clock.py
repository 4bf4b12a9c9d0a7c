"""Time for the engine and the simulator: real, or simulated so waiting costs nothing.

With `--sim`, the engine and the in-process simulator share one `SimulatedClock`: a step that
waits or a retry's delay moves simulated time forward at once, so "wait until the call has
happened" runs in milliseconds and the simulator sees the time pass.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds`."""


def now_ms(clock: Clock) -> int:
    return int(clock.now() * 1000)


class RealClock:
    """The machine's time, `offset` seconds off (a vendor whose clock is wrong)."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def now(self) -> float:
        return time.time() + self.offset

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class SimulatedClock:
    """Time that starts now and moves only when someone waits (or `advance` is called).

    Waits overlap as they would in real time: each sleeper has a deadline, and once nothing
    else in the event loop can run, time jumps to the earliest deadline and that sleeper
    wakes. Four items polling every minute see one minute pass per round, not four.
    """

    def __init__(self, start: float | None = None, speed: float = 0.0) -> None:
        self._origin = time.time() if start is None else start
        self._real_origin = time.monotonic()
        self._offset = 0.0
        self.speed = speed  # simulated seconds per real second, on top of the jumps
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()  # sleepers due at the same time wake in turn
        self._jump_due = False

    def now(self) -> float:
        elapsed = (time.monotonic() - self._real_origin) * self.speed
        return self._origin + self._offset + elapsed

    def advance(self, seconds: float) -> None:
        self._offset += max(0.0, seconds)

    async def sleep(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        if seconds <= 0 or not hasattr(loop, "_ready"):  # a loop we cannot see idle: jump now
            self.advance(seconds)
            await asyncio.sleep(0)
            return
        woken: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._sleepers, (self.now() + seconds, next(self._order), woken))
        self._jump_soon(loop)
        await woken

    def _jump_soon(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._jump_due:
            self._jump_due = True
            loop.call_soon(self._jump, loop)

    def _jump(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wake the earliest sleeper, moving time to its deadline, once no other callback is
        ready to run (any of them may be about to sleep for less)."""
        self._jump_due = False
        while self._sleepers and self._sleepers[0][2].done():  # cancelled while asleep
            heapq.heappop(self._sleepers)
        if not self._sleepers:
            return
        if loop._ready:  # type: ignore[attr-defined]  # asyncio's own loops all have it
            self._jump_soon(loop)
            return
        deadline, _, woken = heapq.heappop(self._sleepers)
        self.advance(deadline - self.now())
        woken.set_result(None)
        if self._sleepers:
            self._jump_soon(loop)
