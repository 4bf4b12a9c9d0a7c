"""`outbound run`: options in, exit code out."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.engine.events import Event
from runner.engine.launch import execute
from runner.errors import FileError, Finding, InputError, Location
from runner.playbook import load_playbook, resolve_inputs
from runner.reporting.console import ConsoleReporter
from runner.reporting.json_report import JsonReport
from runner.secrets import REDACTOR
from runner.sim.faults import load_faults
from runner.yamlio import load_file


@dataclass(frozen=True)
class RunOptions:
    playbook: Path
    variables: Sequence[str] = ()
    vars_file: Path | None = None
    simulate: bool = False
    dry_run: bool = False
    report_json: Path | None = None
    verbose: bool = False
    quiet: bool = False
    sim_faults: Path | None = None
    extra_listeners: Sequence[Any] = field(default=())


def parse_variables(pairs: Sequence[str]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise InputError.plain(f"--var {pair!r}: expected NAME=VALUE")
        values[name.strip()] = value
    return values


def read_vars_file(path: Path) -> dict[str, Any]:
    document = load_file(path)
    if not isinstance(document.data, dict):
        raise FileError([Finding(Location(str(path)), "a vars file must be a mapping of input "
                                 "names to values")])
    return document.data


def run(options: RunOptions) -> int:
    """Load, check, run and report; returns the exit code."""
    playbook = load_playbook(options.playbook)
    given: dict[str, Any] = read_vars_file(options.vars_file) if options.vars_file else {}
    from_command_line = parse_variables(options.variables)
    given.update(from_command_line)
    inputs = resolve_inputs(playbook, given, frozenset(from_command_line))
    console = ConsoleReporter(verbose=options.verbose, quiet=options.quiet)
    report = JsonReport() if options.report_json else None
    listeners = [console, *([report] if report else []), *options.extra_listeners]

    def emit(event: Event) -> None:
        safe = REDACTOR.value(event)  # nothing a listener sees holds a secret
        for listener in listeners:
            listener(safe)

    faults = load_faults(options.sim_faults) if options.sim_faults else None
    if faults is not None and not options.simulate:
        raise InputError.plain("--sim-faults works with --sim (for a served simulator: "
                               "outbound sim serve --faults FILE)")
    result = asyncio.run(execute(playbook, inputs, emit, simulate=options.simulate,
                                 dry_run=options.dry_run, sim_faults=faults))
    if report and options.report_json:
        report.write(options.report_json, result.exit_code)
    if result.error is not None:
        raise result.error
    return 0
