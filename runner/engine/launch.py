"""Set up and execute one run: clients per service (real, or the in-process simulator)."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from runner.auth import build_auth
from runner.clock import Clock, RealClock, SimulatedClock
from runner.engine.events import Emit, Warned
from runner.engine.executor import Run
from runner.engine.items import Shard
from runner.engine.proxies import Proxy, proxy_for
from runner.engine.services import Exchange, ServiceClient
from runner.engine.stop import NEVER, Stop
from runner.engine.tallies import RunResult
from runner.engine.transport import Http1Transport, tls_context
from runner.errors import Finding, InputError, Location, OutboundError
from runner.journal import Journal, Recorded
from runner.playbook import Playbook, ServiceBinding, address_problem
from runner.secrets import REDACTOR, read_secret
from runner.sim import demo_credentials
from runner.sim.faults import FaultPlan
from runner.templating import environment_variables

if TYPE_CHECKING:
    from runner.sim.app import Simulator


async def execute(playbook: Playbook, inputs: Mapping[str, Any], emit: Emit, *,
                  simulate: bool = False, dry_run: bool = False,
                  transport: httpx.AsyncBaseTransport | None = None,
                  clock: Clock | None = None, sim_faults: FaultPlan | None = None,
                  journal: Journal | None = None, resume: Recorded | None = None,
                  run_id: str = "", shard: Shard | None = None,
                  observe: Callable[[Exchange], None] | None = None,
                  lenient_responses: bool = False, max_creates: int | None = None,
                  simulator: Simulator | None = None,
                  begin: Callable[[], str] | None = None,
                  stop: Stop = NEVER) -> RunResult:
    """Run `playbook` with `inputs`; with `simulate`, against the embedded simulator (a new
    one, or `simulator`: a resumed run's, which goes on from the world it left).

    `begin`, once every service's URL and credentials are had (InputError before, naming
    each one that is not), journals the run's start and gives its id: a run refused for a
    secret not set is not journaled, as one refused for an input is not.

    `transport` and `clock` let a caller (a test, a benchmark) supply the vendor and time.
    Only a simulated run loads the simulator: a live one starts without it. `stop`, asked
    by Ctrl-C or SIGTERM, stops the run gently (runner/engine/stop.py).
    """
    if simulate and simulator is None:
        from runner.sim.app import Simulator

        simulator = Simulator(clock=clock or SimulatedClock(), fault_plan=sim_faults)
    clock = simulator.clock if simulator else clock or RealClock()
    env = environment_variables()
    async with AsyncExitStack() as stack:
        if simulator:
            from runner.sim.embedded import InProcess

            transport = InProcess(simulator)
        live = not (simulate or dry_run)
        if live and transport is None:
            transports: Transports = _LiveTransports(emit)
        else:
            transports = _Fixed(transport or _NO_TRANSPORT)
        stack.push_async_callback(transports.aclose)
        services = _services(playbook, inputs, env, transports, clock, live=live,
                             shards=shard.count if shard else 1)
        for service in services.values():
            service.observe = observe
            service.stop = stop
        if begin is not None:
            run_id = begin()
        run = Run(playbook, inputs, services, clock, emit, env=env, dry_run=dry_run,
                  simulated=simulate, journal=journal, resume=resume, run_id=run_id,
                  shard=shard, lenient_responses=lenient_responses, max_creates=max_creates,
                  stop=stop)
        return await run.execute()


class _Unsent(httpx.AsyncBaseTransport):
    """The transport of a dry run: it never sends (the engine never asks it to)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise AssertionError("a dry run sends nothing")


_NO_TRANSPORT = _Unsent()


class Transports(Protocol):
    """Gives a service its transport, by its binding and the proxy it is reached through."""

    def __call__(self, binding: ServiceBinding,
                 proxy: Proxy | None) -> httpx.AsyncBaseTransport: ...

    async def aclose(self) -> None: ...


class _Fixed:
    """The one transport every service has: the simulator's, a dry run's, or a caller's."""

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self._transport = transport

    def __call__(self, binding: ServiceBinding, proxy: Proxy | None) -> httpx.AsyncBaseTransport:
        return self._transport

    async def aclose(self) -> None:
        await self._transport.aclose()


