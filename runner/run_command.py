"""`outbound run`: options in, exit code out."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.csvinput import read_csv_inputs
from runner.engine.events import Event, RunFinished, Warned
from runner.engine.items import Shard
from runner.engine.keys import item_rules
from runner.engine.launch import execute
from runner.engine.services import Exchange
from runner.engine.stop import Stop, stopped_gently
from runner.errors import (
    FileError,
    Finding,
    InputError,
    Location,
    OutboundError,
    Paused,
    Stopped,
)
from runner.journal import Journal, Recorded, default_path, new_run_id, not_there, shard_journal
from runner.journal.paths import check_same_split, held_elsewhere, journal_files
from runner.journal.resuming import check_same_inputs, check_same_playbook, resumed_inputs
from runner.outfiles import check_apart, make_folder, write_out
from runner.playbook import Origin, Playbook, load_playbook, resolve_inputs
from runner.reporting.console import ConsoleReporter
from runner.reporting.json_report import JsonReport
from runner.secrets import REDACTOR
from runner.sim.faults import FaultPlan, load_sim_faults
from runner.startup import settled
from runner.yamlio import load_file

if TYPE_CHECKING:
    from runner.reporting.junit import JUnitReport
    from runner.sim.app import Simulator


@dataclass(frozen=True)
class RunOptions:
    """What `outbound run` was asked to do."""

    playbook: Path
    variables: Sequence[str] = ()
    vars_file: Path | None = None
    simulate: bool = False
    dry_run: bool = False
    report_json: Path | None = None
    verbose: bool = False
    quiet: bool = False
    sim_faults: Path | None = None
    journal: Path | None = None  # default .outbound/journal.sqlite; None with --dry-run
    resume: str | None = None
    report_junit: Path | None = None
    shard: str | None = None  # K/N
    record: Path | None = None
    report_html: Path | None = None
    extra_listeners: Sequence[Any] = field(default=())
    csv_inputs: Sequence[str] = ()  # NAME=FILE
    max_creates: int | None = None  # pause after this many creates (a canary)
    paused_exit_code: int = Paused.exit_code  # the command's, should the run pause


def parse_variables(pairs: Sequence[str]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise InputError.plain(f"--var {pair!r}: expected NAME=VALUE")
        values[name.strip()] = value
    return values


def read_vars_file(path: Path) -> tuple[dict[str, Any], dict[str, Origin]]:
    """The inputs a vars file gives, and where in the file each is."""
    document = load_file(path)
    if not isinstance(document.data, dict):
        raise FileError([Finding(Location(str(path)), "a vars file must be a mapping of input "
                                 "names to values")])

    def origin(name: str) -> Origin:
        return lambda at: document.locate((name, *at))

    return document.data, {str(name): origin(name) for name in document.data}


def parse_shard(text: str | None) -> Shard | None:
    if text is None:
        return None
    number, _, count = text.partition("/")
    if not (number.isdigit() and count.isdigit() and 1 <= int(number) <= int(count)):
        raise InputError.plain(f"--shard {text!r}: expected K/N with 1 <= K <= N, e.g. 2/4")
    return Shard(int(number), int(count))


def journal_path(journal: Path | None, shard: Shard | None) -> Path:
    """The journal a run writes: --journal's, else the default (a shard's own beside it)."""
    path = journal or default_path()
    if shard is None or journal:
        return path
    return shard_journal(path, shard.number, shard.count)


def run(options: RunOptions) -> int:
    """Load, check, run, journal and report; returns the exit code."""
    settled()  # the modules
    playbook = load_playbook(options.playbook)
    settled()  # the playbook, its specs and their schemas
    shard = parse_shard(options.shard)
    path = None if options.dry_run else journal_path(options.journal, shard)
    _refuse_resume(options, path)
    _prepare_destinations(options, path)
    journal = None if path is None else Journal(path)
    try:
        return _run(options, playbook, journal, shard)
    finally:
        if journal is not None:  # one made for a run refused before it began goes
            journal.close(discard=not journal.run_id)


def _refuse_resume(options: RunOptions, path: Path | None) -> None:
    """What a --resume RUN_ID cannot be, told before the journal is opened (or made)."""
    resume = options.resume
    if resume is None or resume == "latest":
        return
    if options.vars_file or options.csv_inputs:
        raise InputError.plain("--resume continues with the run's own inputs; "
                               f"{'--vars-file' if options.vars_file else '--csv'} cannot "
                               "change them")
    if path is not None and not path.is_file():
        raise InputError.plain(held_elsewhere(path, resume) or
                               f"--resume {resume}: {not_there(path)}")


def _given_inputs(options: RunOptions, playbook: Playbook) -> dict[str, Any]:
    """A new run's inputs: --vars-file, then --csv and --var over it, then the defaults."""
    given, origins = read_vars_file(options.vars_file) if options.vars_file else ({}, {})
    from_files, csv_origins = read_csv_inputs(options.csv_inputs, playbook.inputs)
    from_command_line = parse_variables(options.variables)
    given.update(from_files)
    origins.update(csv_origins)
    given.update(from_command_line)  # --var wins, and is reported as itself
    origins = {name: where for name, where in origins.items() if name not in from_command_line}
    return resolve_inputs(playbook, given, frozenset(from_command_line), origins)


