"""The embedded simulator of a `--sim` run, and of its resume: the world it goes on from, and
the transport the run's clients reach it through."""

from __future__ import annotations

import httpx

from runner.clock import SimulatedClock
from runner.journal import Journal, Recorded
from runner.sim.app import WORLD_VERSION, AnswerWithheld, ConnectionDropped, Simulator
from runner.sim.faults import FaultPlan
from runner.window import CallingWindow


def simulator_for(faults: FaultPlan | None, journal: Journal | None, recorded: Recorded | None,
                  window: CallingWindow | None) -> tuple[Simulator, list[str]]:
    """The simulator, and what the user should be told of it (lines: warnings, notes).

    A fresh run's simulator starts empty, now. A resumed run's goes on from the world its last
    attempt left (the journal keeps it), so what the run made is there to read back; and at a
    time inside the playbook's calling window, as a scheduled resume would come.
    """
    def fresh() -> Simulator:
        return Simulator(clock=SimulatedClock(), fault_plan=faults)

    simulator = fresh()
    if recorded is None or journal is None:
        return simulator, []
    notices = []
    world = journal.world(recorded.run_id)
    if world is not None and world.get("world_version") == WORLD_VERSION:
        try:
            simulator.restore(world)
        except (KeyError, TypeError, ValueError):  # a world someone edited
            world, simulator = None, fresh()  # not a half-restored one
    else:
        world = None  # none kept (a journal of an earlier version), or another version's
    if recorded.status == "running" or world is None:
        why = (f"run {recorded.run_id}'s last attempt was killed, and its simulator with it"
               if recorded.status == "running" else
               f"the journal holds no usable simulator world of run {recorded.run_id}")
        notices.append(f"warning: --sim: {why}: this one goes on from "
                       + ("an earlier attempt's world" if world else "an empty one")
                       + ", so a step that reads back what the run made may not find it")
    clock = simulator.clock
    if window is not None and isinstance(clock, SimulatedClock) and not window.is_open(
            clock.now()):
        opening = window.next_opening(clock.now())
        clock.advance(opening.timestamp() - clock.now())
        notices.append(f"note: --sim: simulated time moves on to {opening:%a %Y-%m-%d %H:%M} "
                       f"{window.zone.key}, when the calling window opens, as a scheduled "
                       "resume would come then")
    return simulator, notices


class InProcess(httpx.AsyncBaseTransport):
    """The simulator in this process, through httpx's ASGI transport; where a served simulator
    would drop the connection, the in-process one raises, and this reads it as the network
    error a client would see."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator
        self.inner = httpx.ASGITransport(app=simulator)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self.inner.handle_async_request(request)
        except ConnectionDropped as exc:
            raise httpx.ReadError(str(exc), request=request) from None
        except AnswerWithheld as exc:  # the client waited its read timeout, in simulated time
            waited = request.extensions.get("timeout", {}).get("read")
            if self.simulator.schedule is not None and waited:
                await self.simulator.schedule.sleep(float(waited))
            raise httpx.ReadTimeout(str(exc), request=request) from None
