"""The `outbound` command: parse options, call the library, turn errors into exit codes."""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable
from functools import partial, wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from runner.errors import OutboundError, Stopped
from runner.startup import own_process, settled

F = TypeVar("F", bound=Callable[..., Any])

journal_option = click.option(
    "--journal", type=click.Path(dir_okay=False, path_type=Path),
    help="The journal file (default $OUTBOUND_JOURNAL, else .outbound/journal.sqlite).")
format_option = click.option("--format", "output_format", type=click.Choice(["text", "json"]),
                             default="text", show_default=True, help="Output format.")


BROKEN_PIPE = 141  # what a shell reports for a command its reader left (128 + SIGPIPE)


def _fail(message: str, code: int) -> None:
    for line in message.splitlines() or [""]:
        click.echo(f"error: {line}", err=True)
    sys.exit(code)


def handles_errors(command: F) -> F:
    """Turn an `OutboundError` into its message and exit code; never show a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except OutboundError as error:
            from runner.secrets import REDACTOR

            _fail(REDACTOR.text(str(error)), error.exit_code)
        except Stopped:
            _fail("stopped by SIGTERM", Stopped.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as a shell tool
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(BROKEN_PIPE)
        except Exception as error:  # a bug: say so plainly, details on request
            if os.environ.get("OUTBOUND_DEBUG"):
                traceback.print_exc()
            _fail(f"internal error ({type(error).__name__}: {error}); this is a bug in "
                  "outbound-runner. Set OUTBOUND_DEBUG=1 to see the traceback.", 1)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="outbound-runner")
def main() -> None:
    """Run call-center vendor API playbooks, described as data."""


def entry() -> None:
    """The `outbound` command: one command, in a process of its own."""
    own_process()
    main()


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@format_option
@handles_errors
def validate(paths: tuple[str, ...], output_format: str) -> None:
    """Check spec and playbook files (default: specs/ and playbooks/).

    Prints each problem as path:line:col (json.path): message. Exit 0 when all are valid,
    2 otherwise.
    """
    from runner.filecheck import check_paths
    from runner.reporting.findings import findings_json, findings_text

    settled()  # the modules; then each file checked is let go
    report = check_paths(paths or ("specs", "playbooks"), missing_ok=not paths)
    click.echo(findings_json(report) if output_format == "json" else findings_text(report))
    sys.exit(0 if report.ok else 2)


@main.group()
def specs() -> None:
    """What endpoints the specs describe."""


@specs.command("list")
@format_option
@handles_errors
def specs_list(output_format: str) -> None:
    """Every endpoint of every spec (./specs/ first, then the shipped ones)."""
    from runner.catalog import all_specs
    from runner.reporting.specs import spec_list_json, spec_list_text

    found = all_specs()
    click.echo(spec_list_json(found) if output_format == "json" else spec_list_text(found))


@specs.command("diff")
@click.argument("old")
@click.argument("new")
@handles_errors
def specs_diff(old: str, new: str) -> None:
    """What changed from spec OLD to NEW (names or files). Exit 1 when something breaks."""
    from runner.catalog import spec_named
    from runner.contract.diff import diff_specs

    changes = diff_specs(spec_named(old), spec_named(new))
    for change in changes:
        click.echo(str(change))
    breaking = sum(change.breaking for change in changes)
    click.echo(f"{len(changes)} change{'s' * (len(changes) != 1)}, {breaking} breaking")
    sys.exit(1 if breaking else 0)


@specs.command("export-openapi")
@click.argument("spec")
@handles_errors
def specs_export_openapi(spec: str) -> None:
    """The spec (a name or a file) as an OpenAPI 3.1 document (JSON) on stdout."""
    import json

    from runner.catalog import spec_named
    from runner.contract.openapi import export_openapi

    click.echo(json.dumps(export_openapi(spec_named(spec)), ensure_ascii=False, indent=2))


@specs.command("show")
@click.argument("endpoint")
@format_option
@handles_errors
def specs_show(endpoint: str, output_format: str) -> None:
    """One endpoint's params, constraints and response fields: SERVICE.ENDPOINT."""
    from runner.catalog import endpoint_named
    from runner.reporting.specs import endpoint_json, endpoint_text

    found = endpoint_named(endpoint)
    click.echo(endpoint_json(found) if output_format == "json" else endpoint_text(found))


@main.command()
@click.argument("playbook", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE",
              help="Set an input (typed by the input's schema). Repeatable.")
