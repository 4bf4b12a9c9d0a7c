"""The playbook model: what a loaded playbook is, and the values its fields parse to."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from runner.errors import Finding, InputError, Location
from runner.spec import Endpoint, Spec
from runner.templating import Template, TemplatedValue
from runner.validation import CompiledSchema
from runner.window import CallingWindow

_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
RUN_NAMES = frozenset({"inputs", "steps", "env", "now_ms", "secret"})  # in scope everywhere
RESPONSE_NAMES = frozenset({"response", "values", "status", "items"})  # after the step's call
DEFAULT_MAX_PAGES = 1000


def parse_duration(value: float | int | str) -> float:
    """Seconds from a number or a string such as 500ms, 5s, 2m, 1h, 1d."""
    if isinstance(value, (int, float)):
        return float(value)
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"not a duration: {value!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_rate(value: str) -> float:
    """Requests per second from ``20/s``, ``100/min``, ``5000/h``."""
    count, _, unit = value.partition("/")
    return float(count) / _UNITS[unit]


@dataclass(frozen=True)
class Timeouts:
    """Seconds allowed to connect, to wait for the answer, and for a whole call."""

    connect: float | None = None
    read: float | None = None
    total: float | None = None

    def over(self, base: Timeouts) -> Timeouts:
        """These timeouts, with `base`'s where these say nothing."""
        return Timeouts(self.connect if self.connect is not None else base.connect,
                        self.read if self.read is not None else base.read,
                        self.total if self.total is not None else base.total)


DEFAULT_TIMEOUTS = Timeouts(connect=10.0, read=30.0, total=60.0)


@dataclass(frozen=True)
class Retries:
    """How many times a read is tried, and the backoff between tries (with jitter)."""

    attempts: int = 4
    delay: float = 0.5
    max_delay: float = 30.0


def address_problem(url: str) -> str | None:
    """Why `url` is no vendor's address, as it ends saying so ("" for a scheme of another
    kind); None: it is one."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return ""
    try:
        port = parts.port
    except ValueError as exc:  # a port that is not a number, or out of range
        return f" ({exc})"
    return None if parts.hostname and port != 0 else " (it names no host and port to connect to)"


@dataclass(frozen=True)
class ServiceBinding:
    """One service a playbook talks to: its spec, where it is, and how to authenticate."""

    name: str
    spec: Spec
    base_url: Template | str | None
    credentials: Mapping[str, TemplatedValue]
    rate_limit: float | None  # requests per second
    timeout: Timeouts | None
    verify: bool | Path = True  # TLS: check certificates (True), against a CA bundle, or not
    retries: Retries | None = None
    max_response: int = 32 * 1024 * 1024  # bytes


@dataclass(frozen=True)
class Input:
    """A playbook input: its schema, compiled, and where it is declared."""

    name: str
    schema: Mapping[str, Any]
    validator: CompiledSchema
    location: Location

    @property
    def has_default(self) -> bool:
        return "default" in self.schema


Duration = float | Template  # a template renders to a duration when the step runs


def duration_of(value: Duration, scope: Mapping[str, Any]) -> float:
    """Seconds, rendering a templated duration in `scope`."""
    if isinstance(value, Template):
        rendered = value.render(scope)
        try:
            return parse_duration(rendered)
        except (TypeError, ValueError):
            raise InputError([Finding(value.location, f"{value.source!r} gave {rendered!r}, "
                                      "which is not a duration (e.g. 5s, 2m)")]) from None
    return value


@dataclass(frozen=True)
class Retry:
    """A step's retry: until a condition holds (or fail when one does), at most `attempts`
    times, the delay growing by `backoff` up to `max_delay`."""

    until: Template | None
    fail_when: Template | None
    attempts: int
    delay: Duration
    backoff: float
    max_delay: float


@dataclass(frozen=True)
class Step:
    """A step, checked and compiled: a call (its params, for_each, retry, outputs) or a wait."""

    id: str
    location: Location
    name: str = ""
    service: str | None = None
    endpoint: Endpoint | None = None
    params: TemplatedValue | None = None
    paginate: bool = False
    max_pages: int = DEFAULT_MAX_PAGES
    page_size: int | None = None
    stream: bool = False  # pages are pulled by the for_each that reads steps.<id>.items
    for_each: TemplatedValue | None = None
    loop_var: str = "item"
    key: Template | None = None  # an item's identity: repeats are skipped, --resume matches by it
    concurrency: int = 1
    when: Template | None = None
    retry: Retry | None = None
    expect: tuple[Template, ...] = ()
    outputs: TemplatedValue | None = None
    invalid_response: str = "fail"
    timeout: Timeouts | None = None
    retries: Retries | None = None
    max_failures: float = 0  # a count; negative: that share of the items (-0.1 is 10%)
    wait: Duration | None = None

    @property
    def title(self) -> str:
        return self.name or self.id

    def failures_allowed(self, items: int) -> float:
        """How many failed items the step tolerates, out of `items` (all, or started so far)."""
        return self.max_failures if self.max_failures >= 0 else -self.max_failures * items


@dataclass(frozen=True)
class Playbook:
    """A playbook, checked and compiled: its services, inputs, steps and outputs."""

    name: str
    file: str
    services: Mapping[str, ServiceBinding]
    inputs: Mapping[str, Input]
    steps: tuple[Step, ...]
    outputs: TemplatedValue | None = None
    description: str = ""
    base_dir: Path = field(default_factory=Path)
    calling_window: CallingWindow | None = None
    sha256: str = ""  # of its file, as loaded


def fields_of(step: Step) -> frozenset[str]:
    """What templates may read of `steps.<id>` once the step ran (for a for_each step, lists
    over its items)."""
    if step.wait is not None:
        fields = {"outputs"}
    else:
        fields = {"outputs", "response", "values"} | ({"items"} if step.paginate else set())
    return frozenset(fields | ({"iterations"} if step.for_each is not None else {"status"}))


_LONE_LIST = re.compile(r"^\s*\{\{\s*(?:steps\.(?P<step>[A-Za-z_][A-Za-z0-9_]*)\."
                        r"(?P<field>items|outputs|response)|inputs\.(?P<input>[A-Za-z_]"
                        r"[A-Za-z0-9_]*))\s*\}\}\s*$")


def lone_list(step: Step) -> re.Match[str] | None:
    """A for_each that is one `{{ steps.<id>.items|outputs|response }}` or
    `{{ inputs.<name> }}` and nothing else: its groups `step` and `field`, or `input`."""
    templates = step.for_each.templates if step.for_each is not None else []
    return _LONE_LIST.match(templates[0].source) if len(templates) == 1 else None


def stream_source(step: Step) -> str | None:
    """The step id whose items this step's for_each reads as a lone `steps.<id>.items`."""
    match = lone_list(step)
    return match["step"] if match and match["field"] == "items" else None


def step_reads(step: Step, *, for_each: bool = True) -> frozenset[str]:
    """The ids of the steps whose results any of `step`'s templates read (`steps.<id>`)."""
    values = [step.params, step.for_each if for_each else None, step.outputs]
    refs = [v.step_refs for v in values if v is not None]
    refs += [t.step_refs for t in (step.when, step.key, *step.expect) if t is not None]
    if step.retry:
        refs += [t.step_refs for t in (step.retry.until, step.retry.fail_when) if t is not None]
    return frozenset().union(*refs)