def _run(options: RunOptions, playbook: Playbook, journal: Journal | None,
         shard: Shard | None) -> int:
    chosen = _chosen_run(options, playbook, journal, shard)
    if chosen is None:
        return 0
    inputs, recorded = chosen
    faults = load_sim_faults(options.sim_faults, options.simulate)
    simulator = _simulator(options, playbook, faults, journal, recorded)
    begin = partial(_journal_started, options, playbook, journal, shard, inputs, recorded)
    listeners = _Listeners.asked_by(options, journal)
    status, exit_code, outputs = "interrupted", 130, {}
    error_text: str | None = "interrupted"
    interrupt: KeyboardInterrupt | None = None
    started = time.perf_counter()
    exchanges: list[Exchange] = []
    stop = Stop()
    try:
        result = asyncio.run(stopped_gently(execute(
            playbook, inputs, listeners, simulate=options.simulate, dry_run=options.dry_run,
            sim_faults=faults, journal=journal, resume=recorded, shard=shard,
            observe=exchanges.append if options.record else None,
            max_creates=options.max_creates, simulator=simulator, begin=begin, stop=stop),
            stop, _waiting))
        status, exit_code, outputs = result.status, result.exit_code, result.outputs
        error_text = str(result.error) if result.error else None
    except OutboundError as error:  # stopped before its first step (a setting, a secret)
        status, exit_code, error_text = "failed", error.exit_code, str(error)
        raise
    except KeyboardInterrupt as stopped:  # Ctrl-C, SIGTERM, SIGHUP: reports still go out
        interrupt = stopped
        if isinstance(stopped, Stopped):
            exit_code, error_text = stopped.exit_code, stopped.reason
        listeners.reports_only(RunFinished("interrupted", time.perf_counter() - started,
                                           error=error_text))
    finally:
        if journal is not None and journal.run_id:  # begun
            _journal_ended(journal, simulator, status, exit_code, outputs, error_text)
    _write_reports(options, listeners, exchanges, journal, journal.run_id if journal else "",
                   exit_code, status)
    if interrupt is not None:
        if stop.cut_off:  # a second signal
            sys.stderr.write(f"warning: {_writes(stop.cut_off)} cut off before the answer came, "
                             "the outcome unknown: outbound runs show "
                             f"{journal.run_id if journal else 'RUN_ID'} lists them, and how "
                             "--resume settles each\n")
        raise interrupt
    if isinstance(result.error, Paused):  # as the command exits; the run's own is kept
        result.error.exit_code = options.paused_exit_code
    if result.error is not None:
        raise result.error
    return 0


def _simulator(options: RunOptions, playbook: Playbook, faults: FaultPlan | None,
               journal: Journal | None, recorded: Recorded | None) -> Simulator | None:
    """The embedded simulator of a --sim run (its world restored for a resume), else None."""
    if not options.simulate:
        return None
    from runner.sim.embedded import simulator_for  # a live run starts without the simulator

    simulator, notices = simulator_for(faults, journal, recorded, playbook.calling_window)
    sys.stderr.writelines(f"{notice}\n" for notice in notices)
    return simulator


