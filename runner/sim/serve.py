"""`outbound sim serve`: the simulator over real HTTP with uvicorn."""

from __future__ import annotations

from collections.abc import Callable

from runner.clock import SimulatedClock
from runner.sim.app import Simulator


def serve(host: str, port: int, speed: float, announce: Callable[[str], None]) -> None:
    import uvicorn

    app = Simulator(clock=SimulatedClock(speed=speed))
    base = f"http://{host}:{port}"
    announce(f"vendor simulator on {base} (simulated time runs at {speed:g}x)")
    announce("every vendor is served at the same address; for the shipped playbooks:")
    for name in ("ISALES_URL", "SPEECH_URL", "CRM_URL"):
        announce(f"  export {name}={base}")
    announce(f"state: GET {base}/_sim/state   advance time: POST {base}/_sim/clock?advance=SECONDS")
    uvicorn.run(app, host=host, port=port, log_level="warning")
