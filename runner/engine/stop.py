"""A run stopped from outside (Ctrl-C, SIGTERM, SIGHUP) as Terraform stops: gently first.

The first signal lets no new call leave and waits for the writes already sent to be
answered, so that their outcomes are journaled (a write cut off mid-flight is unknown, and
`--resume` must look it up, or its operator settle it where no `reconcile` can); then the run
is cancelled. A second signal cancels it at once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import stat
from collections.abc import Callable, Coroutine
from contextlib import suppress
from typing import Any, NoReturn, TypeVar

from runner.errors import Stopped

T = TypeVar("T")


class Stop:
    """Shared by a run's services: whether a stop was asked, and the writes it waits for."""

    def __init__(self) -> None:
        self.asked = False
        self.writes_out = 0  # sent, not yet answered
        self.cut_off = 0  # the writes out when the run was cancelled: their outcome unknown
        self._cancel: Callable[[], object] | None = None  # once the last is answered

    def ask(self, cancel: Callable[[], object]) -> int:
        """Stop the run (`cancel` cancels it): at once if no write is out or a stop was
        asked before; else once the writes out are answered. The writes waited for."""
        if self.asked or not self.writes_out:
            self.asked, self._cancel, self.cut_off = True, None, self.writes_out
            cancel()
            return 0
        self.asked, self._cancel = True, cancel
        return self.writes_out

    def answered(self) -> None:
        """A write sent has its answer (or its failure)."""
        self.writes_out -= 1
        if self._cancel is not None and not self.writes_out:
            cancel, self._cancel = self._cancel, None
            cancel()

    async def held(self) -> NoReturn:
        """Where a call that would leave after the stop was asked waits: the run's cancel
        ends it, once the writes out are answered."""
        await asyncio.get_running_loop().create_future()
        raise AssertionError("a held call is only ever cancelled")


NEVER = Stop()  # a service's until its run gives it one: never asked


async def stopped_gently(run: Coroutine[Any, Any, T], stop: Stop,
                         waiting: Callable[[int], None]) -> T:
    """`run`, stopped by a signal through `stop`: the first lets no new call leave and, if
    writes are out, says how many it waits for (`waiting`), then cancels the run at its next
    await (never inside a journal commit); a second cancels it at once. Once it has unwound,
    KeyboardInterrupt (Ctrl-C) or `Stopped` (SIGTERM; SIGHUP: the terminal or the SSH session
    gone) is raised, by the first."""
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    assert task is not None
    taken = [signal.SIGTERM, *(signum for signum in (signal.SIGINT, signal.SIGHUP)
                               if signal.getsignal(signum) is not signal.SIG_IGN)]  # nohup, &
    asked: list[signal.Signals] = []

    def ask(signum: signal.Signals) -> None:
        if signum == signal.SIGHUP:
            _off_the_terminal()
        asked.append(signum)
        if writes := stop.ask(task.cancel):
            waiting(writes)

    try:
        for signum in taken:
            loop.add_signal_handler(signum, ask, signum)
    except (RuntimeError, ValueError):  # not the main thread: no signals to take
        return await run
    try:
        return await run
    except asyncio.CancelledError:
        if asked:
            raise (KeyboardInterrupt() if asked[0] == signal.SIGINT else Stopped(asked[0])
                   ) from None
        raise
    finally:
        for signum in taken:
            loop.remove_signal_handler(signum)


def _off_the_terminal() -> None:
    """stdout and stderr, where they are a terminal, sent to /dev/null, as nohup sends them:
    after a hangup a write there fails (EIO), which would end the run in the midst of its
    stop. Pipes and files (a CI's log) are kept."""
    quiet = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in (1, 2):
            with suppress(OSError):
                if stat.S_ISCHR(os.fstat(fd).st_mode):
                    os.dup2(quiet, fd)
    finally:
        os.close(quiet)
