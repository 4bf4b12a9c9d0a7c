"""Set up and execute one run: clients per service (real, or the in-process simulator)."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AsyncExitStack
from typing import Any

import httpx

from runner.clock import Clock, RealClock, SimulatedClock
from runner.engine.events import Emit
from runner.engine.executor import Run, RunResult
from runner.engine.services import ServiceClient, make_http_client
from runner.errors import Finding, InputError, OutboundError
from runner.playbook import Playbook, ServiceBinding
from runner.secrets import read_secret
from runner.templating import environment_variables


async def execute(playbook: Playbook, inputs: Mapping[str, Any], emit: Emit, *,
                  simulate: bool = False, dry_run: bool = False,
                  transport: httpx.AsyncBaseTransport | None = None,
                  clock: Clock | None = None) -> RunResult:
    """Run `playbook` with `inputs`; with `simulate`, against the embedded simulator.

    `transport` and `clock` let a caller (a test, a benchmark) supply the vendor and time.
    """
    clock = clock or (SimulatedClock() if simulate else RealClock())
    env = environment_variables()
    async with AsyncExitStack() as stack:
        services: dict[str, ServiceClient] = {}
        if simulate:
            from runner.sim.app import Simulator  # imported only when simulating

            transport = httpx.ASGITransport(app=Simulator(clock=clock))
        live = not (simulate or dry_run)
        for name, binding in playbook.services.items():
            if live:  # a missing URL or secret is reported before anything is sent
                base_url = _base_url(binding, inputs, env)
                credentials = _credentials(binding, inputs, env)
            else:
                base_url, credentials = f"http://{binding.spec.service}.sim", {}
            client = await stack.enter_async_context(
                make_http_client(base_url, transport=transport, timeout=binding.timeout))
            services[name] = ServiceClient(name, binding.spec, client, clock, binding.rate_limit,
                                           credentials=credentials)
        run = Run(playbook, inputs, services, clock, emit, env=env, dry_run=dry_run,
                  simulated=simulate)
        return await run.execute()


def _credentials(binding: ServiceBinding, inputs: Mapping[str, Any],
                 env: Mapping[str, str]) -> dict[str, Any]:
    scope = {"inputs": inputs, "env": env, "secret": read_secret}
    values = {}
    for key, value in binding.credentials.items():
        try:
            values[key] = value.render(scope)
        except OutboundError as error:
            error.add_context(f"service {binding.name} credentials.{key}")
            raise
    return values


def _base_url(binding: ServiceBinding, inputs: Mapping[str, Any], env: Mapping[str, str]) -> str:
    if binding.base_url is None:
        raise InputError.plain(f"service {binding.name} has no base_url: give one in the "
                               "playbook, or run with --sim")
    if isinstance(binding.base_url, str):
        return binding.base_url
    scope = {"inputs": inputs, "env": env, "secret": read_secret}
    try:
        url = str(binding.base_url.render(scope))
    except OutboundError as error:
        error.add_context(f"service {binding.name}")
        raise
    if not url.startswith(("http://", "https://")):
        raise InputError([Finding(binding.base_url.location, f"service {binding.name}: "
                                  f"base_url {url!r} is not an http(s) URL")])
    return url

