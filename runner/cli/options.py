"""What the `outbound` commands share: options, and errors turned into exit codes."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from runner.errors import OutboundError, Paused, Stopped

F = TypeVar("F", bound=Callable[..., Any])


class NonEmptyPath(click.Path):
    """click.Path, with an empty path refused: pathlib reads '' as '.', the current folder,
    which "cannot be read: Is a directory" left unexplained."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("it is empty, and names no file", param, ctx)
        return super().convert(value, param, ctx)


journal_option = click.option(
    "--journal", type=NonEmptyPath(dir_okay=False, path_type=Path),
    help="The journal file (default $OUTBOUND_JOURNAL, else .outbound/journal.sqlite).")
format_option = click.option("--format", "output_format", type=click.Choice(["text", "json"]),
                             default="text", show_default=True, help="Output format.")


BROKEN_PIPE = 141  # what a shell reports for a command its reader left (128 + SIGPIPE)


def fail(message: str, code: int, label: str = "error") -> None:
    for line in message.splitlines() or [""]:
        click.echo(f"{label}: {line}", err=True)
    sys.exit(code)


def handles_errors(command: F) -> F:
    """Turn an `OutboundError` into its message and exit code; never show a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except OutboundError as error:
            from runner.secrets import REDACTOR

            # a pause is no error: a cron job that alerts on "error:" is not woken by one
            fail(REDACTOR.text(str(error)), error.exit_code,
                 "paused" if isinstance(error, Paused) else "error")
        except Stopped as stopped:
            fail(stopped.reason, stopped.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as a shell tool
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(BROKEN_PIPE)
        except Exception as error:  # a bug: say so plainly, details on request
            if os.environ.get("OUTBOUND_DEBUG"):
                traceback.print_exc()
            fail(f"internal error ({type(error).__name__}: {error}); this is a bug in "
                  "outbound-runner. Set OUTBOUND_DEBUG=1 to see the traceback.", 1)

    return wrapper  # type: ignore[return-value]
