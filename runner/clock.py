"""Time for the engine and the simulator: real, or simulated so waiting costs nothing.

With `--sim`, the engine and the in-process simulator share one `SimulatedClock`: a step that
waits or a retry's delay moves simulated time forward at once, so "wait until the call has
happened" runs in milliseconds and the simulator sees the time pass.
"""

from __future__ import annotations

import asyncio
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
    """Time that starts now and moves only when someone waits (or `advance` is called)."""

    def __init__(self, start: float | None = None, speed: float = 0.0) -> None:
        self._origin = time.time() if start is None else start
        self._real_origin = time.monotonic()
        self._offset = 0.0
        self.speed = speed  # simulated seconds per real second, on top of the jumps

    def now(self) -> float:
        elapsed = (time.monotonic() - self._real_origin) * self.speed
        return self._origin + self._offset + elapsed

    def advance(self, seconds: float) -> None:
        self._offset += max(0.0, seconds)

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        await asyncio.sleep(0)