class _LiveTransports:
    """A live run's transports, one per TLS setting and proxy (most playbooks: one for all
    services). Our HTTP/1.1 pool serves the services reached directly; httpx's own, which
    speaks to proxies (a CONNECT tunnel for https), those reached through one: it is slower
    (800 calls a second at 32 in flight on the chain benchmark, against ours' 11,000), still
    far above a vendor's rate limit (the shipped playbooks': 10 and 20 a second)."""

    def __init__(self, emit: Emit) -> None:
        self._emit = emit
        self._made: dict[tuple[bool | Path, str | None], httpx.AsyncBaseTransport] = {}

    def __call__(self, binding: ServiceBinding, proxy: Proxy | None) -> httpx.AsyncBaseTransport:
        if binding.verify is False:
            self._emit(Warned(None, f"TLS certificate checking is off for service "
                                    f"{binding.name} (verify: false): anyone on the path can "
                                    "read and change its traffic"))
        setting = (binding.verify, proxy.url if proxy else None)
        if setting not in self._made:
            verify = _ssl(binding.verify)
            self._made[setting] = Http1Transport(verify=verify) if proxy is None else (
                httpx.AsyncHTTPTransport(verify=verify if isinstance(verify, ssl.SSLContext)
                                         else tls_context(verify), proxy=proxy.url,
                                         trust_env=False))
        return self._made[setting]

    async def aclose(self) -> None:
        for transport in self._made.values():
            await transport.aclose()


def _ssl(verify: bool | Path) -> ssl.SSLContext | bool:
    if isinstance(verify, Path):
        context = ssl.create_default_context(cafile=str(verify))
        # A CA the playbook names is one the vendor made itself, often without the key
        # identifiers RFC 5280 asks for, which Python 3.13 began to require (strict mode).
        # Refusing it would leave verify: false as the way out; the chain, its signatures,
        # dates and the host name are still checked.
        context.verify_flags &= ~ssl.VERIFY_X509_STRICT
        return context
    return verify


def _services(playbook: Playbook, inputs: Mapping[str, Any], env: Mapping[str, str],
              transports: Transports, clock: Clock, *, live: bool,
              shards: int) -> dict[str, ServiceClient]:
    """Every service's client. A missing URL or secret is reported before anything is sent,
    all of them at once (not one per attempt). Of `shards` jobs that run side by side, each
    has its share of a service's `rate_limit`: the vendor sees the rate the playbook gives."""
    services = {}
    problems = []
    for name, binding in playbook.services.items():
        try:
            services[name] = _service(binding, inputs, env, transports, clock, live, shards)
        except OutboundError as error:
            problems.append(Finding(Location(), str(error)))
    if problems:
        raise InputError(problems)
    return services


def _service(binding: ServiceBinding, inputs: Mapping[str, Any], env: Mapping[str, str],
             transports: Transports, clock: Clock, live: bool,
             shards: int) -> ServiceClient:
    proxy = None
    if live:
        base_url, credentials = _live_settings(binding, inputs, env)
        proxy = proxy_for(base_url)
    else:  # the simulator stands in with its own address and credentials
        base_url = f"http://{binding.spec.service}.sim"
        credentials = demo_credentials.for_scheme(binding.spec.auth.scheme)
    for value in credentials.values():
        REDACTOR.add(value)
    auth = build_auth(binding.name, binding.spec.auth, credentials, clock)
    rate_limit = None if binding.rate_limit is None else binding.rate_limit / shards
    return ServiceClient(binding.name, binding.spec, base_url, transports(binding, proxy),
                         clock, rate_limit=rate_limit, timeouts=binding.timeout,
                         retries=binding.retries, auth=auth, max_response=binding.max_response,
                         proxy=proxy)


def _live_settings(binding: ServiceBinding, inputs: Mapping[str, Any],
                   env: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    """The service's URL and credentials; each one that cannot be had is told, all at once."""
    scope = {"inputs": inputs, "env": env, "secret": read_secret}
    problems = []
    base_url = ""
    try:
        base_url = _base_url(binding, scope)
    except OutboundError as error:
        problems.append(Finding(Location(), str(error)))
    credentials = {}
    for key, value in binding.credentials.items():
        try:
            credentials[key] = value.render(scope)
        except OutboundError as error:
            error.add_context(f"service {binding.name} credentials.{key}")
            problems.append(Finding(Location(), str(error)))
    if problems:
        raise InputError(problems)
    return base_url, credentials


def _base_url(binding: ServiceBinding, scope: Mapping[str, Any]) -> str:
    if binding.base_url is None:
        raise InputError.plain(f"service {binding.name} has no base_url: give one in the "
                               "playbook, or run with --sim")
    if isinstance(binding.base_url, str):
        url, where = binding.base_url, Location()
    else:
        try:
            url = str(binding.base_url.render(scope))
        except OutboundError as error:
            error.add_context(f"service {binding.name}")
            raise
        where = binding.base_url.location
    why = address_problem(url)
    if why is not None:
        raise InputError([Finding(where, f"service {binding.name}: base_url {url!r} is not "
                                  f"an http(s) URL{why}")])
    return url