def _journal_ended(journal: Journal, simulator: Simulator | None, status: str, exit_code: int,
                   outputs: dict[str, Any], error: str | None) -> None:
    """The run's end journalled, with the --sim world its resume goes on from."""
    if status == "ok":  # a finished run needs no world to resume from, however it ran
        journal.keep_world(None)
    elif simulator is not None:
        journal.keep_world(simulator.world())
    journal.finish(status, exit_code, outputs, error)


def _journal_started(options: RunOptions, playbook: Playbook, journal: Journal | None,
                     shard: Shard | None, inputs: dict[str, Any], recorded: Recorded | None,
                     ) -> str:
    """The run's id, its start (or its resume) journalled; "" with no journal."""
    if journal is None:
        return ""
    if recorded:
        journal.reopen(recorded.run_id)
        return recorded.run_id
    run_id = new_run_id()
    keys, lists = item_rules(playbook)
    journal.begin(run_id, playbook.name, playbook.file, playbook.sha256, inputs,
                  str(shard) if shard else None, keys, lists)
    return run_id


def _chosen_run(options: RunOptions, playbook: Playbook, journal: Journal | None,
                shard: Shard | None) -> tuple[dict[str, Any], Recorded | None] | None:
    """The run's inputs, and the run it resumes if it does; None when that one had finished."""
    resume, inputs = options.resume, None
    if resume == "latest" and journal is not None:  # the newest run of the same inputs,
        inputs = _given_inputs(options, playbook)    # so a new export starts anew
        latest, other = journal.latest_of(playbook.file, str(shard) if shard else None, inputs)
        if latest is not None and latest[1] == "ok":  # the next scheduled job: nothing again
            _finished(options, journal, latest[0], (
                f"run {latest[0]} of these inputs already finished; nothing to do (other "
                "inputs start a new run, as does leaving out --resume"
                + (f"; run {other} is unfinished, with other inputs)" if other else ")")))
            return None
        resume = latest[0] if latest else None
        if resume is None:  # nor was it begun split otherwise (another --shard N)
            check_same_split(journal.path, playbook.file, str(shard) if shard else None, inputs)
        if resume is None and (other or not options.quiet):  # quiet: unless it surprises
            _say("no run of this playbook with these inputs to resume; starting a new run"
                 + (f" (run {other} is unfinished, with other inputs)" if other else ""))
    if not resume:
        return (inputs if inputs is not None else _given_inputs(options, playbook)), None
    if journal is None:
        raise InputError.plain("--resume needs the journal (it cannot go with --dry-run)")
    recorded = journal.recorded(resume)
    edited = check_same_playbook(recorded, playbook, options.playbook)
    if edited:
        sys.stderr.write(f"warning: {edited}\n")
    if recorded.status == "ok":
        _finished(options, journal, recorded.run_id,
                  f"run {recorded.run_id} already finished; nothing to do")
        return None
    if inputs is None:  # --resume RUN_ID: the run's own inputs
        check_same_inputs(recorded, playbook)
        again = parse_variables(options.variables)
        inputs = resolve_inputs(playbook, resumed_inputs(recorded.inputs, again),
                                frozenset(again))
    return inputs, recorded


def _finished(options: RunOptions, journal: Journal, run_id: str, said: str) -> None:
    """Nothing to do: run `run_id` had finished. The reports asked for are its own, from the
    journal (a scheduled job's CI reads them whatever the job found)."""
    from runner.reporting.journaled import write_journaled_reports  # junit: when asked for

    _say(said)
    write_journaled_reports(journal, run_id, report_json=options.report_json,
                            report_junit=options.report_junit, report_html=options.report_html)


