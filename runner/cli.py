"""The `outbound` command: parse options, call the library, turn errors into exit codes."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from runner.errors import OutboundError

F = TypeVar("F", bound=Callable[..., Any])

format_option = click.option("--format", "output_format", type=click.Choice(["text", "json"]),
                             default="text", show_default=True, help="Output format.")


def _fail(message: str, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def handles_errors(command: F) -> F:
    """Turn an `OutboundError` into its message and exit code; never show a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except OutboundError as error:
            _fail(str(error), error.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
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
