"""`outbound check`: a probe playbook's answers, compared field by field with the specs.

Live, the probe runs like any playbook (reads only, unless --allow-writes) and every answer
is compared as it came, even one the engine would reject. `--record DIR` keeps each exchange as
a cassette (redacted JSON); `--replay DIR` compares recorded answers with the current specs
without any network, so a spec change is checked against real past traffic.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.contract.drift import (
    BREAKING,
    DriftFinding,
    compare,
    deduplicated,
    missing_documented,
)
from runner.engine.launch import execute
from runner.engine.responses import decoded, dig
from runner.engine.services import Exchange
from runner.errors import (
    FileError,
    Finding,
    InputError,
    Location,
    ResponseInvalid,
    VendorError,
)
from runner.outfiles import write_out
from runner.playbook import Playbook, load_playbook, resolve_inputs
from runner.secrets import REDACTOR
from runner.sim.faults import load_sim_faults
from runner.spec import READ_KINDS, Endpoint, Spec


@dataclass(frozen=True)
class CheckOptions:
    """What `outbound check` was asked to do."""

    playbook: Path
    variables: dict[str, str] = field(default_factory=dict)
    simulate: bool = False
    allow_writes: bool = False
    slow_after: float | None = None
    record: Path | None = None
    replay: Path | None = None
    sim_faults: Path | None = None


@dataclass
class CheckResult:
    """What a check found: the drift, and what it could not reach."""

    findings: list[DriftFinding]
    answers: int
    problem: str | None = None  # the probe could not run through (not a drift)
    endpoints: list[str] = field(default_factory=list)  # those that answered, sorted
    not_reached: list[str] = field(default_factory=list)  # steps after the one it stopped at
    # (endpoint, HTTP status) of each answer that was an HTTP error with no result code: a
    # gateway's 503, a 429, a 401 are outages and refusals, not the endpoint's answer
    not_compared: list[tuple[str, int]] = field(default_factory=list)

    def exit_code(self, fail_on: str) -> int:
        if self.problem:
            return 1
        failing = [f for f in self.findings if f.severity == BREAKING or fail_on == "warning"]
        return 1 if failing else 0


@dataclass(frozen=True)
class Cassette:
    """One recorded exchange."""

    endpoint: str
    method: str
    path: str
    status: int
    seconds: float
    body: Any  # the decoded JSON, or the text when it was not JSON

    def to_json(self) -> str:
        return REDACTOR.text(json.dumps(self.__dict__, ensure_ascii=False, indent=2))


def check(options: CheckOptions) -> CheckResult:
    playbook = load_playbook(options.playbook)
    if options.replay is not None:
        ignored = [name for name, given in (("--sim", options.simulate), ("--sim-faults",
                   options.sim_faults), ("--record", options.record)) if given]
        if ignored:
            raise InputError.plain(f"--replay checks recorded answers without calling anything;"
                                   f" {', '.join(ignored)} would do nothing with it")
        return _compare_all(playbook, _read_cassettes(options.replay), options.slow_after)
    _refuse_writes(playbook, options.allow_writes)
    faults = load_sim_faults(options.sim_faults, options.simulate)
    inputs = resolve_inputs(playbook, options.variables, frozenset(options.variables))
    exchanges: list[Exchange] = []
    result = asyncio.run(execute(playbook, inputs, lambda event: None,
                                 simulate=options.simulate, sim_faults=faults,
                                 observe=exchanges.append, lenient_responses=True))
    cassettes = [cassette_of(exchange) for exchange in exchanges]
    if options.record is not None:
        write_out("--record", options.record, lambda folder: write_cassettes(folder, cassettes))
    checked = _compare_all(playbook, cassettes, options.slow_after)
    error = result.error
    last = cassettes[-1].endpoint if cassettes else None
    explained = isinstance(error, (VendorError, ResponseInvalid)) and any(
        f.endpoint == last for f in checked.findings)  # the drift found stopped the probe
    if error is not None and not explained:
        checked.problem = REDACTOR.text(str(error))
    if error is not None:
        checked.not_reached = [s.id for s in playbook.steps if s.id not in result.steps]
    return checked


def _refuse_writes(playbook: Playbook, allowed: bool) -> None:
    writes = [s for s in playbook.steps if s.endpoint and s.endpoint.kind not in READ_KINDS]
    if writes and not allowed:
        raise InputError([Finding(s.location, f"step {s.id} calls {s.endpoint.qualified_name}"
                                  f" ({s.endpoint.kind}); a check only reads unless "
                                  "--allow-writes") for s in writes if s.endpoint])


def cassette_of(exchange: Exchange) -> Cassette:
    """An exchange as a cassette: the answer decoded, the request described."""
    request = exchange.request
    try:
        body: Any = decoded(exchange.content)
    except (ValueError, UnicodeDecodeError):  # kept as the text, which drift calls not JSON
        body = exchange.content.decode("utf-8", errors="replace")
    return Cassette(request.endpoint.qualified_name, request.method, request.target(),
                    exchange.status, round(exchange.seconds, 4), body)


def _compare_all(playbook: Playbook, cassettes: Sequence[Cassette],
                 slow_after: float | None) -> CheckResult:
    specs: dict[str, Spec] = {b.spec.service: b.spec for b in playbook.services.values()}
    findings: list[DriftFinding] = []
    answers: dict[str, tuple[Endpoint, list[Any]]] = {}
    compared: list[Cassette] = []
    not_compared: list[tuple[str, int]] = []
    for cassette in cassettes:
        service, _, name = cassette.endpoint.partition(".")
        spec = specs.get(service)
        if spec is None or name not in spec.endpoints:
            continue  # traffic of an endpoint this playbook's specs no longer have
        if _http_error(spec, cassette):
            not_compared.append((cassette.endpoint, cassette.status))
            continue
        compared.append(cassette)
        endpoint = spec.endpoints[name]
        if isinstance(cassette.body, str):
            findings.append(DriftFinding(BREAKING, cassette.endpoint, "$", "not JSON",
                                         "a JSON body", repr(cassette.body[:60])))
            continue
        findings += compare(spec, endpoint, cassette.body, seconds=cassette.seconds,
                            slow_after=slow_after)
        if _succeeded(spec, cassette.body):
            answers.setdefault(cassette.endpoint, (endpoint, []))[1].append(cassette.body)
    gone = {(f.endpoint, f.path) for f in findings if f.kind == "required field gone"}
    for endpoint, bodies in answers.values():
        findings += [f for f in missing_documented(endpoint, bodies)
                     if (f.endpoint, f.path) not in gone]
    checked = sorted({c.endpoint for c in compared})
    return CheckResult(deduplicated(findings), len(compared), endpoints=checked,
                       not_compared=not_compared)


def _http_error(spec: Spec, cassette: Cassette) -> bool:
    """An HTTP error status with no result code in the body (a business answer sent with an
    error status, as some vendors do, is compared)."""
    if cassette.status < 400:
        return False
    envelope = spec.envelope
    return envelope is None or not isinstance(cassette.body, dict) or dig(
        cassette.body, envelope.code) is None


def _succeeded(spec: Spec, body: Any) -> bool:
    envelope = spec.envelope
    return envelope is None or str(dig(body, envelope.code)) in envelope.success


def write_cassettes(folder: Path, cassettes: Sequence[Cassette]) -> None:
    """Each cassette as redacted JSON, numbered in the order of the calls."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, cassette in enumerate(cassettes, start=1):
        name = f"{index:04d}-{cassette.endpoint}.json"
        (folder / name).write_text(cassette.to_json() + "\n", encoding="utf-8")


def _read_cassettes(folder: Path) -> list[Cassette]:
    files = sorted(folder.glob("*.json"))
    if not files:
        raise InputError.plain(f"--replay {folder}: no cassettes (*.json) there")
    fields = [f.name for f in dataclasses.fields(Cassette)]
    cassettes = []
    for path in files:
        try:
            raw = decoded(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise FileError([Finding(Location(str(path)), f"not a cassette ({exc})")]) from None
        if not isinstance(raw, dict) or sorted(raw) != sorted(fields):
            held = (f"this holds {', '.join(sorted(raw)) or 'nothing'}" if isinstance(raw, dict)
                    else f"this is a {type(raw).__name__}")
            raise FileError([Finding(Location(str(path)), (
                f"not a cassette (one recorded exchange holds {', '.join(fields)}; {held}): "
                "--replay names a folder --record wrote"))])
        cassettes.append(Cassette(**raw))
    return cassettes
