"""Every failure a user can see, and where it happened.

The tree::

    OutboundError                 root: the CLI catches only this (exit_code on the class)
    ├── InputError          (2)   the user's files, arguments or templates are wrong (1 once
    │                             the run sent a call: Run.execute says so)
    │   ├── FileError             a file can't be read or parsed, or breaks its schema
    │   ├── TemplateError         a template fails to compile or to render
    │   └── RequestRejected       a request breaks its endpoint's spec; it was not sent
    └── RunError            (1)   the run went ahead and something failed
        ├── TransportError        no HTTP exchange happened (connect, reset, timeout)
        ├── HTTPStatusError       the vendor answered 4xx/5xx without a business code
        ├── VendorError           the envelope's result code says the call failed
        ├── ResponseInvalid       the body is not JSON, or breaks the response schema
        ├── ExpectationFailed     an `expect` of the step did not hold
        ├── JournalError          the journal cannot be written: nothing more is sent
        └── Paused         (75)   not a failure: no new create may start now (outside the
            │                     calling window, --max-creates reached); --resume goes on
            └── OutsideCallingWindow  (in runner.window)

Every error carries `Finding`s: a message and the `Location` it is about, so it prints as
``playbooks/x.yaml:12:7 (steps[2].params.vdnId): 10000 is greater than the maximum of 9999``.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

JsonPath = tuple[str | int, ...]

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def format_json_path(path: JsonPath) -> str:
    """``('steps', 2, 'params', 'vdnId')`` -> ``steps[2].params.vdnId``; odd keys are quoted."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out or "$"


@dataclass(frozen=True)
class Location:
    """Where a finding is: a file position, a JSON path inside it, or both."""

    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: JsonPath = ()

    def __str__(self) -> str:
        where = self.file or "<input>"
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        return f"{where} ({format_json_path(self.path)})" if self.path else where


@dataclass(frozen=True)
class Finding:
    """One problem, with where it is."""

    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


@dataclass(eq=False)
class OutboundError(Exception):
    """Root of every user-facing error; `str()` is the whole message, one finding a line."""

    findings: Sequence[Finding]
    context: list[str] = field(default_factory=list)
    exit_code = 1
    retries = 0  # attempts made before giving up, beyond the first (set where retried)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    @classmethod
    def at(cls, location: Location, message: str) -> OutboundError:
        return cls([Finding(location, message)])

    @classmethod
    def plain(cls, message: str) -> OutboundError:
        return cls([Finding(Location(), message)])

    def add_context(self, what: str) -> None:
        """Say which step, iteration or request this happened in; the outermost comes first."""
        self.context.insert(0, what)

    def __str__(self) -> str:
        prefix = ", ".join(self.context)
        lines = [_strip_unknown(f) for f in self.findings]
        if prefix and lines:  # the context heads the first line; the rest are indented
            lines = [f"{prefix}: {lines[0]}", *(f"  {line}" for line in lines[1:])]
        return "\n".join(lines)


def iteration(index: int, key: str | None = None) -> str:
    """How an item is named in its errors: a failed item's reason starts `iteration N: `, or
    `iteration N (key K): ` where its for_each has a key."""
    return f"iteration {index}" if key is None else f"iteration {index} (key {key})"


ITEM_REASON = re.compile(  # as a failed item's reason starts
    r"iteration (?P<index>\d+)(?: \(key (?P<key>.*?)\))?: (?P<why>.*)", re.DOTALL)


def key_in(reason: str) -> str | None:
    """The key a failed item's reason names it by (`iteration 3 (key 12347): ...`), if any."""
    said = ITEM_REASON.match(reason)
    return said["key"] if said else None


def why_in(reason: str) -> str:
    """A failed item's reason without the `iteration N: ` it starts with (said already)."""
    said = ITEM_REASON.match(reason)
    return said["why"] if said else reason


@contextmanager
def within(what: str | None) -> Iterator[None]:
    """An OutboundError raised inside says it happened in `what` (a step, an iteration);
    None adds nothing."""
    try:
        yield
    except OutboundError as error:
        if what is not None:
            error.add_context(what)
        raise


def _strip_unknown(finding: Finding) -> str:
    loc = finding.location
    return finding.message if loc == Location() else str(finding)


class InputError(OutboundError):
    """The input is wrong (exit 2); whatever it concerns was not sent."""

    exit_code = 2


class FileError(InputError):
    """A file can't be read, parsed, or breaks its schema."""


class TemplateError(InputError):
    """A template fails to compile or render (syntax, undefined name, sandbox)."""


class RequestRejected(InputError):
    """A rendered request breaks its endpoint's spec, so it was not sent."""


class RunError(OutboundError):
    """The run went ahead and failed (exit 1)."""

    exit_code = 1


@dataclass(eq=False)
class TransportError(RunError):
    """No HTTP exchange completed: connect error, reset, timeout.

    `reached_server` is False only when the request certainly never left (connect error):
    the one case where a create may be sent again. `retryable` is False where trying again
    cannot help (the vendor's TLS certificate is not trusted).
    """

    reached_server: bool = True
    retryable: bool = True


@dataclass(eq=False)
class HTTPStatusError(RunError):
    """The vendor answered an HTTP error status with no business result code."""

    status: int = 0
    retry_after: float | None = None

    @property
    def retryable(self) -> bool:
        return self.status == 429 or self.status >= 500


@dataclass(eq=False)
class VendorError(RunError):
    """The response envelope's result code is not a success code."""

    code: str = ""
    retryable: bool = False
    throttle: bool = False
    final: bool = False  # asking again cannot change it (the spec says so)
    body: object = None


class ResponseInvalid(RunError):
    """The response is not JSON, or does not match the endpoint's response schema."""


class ExpectationFailed(RunError):
    """One or more `expect` conditions of a step were false."""


class JournalError(RunError):
    """The journal file cannot be written (a full disk, a lost file): a call it cannot
    record must not be sent."""


class Paused(RunError):
    """The run stopped before a create it may not start now; what was in flight finished, and
    `--resume` continues it later (exit 75, EX_TEMPFAIL: not a failure)."""

    exit_code = 75


class CreatesSpent(Paused):
    """`--max-creates N`: N creates were started, and the next one waits for --resume."""


class Stopped(KeyboardInterrupt):
    """SIGTERM (a CI job cancelled, a container or machine stopping) or SIGHUP (the terminal
    or the SSH session gone): the run stops as for Ctrl-C, its journal saying so, and the
    command exits 128 + the signal's number (143, 129), as a shell tells a process it ended."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(signum)
        self.exit_code = 128 + signum
        self.reason = f"stopped by {signal.Signals(signum).name}"


def merge(errors: Iterable[OutboundError]) -> list[Finding]:
    """All findings of several errors, in order."""
    return [finding for error in errors for finding in error.findings]