class _Listeners:
    """Who hears the run's events, each redacted: the console, the reports asked for, and
    the journal (the warnings, which the reports it gives later have)."""

    def __init__(self, console: ConsoleReporter, report: JsonReport | None,
                 junit: JUnitReport | None, extra: Sequence[Any]) -> None:
        self.report, self.junit = report, junit
        self._all = [console, *([report] if report else []), *([junit] if junit else []),
                     *extra]

    @classmethod
    def asked_by(cls, options: RunOptions, journal: Journal | None) -> _Listeners:
        junit = None
        if options.report_junit:  # what only an option needs is imported when it is given
            from runner.reporting.junit import JUnitReport

            junit = JUnitReport()
        keeping = [_warnings_into(journal)] if journal is not None else []
        return cls(ConsoleReporter(verbose=options.verbose, quiet=options.quiet),
                   JsonReport() if options.report_json else None, junit,
                   [*keeping, *options.extra_listeners])

    def __call__(self, event: Event) -> None:
        safe = REDACTOR.value(event)  # nothing a listener sees holds a secret
        for listener in self._all:
            listener(safe)

    def reports_only(self, event: RunFinished) -> None:
        """The end of a run stopped from outside: the console said so already."""
        for report in (self.report, self.junit):
            if report is not None:
                report(event)


def _warnings_into(journal: Journal) -> Callable[[Event], None]:
    """A listener keeping the run's warnings in its journal, for the reports drawn from it."""
    def keep(event: Event) -> None:
        if isinstance(event, Warned):
            journal.warned(event.step, event.message)

    return keep


def _write_reports(options: RunOptions, listeners: _Listeners, exchanges: list[Exchange],
                   journal: Journal | None, run_id: str, exit_code: int, status: str) -> None:
    """The cassettes and reports asked for; should a file fail to be written, its error says
    how the run itself ended (`status`)."""
    ended = (f"the run itself ended {status}" + (f" (run {run_id})" if run_id else "")
             + ", and its journal has it")
    report, junit = listeners.report, listeners.junit
    if options.record:
        from runner.contract.check import cassette_of, write_cassettes

        write_out("--record", options.record, lambda folder: write_cassettes(
            folder, [cassette_of(e) for e in exchanges]), after_run=ended)
    if report and options.report_json:
        write_out("--report-json", options.report_json,
                  lambda path: report.write(path, exit_code), after_run=ended)
    if junit and options.report_junit:
        write_out("--report-junit", options.report_junit, junit.write, after_run=ended)
    if options.report_html and journal is not None:
        from runner.reporting import html as html_report

        html = html_report.render(html_report.load([journal], [run_id]))
        write_out("--report-html", options.report_html,
                  lambda path: path.write_text(html, encoding="utf-8"), after_run=ended)


def _prepare_destinations(options: RunOptions, journal: Path | None) -> None:
    """The folders of the reports and cassettes, made before anything is sent; no report
    written over a file the run reads."""
    if options.dry_run and options.report_html:
        raise InputError.plain("--report-html draws a run from its journal, and a dry run "
                               "sends and journals nothing (drop --dry-run, or try --sim)")
    if options.dry_run and options.record:
        raise InputError.plain("--record keeps the exchanges a run has, and a dry run sends "
                               "nothing (drop --dry-run, or try --sim)")
    files = [("--report-json", options.report_json), ("--report-junit", options.report_junit),
             ("--report-html", options.report_html)]
    read = [("the playbook", options.playbook), ("the --vars-file", options.vars_file),
            ("the --sim-faults plan", options.sim_faults),
            *((f"the --csv {name} file", Path(file)) for name, _, file in
              (given.partition("=") for given in options.csv_inputs) if file),
            *(journal_files(journal) if journal is not None else [])]
    check_apart(files, read)
    for option, path in files:
        if path is not None:
            make_folder(option, path.parent)
    if options.record is not None:
        make_folder("--record", options.record)


def _waiting(writes: int) -> None:
    """What Ctrl-C or SIGTERM says when the run waits for its writes in flight: on a
    terminal, over the progress bar's line (and the ^C echoed there)."""
    erase = "\r\x1b[K" if sys.stderr.isatty() else ""
    sys.stderr.write(f"{erase}stopping: {_writes(writes)} in flight get{'s' * (writes < 2)} an "
                     "answer first, to be journaled (Ctrl-C or SIGTERM again stops at once; "
                     "--resume then looks up what was sent)\n")


def _writes(count: int) -> str:
    return f"{count} write{'s' * (count > 1)}"


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