@click.option("--vars-file", type=click.Path(dir_okay=False, path_type=Path),
              help="A YAML or JSON file of input values.")
@click.option("--csv", "csv_inputs", multiple=True, metavar="NAME=FILE",
              help="Set a list input to the rows of a CSV file (its first row names the "
                   "columns). Repeatable.")
@click.option("--sim", "simulate", is_flag=True,
              help="Run against the embedded vendor simulator (no setup, no network).")
@click.option("--dry-run", is_flag=True,
              help="Render and check every request that can be known; send nothing.")
@click.option("--report-json", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the run's result as JSON (schemas/report.schema.json) to this file.")
@click.option("--report-junit", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the run as JUnit XML (a test case per step and per failed item).")
@click.option("--report-html", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the run's report as one self-contained HTML page.")
@click.option("-v", "--verbose", is_flag=True, help="Show every call.")
@click.option("-q", "--quiet", is_flag=True, help="Only the final line (for cron jobs).")
@click.option("--sim-faults", type=click.Path(dir_okay=False, path_type=Path),
              help="With --sim: a fault plan (YAML) the simulator follows.")
@journal_option
@click.option("--resume", metavar="RUN_ID",
              help="Continue a crashed, killed, failed or paused run: finished items are not "
                   "repeated. 'latest': the newest unfinished run of this playbook, or a new "
                   "run when there is none.")
@click.option("--max-creates", type=click.IntRange(min=1), metavar="N",
              help="Pause (exit 75) once N creates were started, as a canary: look at them, "
                   "then --resume goes on (with its own --max-creates, if given).")
@click.option("--shard", metavar="K/N",
              help="Run shard K of N: a stable share of every for_each, with its own journal.")
@click.option("--record", type=click.Path(file_okay=False, path_type=Path),
              help="Keep every exchange, redacted, as a cassette (for outbound check --replay).")
@handles_errors
def run(playbook: Path, variables: tuple[str, ...], vars_file: Path | None,
        csv_inputs: tuple[str, ...], simulate: bool, dry_run: bool, report_json: Path | None,
        report_junit: Path | None, report_html: Path | None, verbose: bool, quiet: bool,
        sim_faults: Path | None, journal: Path | None, resume: str | None,
        max_creates: int | None, shard: str | None, record: Path | None) -> None:
    """Run a playbook. Exit 0 on success, 1 when the run failed, 2 on invalid input, 75 when
    it paused (outside its calling window, or at --max-creates; --resume goes on)."""
    from runner.run_command import RunOptions
    from runner.run_command import run as run_playbook

    sys.exit(run_playbook(RunOptions(playbook, variables, vars_file, simulate, dry_run,
                                     report_json, verbose, quiet, sim_faults=sim_faults,
                                     journal=journal, resume=resume,
                                     report_junit=report_junit, shard=shard,
                                     record=record, report_html=report_html,
                                     csv_inputs=csv_inputs, max_creates=max_creates)))


@main.command()
@click.argument("playbook", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="Set an input.")
@click.option("--sim", "simulate", is_flag=True, help="Check the embedded simulator.")
@click.option("--sim-faults", type=click.Path(dir_okay=False, path_type=Path),
              help="With --sim: a fault plan for the simulator (drift, say).")
@click.option("--allow-writes", is_flag=True, help="Let the probe call creates and updates.")
@click.option("--fail-on", type=click.Choice(["breaking", "warning"]), default="breaking",
              show_default=True, help="Which findings make the exit code 1.")
@click.option("--slow", type=float, metavar="SECONDS",
              help="Warn about answers slower than this.")
@click.option("--record", type=click.Path(file_okay=False, path_type=Path),
              help="Keep every exchange, redacted, as a cassette in this folder.")
@click.option("--replay", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Check recorded cassettes instead of calling anything.")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "junit"]),
              default="text", show_default=True, help="Output format.")
@handles_errors
def check(playbook: Path, variables: tuple[str, ...], simulate: bool,
          sim_faults: Path | None, allow_writes: bool, fail_on: str, slow: float | None,
          record: Path | None, replay: Path | None, output_format: str) -> None:
    """Compare a probe playbook's answers with the specs: breaking changes and warnings.

    Exit 0 without breaking findings (or warnings, with --fail-on warning), 1 with, 2 on bad
    input.
    """
    from runner.contract.check import CheckOptions, CheckResult
    from runner.contract.check import check as run_check
    from runner.reporting.check import check_json, check_junit, check_text
    from runner.run_command import parse_variables

    result = run_check(CheckOptions(playbook, parse_variables(variables), simulate,
                                    allow_writes, slow, record, replay, sim_faults))
    renderings: dict[str, Callable[[CheckResult], str]] = {
        "text": check_text, "json": check_json, "junit": partial(check_junit, fail_on=fail_on)}
    click.echo(renderings[output_format](result))
    sys.exit(result.exit_code(fail_on))


@main.group()
def runs() -> None:
    """The run journal: what ran, what it did."""


@runs.command("list")
@journal_option
@format_option
@click.option("--limit", type=click.IntRange(min=0), default=50, show_default=True,
              help="How many of the newest runs to list (0: all).")
@handles_errors
def runs_list(journal: Path | None, output_format: str, limit: int) -> None:
    """The latest runs, each with its run_id, status and counts."""
    from runner.journal import Journal, default_path, not_there
    from runner.reporting.runs import runs_json, runs_text

    path = journal or default_path()
    if not path.exists():
        click.echo(f"No runs: {not_there(path)}")
        return
    opened = Journal(path, reader=True)
    found = opened.runs(limit or None)
    if output_format == "json":
        click.echo(runs_json(found))
        return
    click.echo(runs_text(found))
    if limit and len(found) == limit and (total := opened.run_count()) > limit:
        click.echo(f"the newest {limit} of {total} runs (--limit 0 lists them all)")


@runs.command("prune")
@click.option("--older-than", required=True, metavar="DURATION",
              help="Remove the runs that started longer ago than this (e.g. 30d, 12h).")
@journal_option
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
@handles_errors
def runs_prune(older_than: str, journal: Path | None, dry_run: bool) -> None:
    """Remove old runs from the journal, finished or not, and shrink the file.

    A campaign run from CI every 30 minutes keeps every run it ever made; run this after it
    (a run started within DURATION, which --resume may still need, is kept).
    """
    from runner.errors import InputError
    from runner.journal import Journal, default_path, not_there
    from runner.playbook import parse_duration
    from runner.reporting.runs import pruned_text

    try:
        seconds = parse_duration(older_than)
    except ValueError:
        raise InputError.plain(f"--older-than {older_than}: not a duration (e.g. 30d, 12h, "
                               "90m)") from None
    path = journal or default_path()
    if not path.exists():
        click.echo(f"No runs: {not_there(path)}")
        return
    before = path.stat().st_size
    opened = Journal(path, existing=True)  # as the writer: refused while a run writes it
    try:
        pruned = opened.prune(time.time() - seconds, dry_run=dry_run)
    finally:
        opened.close()
    click.echo(pruned_text(pruned, older_than, before, path.stat().st_size, dry_run))


@runs.command("merge")
@click.argument("reports", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--report-json", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the merged JSON report.")
@click.option("--report-junit", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the merged run as JUnit XML.")
@handles_errors
def runs_merge(reports: tuple[Path, ...], report_json: Path, report_junit: Path | None) -> None:
    """Combine the JSON reports of a sharded run's jobs into one. Exit: the merged run's."""
    from runner.reporting.merge import merge_reports

    merged = merge_reports(reports, report_json, report_junit)
    click.echo(f"merged {len(reports)} reports: {merged['status']} (exit {merged['exit_code']})")
    sys.exit(merged["exit_code"])


@runs.command("report")
@click.argument("run_ids", nargs=-1, required=True, metavar="RUN_ID...|latest")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="Where to write the report (one self-contained page).")
@click.option("--journal", "journals", multiple=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="A journal to read (repeat for the journals of a sharded run's shards).")
@handles_errors
def runs_report(run_ids: tuple[str, ...], html_file: Path, journals: tuple[Path, ...]) -> None:
    """A run's report as HTML: steps, timeline, rates, latency, outcomes, failures.

    Give the run ids of every shard (and their journals) to merge a sharded run; `latest`
    is the newest run of each journal given.
    """
    from runner.journal import Journal, default_path
    from runner.outfiles import write_out
    from runner.reporting.html import load, render

    opened = [Journal(path, reader=True) for path in journals or (default_path(),)]
    if run_ids == ("latest",):
        run_ids = tuple(journal.run_id_of("latest") for journal in opened)
    html = render(load(opened, run_ids))
    write_out("--html", html_file, lambda path: path.write_text(html, encoding="utf-8"))
    click.echo(f"report written to {html_file}")


@runs.command("show")
@click.argument("run_id", metavar="RUN_ID|latest")
@journal_option
@format_option
@handles_errors
def runs_show(run_id: str, journal: Path | None, output_format: str) -> None:
    """One run: its steps, calls, failed items and outputs."""
    from runner.journal import Journal, default_path
    from runner.reporting.runs import run_json, run_text

    opened = Journal(journal or default_path(), reader=True)
    found = opened.run(opened.run_id_of(run_id))
    click.echo(run_json(found) if output_format == "json" else run_text(found))


@runs.command("resolve")
@click.argument("run_id", metavar="RUN_ID|latest")
@click.argument("item", metavar="STEP[ITERATION]")
@click.option("--not-sent", is_flag=True,
              help="The vendor did not act on it: --resume sends it again.")
@click.option("--answer", type=click.Path(dir_okay=False, path_type=Path),
              help="The vendor made it; FILE (JSON or YAML) is its answer, from its console "
                   "or logs: --resume finishes the item from it.")
@click.option("--skip", is_flag=True, help="Leave the item out of the run.")
@journal_option
@handles_errors
def runs_resolve(run_id: str, item: str, not_sent: bool, answer: Path | None, skip: bool,
                 journal: Path | None) -> None:
    """Say what became of a write whose outcome is unknown and that no reconcile can look up,
    so that --resume can go on."""
    from runner.errors import InputError
    from runner.journal import RESOLUTIONS, Journal, default_path
    from runner.yamlio import load_file

    said = [how for how, given in (("not-sent", not_sent), ("answer", answer is not None),
                                   ("skip", skip)) if given]
    if len(said) != 1:
        raise InputError.plain("say what happened: one of --not-sent, --answer FILE, --skip")
    how = said[0]
    step, iteration = _item(item)
    given = load_file(answer).data if answer is not None else None
    opened = Journal(journal or default_path(), existing=True)  # refused while a run writes it
    try:
        run_id = opened.run_id_of(run_id)
        opened.resolve(run_id, step, iteration, how, given)
    finally:
        opened.close()
    click.echo(f"{item} of run {run_id}: {RESOLUTIONS[how]}")


def _item(text: str) -> tuple[str, int | None]:
    """`reserve[3]` -> ("reserve", 3); `confirm` (a step without for_each) -> ("confirm", None)."""
    from runner.errors import InputError

    step, bracket, rest = text.partition("[")
    if not bracket:
        return step, None
    if not (rest.endswith("]") and rest[:-1].isdigit() and step):
        raise InputError.plain(f"{text!r}: expected STEP[ITERATION], e.g. reserve[3]")
    return step, int(rest[:-1])


@main.group()
def sim() -> None:
    """The embedded vendor simulator."""


@sim.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8700, show_default=True, type=click.IntRange(0, 65535),
              help="The port to listen on (0: any free one; the banner says which).")
@click.option("--speed", default=1.0, show_default=True,
              type=click.FloatRange(min=0, min_open=True),
              help="Reserved calls come this many times sooner (60: a minute's wait takes a "
                   "second); the simulator's clock stays the real one.")
@click.option("--clock-offset", default=0.0, show_default=True, type=float,
              help="Set the simulator's clock this many seconds off (to test clock skew).")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False),
              help="Serve HTTPS with this certificate (PEM); needs --tls-key.")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False),
              help="The certificate's private key (PEM).")
@click.option("--faults", type=click.Path(dir_okay=False, path_type=Path),
              help="A fault plan (YAML) to follow: latency, 5xx, 429, resets, drift, ...")
@handles_errors
def sim_serve(host: str, port: int, speed: float, clock_offset: float, tls_cert: str | None,
              tls_key: str | None, faults: Path | None) -> None:
    """Serve every spec'd endpoint over real HTTP (uvicorn)."""
    from runner.errors import InputError
    from runner.sim.faults import load_faults
    from runner.sim.serve import serve

    if bool(tls_cert) != bool(tls_key):
        raise InputError.plain("--tls-cert and --tls-key go together")
    plan = load_faults(faults) if faults else None
    serve(host, port, speed, clock_offset, announce=click.echo, tls=(tls_cert, tls_key)
          if tls_cert and tls_key else None, faults=plan)
