"""The `outbound` command: parse options, call the library, turn errors into exit codes."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

import click

from runner.cli.complete import endpoint_names, run_ids, spec_names
from runner.cli.options import NonEmptyPath, format_option, handles_errors, journal_option
from runner.cli.runs import runs
from runner.startup import own_process, settled


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="outbound-runner")
def main() -> None:
    """Run call-center vendor API playbooks, described as data."""


main.add_command(runs)


def entry() -> None:
    """The `outbound` command: one command, in a process of its own."""
    own_process()
    main()


@main.command()
@click.argument("paths", nargs=-1, type=NonEmptyPath())
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


@specs.command("list", short_help="Every endpoint of every spec.")
@format_option
@handles_errors
def specs_list(output_format: str) -> None:
    """Every endpoint of every spec (./specs/ first, then the shipped ones)."""
    from runner.catalog import all_specs
    from runner.reporting.specs import spec_list_json, spec_list_text

    found = all_specs()
    click.echo(spec_list_json(found) if output_format == "json" else spec_list_text(found))


@specs.command("diff")
@click.argument("old", shell_complete=spec_names)
@click.argument("new", shell_complete=spec_names)
@format_option
@handles_errors
def specs_diff(old: str, new: str, output_format: str) -> None:
    """What changed from spec OLD to NEW (names or files). Exit 1 when something breaks."""
    import json
    from dataclasses import asdict

    from runner.catalog import spec_named
    from runner.contract.diff import diff_specs

    changes = diff_specs(spec_named(old), spec_named(new))
    breaking = sum(change.breaking for change in changes)
    if output_format == "json":
        click.echo(json.dumps({"changes": [asdict(change) for change in changes],
                               "breaking": breaking}, ensure_ascii=False, indent=2))
    else:
        for change in changes:
            click.echo(str(change))
        click.echo(f"{len(changes)} change{'s' * (len(changes) != 1)}, {breaking} breaking")
    sys.exit(1 if breaking else 0)


@specs.command("export-openapi", short_help="A spec as an OpenAPI 3.1 document.")
@click.argument("spec", shell_complete=spec_names)
@handles_errors
def specs_export_openapi(spec: str) -> None:
    """The spec (a name or a file) as an OpenAPI 3.1 document (JSON) on stdout."""
    import json

    from runner.catalog import spec_named
    from runner.contract.openapi import export_openapi

    click.echo(json.dumps(export_openapi(spec_named(spec)), ensure_ascii=False, indent=2))


@specs.command("show", short_help="One endpoint's params, rules and fields.")
@click.argument("endpoint", shell_complete=endpoint_names)
@format_option
@handles_errors
def specs_show(endpoint: str, output_format: str) -> None:
    """One endpoint's params, constraints and response fields: SERVICE.ENDPOINT."""
    from runner.catalog import endpoint_named
    from runner.reporting.specs import endpoint_json, endpoint_text

    found = endpoint_named(endpoint)
    click.echo(endpoint_json(found) if output_format == "json" else endpoint_text(found))


@main.command()
@click.argument("playbook", type=NonEmptyPath(dir_okay=False, path_type=Path))
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE",
              help="Set an input (typed by the input's schema). Repeatable.")
@click.option("--vars-file", type=NonEmptyPath(dir_okay=False, path_type=Path),
              help="A YAML or JSON file of input values.")
@click.option("--csv", "csv_inputs", multiple=True, metavar="NAME=FILE",
              help="Set a list input to the rows of a CSV file (its first row names the "
                   "columns). Repeatable.")
@click.option("--sim", "simulate", is_flag=True,
              help="Run against the embedded vendor simulator (no setup, no network).")
@click.option("--dry-run", is_flag=True,
              help="Render and check every request that can be known; send nothing.")
@click.option("--report-json", type=NonEmptyPath(dir_okay=False, path_type=Path),
              help="Write the run's result as JSON (schemas/report.schema.json) to this file.")
@click.option("--report-junit", type=NonEmptyPath(dir_okay=False, path_type=Path),
              help="Write the run as JUnit XML (a test case per step and per failed item).")
@click.option("--report-html", type=NonEmptyPath(dir_okay=False, path_type=Path),
              help="Write the run's report as one self-contained HTML page.")
@click.option("-v", "--verbose", is_flag=True, help="Show every call.")
@click.option("-q", "--quiet", is_flag=True, help="Only the final line (for cron jobs).")
@click.option("--sim-faults", type=NonEmptyPath(dir_okay=False, path_type=Path),
              help="With --sim: a fault plan (YAML) the simulator follows.")
