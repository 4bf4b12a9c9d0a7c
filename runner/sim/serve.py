"""`outbound sim serve`: the simulator over real HTTP with uvicorn."""

from __future__ import annotations

import logging
import socket
from asyncio import CancelledError
from collections.abc import Callable

from runner.clock import RealClock, SimulatedClock
from runner.errors import InputError
from runner.sim import demo_credentials
from runner.sim.app import ConnectionDropped, Simulator
from runner.sim.faults import FaultPlan

BACKLOG = 2048  # uvicorn's own default
# How long a stop (Ctrl-C, SIGTERM) waits for the requests in flight. The simulator answers
# in milliseconds; what outlasts this is a request a `timeout` fault holds silent (a minute
# by default), and uvicorn would wait that out before it let the process end.
STOP_WAITS = 1  # seconds


class _OnPurpose(logging.Filter):
    """What the simulator does on purpose is not a server error: a connection a `reset` fault
    drops, and, at a stop, the requests a `timeout` fault held silent being cut."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], (ConnectionDropped, CancelledError)):
            return False
        return not str(record.msg).startswith("Cancel %s running task")


def serve(host: str, port: int, speed: float, clock_offset: float,
          announce: Callable[[str], None], tls: tuple[str, str] | None = None,
          faults: FaultPlan | None = None) -> None:
    import uvicorn

    # listening before the banner: whoever reads the address can connect at once (the kernel
    # holds connections until uvicorn takes them), and it names the port taken for --port 0
    listening = listen(host, port)
    port = listening.getsockname()[1]
    # the vendors keep the real time (as far off as asked), which clients sign with and reckon
    # appointment times by; --speed only brings reserved calls sooner
    app = Simulator(clock=RealClock(offset=clock_offset), schedule=SimulatedClock(speed=speed),
                    fault_plan=faults, in_process=False)
    base = f"{'https' if tls else 'http'}://{host}:{port}"
    pace = f"reserved calls come {speed:g}x sooner" if speed != 1 else "calls come on time"
    announce(f"vendor simulator on {base} ({pace}"
             + (f"; its clock is {clock_offset:+g}s off" if clock_offset else "") + ")")
    announce("every vendor is served at the same address; for the shipped playbooks:")
    for name in ("ISALES_URL", "SPEECH_URL", "CRM_URL"):
        announce(f"  export {name}={base}")
    announce("the simulator's demo credentials (runner/sim/demo_credentials.py):")
    for name, value in demo_credentials.ENVIRONMENT.items():
        announce(f"  export {name}={value}")
    if faults is not None:
        announce(f"injecting {len(faults.faults)} kinds of fault (seed {faults.seed})")
    announce(f"state: GET {base}/_sim/state   "
             f"bring calls nearer: POST {base}/_sim/clock?advance=SECONDS")
    logging.getLogger("uvicorn.error").addFilter(_OnPurpose())
    config = uvicorn.Config(app, log_level="warning", ssl_certfile=tls[0] if tls else None,
                            ssl_keyfile=tls[1] if tls else None,
                            timeout_graceful_shutdown=STOP_WAITS)
    uvicorn.Server(config).run(sockets=[listening])


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on host:port; an InputError that says why when it cannot."""
    # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on sockets that say so, and without
    # it each answer after a connection's first waited 40 ms for the client's delayed ACK
    listening = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                              socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
        listening.listen(BACKLOG)
    except OSError as exc:
        listening.close()
        raise InputError.plain(f"sim serve: cannot listen on {host}:{port} "
                               f"({exc.strerror or exc})") from None
    return listening