@journal_option
@click.option("--resume", metavar="RUN_ID", shell_complete=run_ids,
              help="Continue a crashed, killed, failed or paused run: finished items are not "
                   "repeated. 'latest': the newest run of this playbook with these inputs "
                   "(nothing is done if it finished), or a new run when there is none.")
@click.option("--max-creates", type=click.IntRange(min=1), metavar="N",
              help="Pause (exit 75) once N creates were started, as a canary: look at them, "
                   "then --resume goes on (with its own --max-creates, if given).")
@click.option("--paused-exit-code", type=click.IntRange(0, 255), default=75, metavar="CODE",
              show_default=True,
              help="The exit code of a run that paused: 0 for a CI that takes no other code as "
                   "success (GitHub Actions); the reports and the journal still say paused.")
@click.option("--shard", metavar="K/N",
              help="Run shard K of N, with its own journal: a stable share of each for_each "
                   "over a list every shard sees whole.")
@click.option("--record", type=NonEmptyPath(file_okay=False, path_type=Path),
              help="Keep every exchange, redacted, as a cassette (for outbound check --replay).")
@handles_errors
def run(playbook: Path, variables: tuple[str, ...], vars_file: Path | None,
        csv_inputs: tuple[str, ...], simulate: bool, dry_run: bool, report_json: Path | None,
        report_junit: Path | None, report_html: Path | None, verbose: bool, quiet: bool,
        sim_faults: Path | None, journal: Path | None, resume: str | None,
        max_creates: int | None, paused_exit_code: int, shard: str | None,
        record: Path | None) -> None:
    """Run a playbook. Exit 0 on success, 1 when the run failed, 2 on invalid input, 75 when
    it paused (outside its calling window, or at --max-creates; --resume goes on).

    Vendors are reached through the proxy HTTPS_PROXY, HTTP_PROXY or ALL_PROXY names, if
    any, save the hosts NO_PROXY lists."""
    from runner.run_command import RunOptions
    from runner.run_command import run as run_playbook

    sys.exit(run_playbook(RunOptions(playbook, variables, vars_file, simulate, dry_run,
                                     report_json, verbose, quiet, sim_faults=sim_faults,
                                     journal=journal, resume=resume,
                                     report_junit=report_junit, shard=shard,
                                     record=record, report_html=report_html,
                                     csv_inputs=csv_inputs, max_creates=max_creates,
                                     paused_exit_code=paused_exit_code)))


@main.command(short_help="Check a vendor's answers against the specs.")
@click.argument("playbook", type=NonEmptyPath(dir_okay=False, path_type=Path))
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="Set an input.")
@click.option("--sim", "simulate", is_flag=True, help="Check the embedded simulator.")
@click.option("--sim-faults", type=NonEmptyPath(dir_okay=False, path_type=Path),
              help="With --sim: a fault plan for the simulator (drift, say).")
@click.option("--allow-writes", is_flag=True, help="Let the probe call creates and updates.")
@click.option("--fail-on", type=click.Choice(["breaking", "warning"]), default="breaking",
              show_default=True, help="Which findings make the exit code 1.")
@click.option("--slow", type=float, metavar="SECONDS",
              help="Warn about answers slower than this.")
@click.option("--record", type=NonEmptyPath(file_okay=False, path_type=Path),
              help="Keep every exchange, redacted, as a cassette in this folder.")
@click.option("--replay", type=NonEmptyPath(exists=True, file_okay=False, path_type=Path),
              help="Check recorded cassettes instead of calling anything.")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "junit"]),
              default="text", show_default=True, help="Output format.")
@handles_errors
def check(playbook: Path, variables: tuple[str, ...], simulate: bool,
          sim_faults: Path | None, allow_writes: bool, fail_on: str, slow: float | None,
          record: Path | None, replay: Path | None, output_format: str) -> None:
    """Compare a probe playbook's answers with the specs: breaking changes and warnings.

    Exit 0 without breaking findings (or warnings, with --fail-on warning), 1 with, 2 on bad
    input. Vendors are reached as `outbound run` reaches them (HTTPS_PROXY, ...).
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
@click.option("--tls-cert", type=NonEmptyPath(exists=True, dir_okay=False),
              help="Serve HTTPS with this certificate (PEM); needs --tls-key.")
@click.option("--tls-key", type=NonEmptyPath(exists=True, dir_okay=False),
              help="The certificate's private key (PEM).")
@click.option("--faults", type=NonEmptyPath(dir_okay=False, path_type=Path),
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
