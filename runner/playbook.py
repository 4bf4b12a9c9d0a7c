"""Playbooks: the model, the loader, and every check that can be made before anything is sent.

Load-time checks, each reported at file:line:col: the schema; unknown services, endpoints and
params (with "did you mean"); required params missing; literal param values outside their
documented rules; duplicate step ids; references to steps that run later or do not exist,
to undeclared inputs, and to names not in scope; Jinja2 syntax errors; a `retry` on a create.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import (
    FileError,
    Finding,
    InputError,
    JsonPath,
    Location,
    OutboundError,
    format_json_path,
)
from runner.spec import READ_KINDS, Endpoint, Spec, find_spec_file, load_spec
from runner.templating import GLOBAL_NAMES, Template, TemplatedValue, compile_template
from runner.validation import CompiledSchema, compile_schema, schema_findings, suggest
from runner.window import CallingWindow
from runner.yamlio import Document, load_file

_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
RUN_NAMES = frozenset({"inputs", "steps", "env", "now_ms", "secret"})  # in scope everywhere
RESPONSE_NAMES = frozenset({"response", "values", "status", "items"})  # after the step's call
DEFAULT_MAX_PAGES = 1000
ISSUES_LISTED = 20  # of one input's value (a CSV file's rows may break its schema by thousands)


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


def _timeouts(raw: Any) -> Timeouts | None:
    if raw is None:
        return None
    if isinstance(raw, dict):
        return Timeouts(*(parse_duration(raw[k]) if k in raw else None
                          for k in ("connect", "read", "total")))
    seconds = parse_duration(raw)
    return Timeouts(connect=seconds, read=seconds)


def _retries(raw: Any) -> Retries | None:
    if raw is None:
        return None
    base = Retries()
    return Retries(int(raw.get("attempts", base.attempts)),
                   parse_duration(raw.get("delay", base.delay)),
                   parse_duration(raw.get("max_delay", base.max_delay)))


def _bytes(text: str) -> int:
    return int(text[:-2]) * {"KB": 1024, "MB": 1024 * 1024}[text[-2:]]


def _max_failures(raw: Any) -> float:
    """A count (5), or a fraction of the items (a "10%" becomes 0.1, marked by being < 1)."""
    if raw is None:
        return 0
    if isinstance(raw, str):
        return -float(raw.rstrip("%")) / 100  # negative: a share of the items, see Step
    return int(raw)


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
    until: Template | None
    fail_when: Template | None
    attempts: int
    delay: Duration
    backoff: float
    max_delay: float


@dataclass(frozen=True)
class Step:
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
    name: str
    file: str
    services: Mapping[str, ServiceBinding]
    inputs: Mapping[str, Input]
    steps: tuple[Step, ...]
    outputs: TemplatedValue | None = None
    description: str = ""
    base_dir: Path = field(default_factory=Path)
    calling_window: CallingWindow | None = None


def load_playbook(path: str | Path) -> Playbook:
    """Load a playbook and check everything that can be checked before a run."""
    playbook, findings = _build(load_file(path))
    if findings or playbook is None:
        raise FileError(findings)
    return playbook


def check_playbook_document(document: Document) -> list[Finding]:
    """Every problem of a loaded playbook file (for `outbound validate`)."""
    return _build(document)[1]


def _build(document: Document) -> tuple[Playbook | None, list[Finding]]:
    findings = schema_findings(document, "playbook")
    if findings:
        return None, findings
    builder = _Builder(document)
    return builder.build(), builder.findings


class _Builder:
    """Builds a `Playbook` from a schema-valid document, collecting every problem found."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.raw: dict[str, Any] = document.data
        self.findings: list[Finding] = []
        self.base_dir = Path(document.file).parent
        self.built: dict[str, Step] = {}  # the steps so far, by id

    def problem(self, path: JsonPath, message: str, *, key: bool = False) -> None:
        self.findings.append(Finding(self.document.locate(path, key=key), message))

    def locator(self, prefix: JsonPath) -> Callable[[JsonPath], Location]:
        return lambda path: self.document.locate((*prefix, *path))

    def templated(self, raw: Any, path: JsonPath) -> TemplatedValue | None:
        try:
            return TemplatedValue(raw, self.locator(path))
        except OutboundError as error:
            self.findings.extend(error.findings)
            return None

    def template(self, raw: str | None, path: JsonPath) -> Template | None:
        if raw is None:
            return None
        try:
            return compile_template(raw, self.document.locate(path))
        except OutboundError as error:
            self.findings.extend(error.findings)
            return None

    def build(self) -> Playbook:
        services = {name: s for name, raw in self.raw["services"].items()
                    if (s := self._service(name, raw)) is not None}
        inputs = {name: self._input(name, raw) for name, raw in self.raw.get("inputs", {}).items()}
        steps = self._steps(services, inputs)
        outputs = self.templated(self.raw.get("outputs", {}), ("outputs",))
        if outputs is not None:
            self._check_scope(outputs, ("outputs",), set(inputs), [s.id for s in steps],
                              set(), None)
        self._check_streams(steps, outputs)
        return Playbook(self.raw["name"], self.document.file, services, inputs, tuple(steps),
                        outputs, self.raw.get("description", ""), self.base_dir,
                        self._window())

    def _window(self) -> CallingWindow | None:
        raw = self.raw.get("calling_window")
        if raw is None:
            return None
        raw = {**raw, "to": "23:59:59" if raw.get("to") == "24:00" else raw.get("to", "23:59:59")}
        try:
            return CallingWindow.parse(raw)
        except OutboundError as error:
            self.problem(("calling_window", "timezone"), str(error))
            return None

    def _service(self, name: str, raw: Mapping[str, Any]) -> ServiceBinding | None:
        at: JsonPath = ("services", name)
        try:
            spec = load_spec(find_spec_file(raw["spec"], self.base_dir))
        except OutboundError as error:
            if isinstance(error, FileError):
                self.findings.extend(error.findings)
            else:
                self.problem((*at, "spec"), str(error))
            return None
        base_url = raw.get("base_url")
        credentials = {k: v for k, v in ((k, self.templated(v, (*at, "credentials", k)))
                                         for k, v in raw.get("credentials", {}).items()) if v}
        return ServiceBinding(
            name, spec, self.template(base_url, (*at, "base_url")) if base_url else None,
            credentials, parse_rate(raw["rate_limit"]) if "rate_limit" in raw else None,
            _timeouts(raw.get("timeout")), self._verify(raw.get("verify", True), (*at, "verify")),
            _retries(raw.get("retries")), _bytes(raw.get("max_response", "32MB")))

    def _verify(self, raw: bool | str, at: JsonPath) -> bool | Path:
        if isinstance(raw, bool):
            return raw
        path = Path(raw) if Path(raw).is_absolute() else self.base_dir / raw
        if not path.is_file():
            self.problem(at, f"verify: the CA bundle {raw!r} does not exist (looked for {path})")
        return path

    def _input(self, name: str, raw: Mapping[str, Any]) -> Input:
        validator = compile_schema(raw)
        if "default" in raw:
            for issue in validator.issues(raw["default"]):
                self.problem(("inputs", name, "default", *issue.path),
                             f"the default breaks the input's own schema: {issue.message}")
        return Input(name, raw, validator, self.document.locate(("inputs", name)))

    def _steps(self, services: Mapping[str, ServiceBinding],
               inputs: Mapping[str, Input]) -> list[Step]:
        steps: list[Step] = []
        seen: dict[str, int] = {}
        for index, raw in enumerate(self.raw["steps"]):
            if raw["id"] in seen:
                self.problem(("steps", index, "id"), f"duplicate step id {raw['id']!r} "
                             f"(also steps[{seen[raw['id']]}])")
            earlier = list(seen)
            seen.setdefault(raw["id"], index)
            step = _StepBuilder(self, index, raw, services).build()
            if step is not None:
                self._check_step_scope(step, index, set(inputs), earlier)
                steps.append(step)
                self.built.setdefault(step.id, step)
        return steps

    def _check_streams(self, steps: list[Step], outputs: TemplatedValue | None) -> None:
        """A streamed list is read by exactly one for_each, as `{{ steps.<id>.items }}`."""
        for index, step in enumerate(steps):
            if not step.stream:
                continue
            consumers = [s for s in steps if stream_source(s) == step.id]
            other_reads = [s for s in steps if step.id in _refs_of(s, for_each=False)
                           or (step.id in _refs_of(s) and s not in consumers)]
            at: JsonPath = ("steps", index, "paginate", "stream")
            if len(consumers) != 1 or other_reads or (
                    outputs is not None and step.id in outputs.step_refs):
                self.problem(at, f"step {step.id!r} is streamed, so exactly one for_each must "
                             f"read it, as \"{{{{ steps.{step.id}.items }}}}\", and nothing else "
                             "(its items are not kept)")

    def _check_step_scope(self, step: Step, index: int, inputs: set[str],
                          earlier: list[str]) -> None:
        at: JsonPath = ("steps", index)
        loop = {step.loop_var} if step.for_each is not None else set()
        answered = loop if step.wait is not None else loop | RESPONSE_NAMES  # a wait calls none
        parts: list[tuple[TemplatedValue | Template | None, str, set[str]]] = [
            (step.for_each, "for_each", set()),
            (step.when, "when", loop),
            (step.params, "params", loop),
            (step.outputs, "outputs", answered),
        ]
        parts += [(t, "expect", loop | RESPONSE_NAMES) for t in step.expect]
        if step.retry:
            parts += [(step.retry.until, "retry", loop | RESPONSE_NAMES),
                      (step.retry.fail_when, "retry", loop | RESPONSE_NAMES)]
            if isinstance(step.retry.delay, Template):
                parts.append((step.retry.delay, "retry", loop))
        if isinstance(step.wait, Template):
            parts.append((step.wait, "wait", loop))
        for value, key, extra in parts:
            if value is not None:
                self._check_scope(value, (*at, key), inputs, earlier, extra, step.id)
                if "values" in extra and step.endpoint is not None:
                    self._check_values(value, step.endpoint)

    def _check_values(self, value: TemplatedValue | Template, endpoint: Endpoint) -> None:
        """`values.<name>` reads a value the endpoint's spec names."""
        named = set(endpoint.values)
        for template in value.templates if isinstance(value, TemplatedValue) else [value]:
            for name in sorted(template.value_refs - named):
                listed = (f"its values: {', '.join(sorted(named))}" if named else
                          "it names none; read the answer through response")
                self.findings.append(Finding(template.location, (
                    f"{endpoint.qualified_name} names no value {name!r}"
                    + suggest(name, named) + f" ({listed})")))

    def _check_scope(self, value: TemplatedValue | Template, at: JsonPath, inputs: set[str],
                     earlier: list[str], extra: set[str], own_id: str | None) -> None:
        templates = value.templates if isinstance(value, TemplatedValue) else [value]
        allowed = RUN_NAMES | extra
        for template in templates:
            where = template.location
            for name in sorted(template.names - allowed):
                self.findings.append(Finding(where, f"{name!r} is not defined here"
                                             + suggest(name, allowed | GLOBAL_NAMES)
                                             + _scope_hint(name, at)))
            for name in sorted(template.input_refs - inputs):
                self.findings.append(Finding(where, f"there is no input {name!r}"
                                             + suggest(name, inputs)))
            for ref in sorted(template.step_refs - set(earlier)):
                if ref == own_id:
                    message = (f"step {ref!r} reads its own result through steps.{ref}; "
                               "inside a step, use response")
                elif ref in {s["id"] for s in self.raw["steps"]}:
                    message = f"step {ref!r} has not run yet at this point"
                else:
                    message = f"there is no step {ref!r}" + suggest(ref, earlier)
                self.findings.append(Finding(where, message))
            for ref, name in sorted(template.step_fields):
                if ref in earlier and ref in self.built and name != "*":
                    self._check_step_field(self.built[ref], name, where)

    def _check_step_field(self, step: Step, name: str, where: Location) -> None:
        """`steps.<id>.<name>` reads something that step's record has."""
        has = fields_of(step)
        if name in has:
            return
        if name == "items" and step.endpoint is not None:
            message = (f"steps.{step.id} has no items: {step.id} is not paginated (give it "
                       f"paginate: all, or read its answer as steps.{step.id}.response)")
        else:
            message = (f"steps.{step.id} has no {name!r}" + suggest(name, has)
                       + f" (it has: {', '.join(sorted(has))})")
        self.findings.append(Finding(where, message))


def fields_of(step: Step) -> frozenset[str]:
    """What templates may read of `steps.<id>` once the step ran (for a for_each step, lists
    over its items)."""
    if step.wait is not None:
        fields = {"outputs"}
    else:
        fields = {"outputs", "response", "values"} | ({"items"} if step.paginate else set())
    return frozenset(fields | ({"iterations"} if step.for_each is not None else {"status"}))


def _scope_hint(name: str, at: JsonPath) -> str:
    if name in RESPONSE_NAMES and at[-1] == "outputs":  # outputs have it, but not a wait's
        return " (a wait step makes no call, so it has no response)"
    if name in RESPONSE_NAMES:
        return f" ({name} exists only in outputs, expect and retry, after the call)"
    return ""


_CALL_ONLY_KEYS = frozenset({"params", "paginate", "retry", "expect", "invalid_response",
                             "timeout", "retries"})


class _StepBuilder:
    def __init__(self, parent: _Builder, index: int, raw: Mapping[str, Any],
                 services: Mapping[str, ServiceBinding]) -> None:
        self.parent = parent
        self.at: JsonPath = ("steps", index)
        self.raw = raw
        self.services = services

    def build(self) -> Step | None:
        raw, at, parent = self.raw, self.at, self.parent
        if ("call" in raw) == ("wait" in raw):
            parent.problem(at, "a step needs exactly one of call or wait")
            return None
        common = dict(
            id=raw["id"], location=parent.document.locate(at), name=raw.get("name", ""),
            when=parent.template(raw.get("when"), (*at, "when")),
            for_each=(parent.templated(raw["for_each"], (*at, "for_each"))
                      if "for_each" in raw else None),
            loop_var=raw.get("as", "item"), concurrency=raw.get("concurrency", 1),
            max_failures=_max_failures(raw.get("max_failures")),
        )
        if "wait" in raw:
            for key in sorted(set(raw) & _CALL_ONLY_KEYS):
                parent.problem((*at, key), f"a wait step makes no call, so {key} has no effect "
                               "here (a wait takes id, name, wait, when, for_each, as, "
                               "concurrency, max_failures and outputs)")
            wait = self._duration(raw["wait"], (*at, "wait"))
            outputs = parent.templated(raw.get("outputs", {}), (*at, "outputs"))
            return Step(**common, wait=wait, outputs=outputs) if wait is not None else None
        endpoint = self._endpoint(raw["call"])
        if endpoint is None:
            return None
        self._check_params(endpoint)
        paginate = raw.get("paginate")
        if paginate is not None and endpoint.pagination is None:
            parent.problem((*at, "paginate"), f"{raw['call']} is not paginated")
        retry = self._retry(endpoint)
        return Step(
            **common,
            service=raw["call"].split(".", 1)[0], endpoint=endpoint,
            params=parent.templated(raw.get("params", {}), (*at, "params")),
            paginate=paginate is not None,
            max_pages=paginate.get("max_pages", DEFAULT_MAX_PAGES)
            if isinstance(paginate, dict) else DEFAULT_MAX_PAGES,
            page_size=paginate.get("page_size") if isinstance(paginate, dict) else None,
            stream=bool(paginate.get("stream")) if isinstance(paginate, dict) else False,
            retry=retry, expect=self._expect(),
            outputs=parent.templated(raw.get("outputs", {}), (*at, "outputs")),
            invalid_response=raw.get("invalid_response", "fail"),
            timeout=_timeouts(raw.get("timeout")), retries=_retries(raw.get("retries")),
        )

    def _endpoint(self, call: str) -> Endpoint | None:
        service, _, name = call.partition(".")
        if service not in self.services:
            known = set(self.parent.raw["services"])
            if service not in known:
                self.parent.problem((*self.at, "call"), f"unknown service {service!r}"
                                    + suggest(service, known)
                                    + f" (this playbook's services: {', '.join(sorted(known))})")
            return None
        spec = self.services[service].spec
        if name not in spec.endpoints:
            self.parent.problem((*self.at, "call"), f"{service} ({spec.service}) has no endpoint "
                                f"{name!r}" + suggest(name, spec.endpoints))
            return None
        return spec.endpoints[name]

    def _check_params(self, endpoint: Endpoint) -> None:
        raw_params: Mapping[str, Any] = self.raw.get("params", {})
        at = (*self.at, "params")
        for name, value in raw_params.items():
            canonical = endpoint.canonical_param(name)
            if canonical is None:
                self.parent.problem((*at, name), f"{endpoint.qualified_name} has no param "
                                    f"{name!r}" + suggest(name, endpoint.params), key=True)
            elif canonical != name:
                self.parent.problem((*at, name), f"the spec calls this param {canonical!r} "
                                    f"({name!r} is how the vendor's page also writes it)",
                                    key=True)
            elif not _has_template(value):
                self._check_literal(endpoint, name, value, (*at, name))
        managed = set()
        if "paginate" in self.raw and endpoint.pagination:
            managed = {endpoint.pagination.position_param, endpoint.pagination.size_param}
        for name, param in endpoint.params.items():
            if param.required and name not in raw_params and name not in managed:
                self.parent.problem(at if "params" in self.raw else self.at,
                                    f"{endpoint.qualified_name} needs the param {name!r} "
                                    f"({param.description or param.location})")

    def _check_literal(self, endpoint: Endpoint, name: str, value: Any, at: JsonPath) -> None:
        param = endpoint.params[name]
        schema = endpoint.request_validators[param.location]
        for issue in schema.issues({name: value}):
            if issue.path[:1] == (name,):
                self.parent.problem((*at, *issue.path[1:]), issue.message)

    def _retry(self, endpoint: Endpoint) -> Retry | None:
        raw = self.raw.get("retry")
        if raw is None:
            return None
        at = (*self.at, "retry")
        if endpoint.kind not in READ_KINDS:
            self.parent.problem(at, f"{endpoint.qualified_name} ({endpoint.kind}) cannot "
                                "retry: a write is never re-sent blindly (an unconfirmed one is "
                                "reconciled instead)")
        return Retry(
            self.parent.template(raw.get("until"), (*at, "until")),
            self.parent.template(raw.get("fail_when"), (*at, "fail_when")),
            raw.get("attempts", 3), self._duration(raw.get("delay", 1), (*at, "delay")) or 0.0,
            float(raw.get("backoff", 1)), parse_duration(raw.get("max_delay", 300)))

    def _duration(self, raw: float | str, at: JsonPath) -> Duration | None:
        if isinstance(raw, str) and "{{" in raw:
            return self.parent.template(raw, at)
        return parse_duration(raw)

    def _expect(self) -> tuple[Template, ...]:
        raw = self.raw.get("expect", [])
        items = [raw] if isinstance(raw, str) else raw
        at = (*self.at, "expect")
        path_of: Callable[[int], JsonPath] = (lambda i: at) if isinstance(raw, str) else (
            lambda i: (*at, i))
        compiled = (self.parent.template(t, path_of(i)) for i, t in enumerate(items))
        return tuple(t for t in compiled if t is not None)


_STREAM_SOURCE = re.compile(r"^\s*\{\{\s*steps\.([A-Za-z_][A-Za-z0-9_]*)\.items\s*\}\}\s*$")


def stream_source(step: Step) -> str | None:
    """The step id whose items this step's for_each reads as a lone `steps.<id>.items`."""
    templates = step.for_each.templates if step.for_each is not None else []
    match = _STREAM_SOURCE.match(templates[0].source) if len(templates) == 1 else None
    return match.group(1) if match else None


def _refs_of(step: Step, *, for_each: bool = True) -> frozenset[str]:
    values = [step.params, step.for_each if for_each else None, step.outputs]
    refs = [v.step_refs for v in values if v is not None]
    refs += [t.step_refs for t in (step.when, *step.expect) if t is not None]
    if step.retry:
        refs += [t.step_refs for t in (step.retry.until, step.retry.fail_when) if t is not None]
    return frozenset().union(*refs)


def _has_template(value: Any) -> bool:
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, dict):
        return any(_has_template(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_template(v) for v in value)
    return False


# ---------------------------------------------------------------- inputs of a run


def resolve_inputs(playbook: Playbook, given: Mapping[str, Any],
                   from_command_line: frozenset[str] = frozenset(),
                   origins: Mapping[str, Callable[[JsonPath], Location]] | None = None,
                   ) -> dict[str, Any]:
    """The run's inputs: given values (typed by each input's schema), else defaults.

    Values named in `from_command_line` are text from ``--var k=v`` and are converted to the
    input's declared type; an unknown or missing input, or a value breaking its schema, is an
    `InputError` that names it (at its place in the file it came from, for those in `origins`).
    """
    findings: list[Finding] = []
    for name in given:
        if name not in playbook.inputs:
            findings.append(Finding(Location(), f"--var {name}: the playbook has no input "
                                    f"{name!r}" + suggest(name, playbook.inputs)))
    values: dict[str, Any] = {}
    for name, spec in playbook.inputs.items():
        if name in given:
            value = given[name]
            if name in from_command_line:
                value = typed_text(value, spec.schema)
        elif spec.has_default:
            value = spec.schema["default"]
        else:
            findings.append(Finding(Location(), f"input {name!r} is required: pass "
                                    f"--var {name}=... or put it in --vars-file"))
            continue
        origin = (origins or {}).get(name)
        issues = spec.validator.issues(value)
        for issue in issues[:ISSUES_LISTED]:
            if origin is not None:
                findings.append(Finding(origin(issue.path), issue.message))
            else:
                where = format_json_path((name, *issue.path))
                findings.append(Finding(Location(), f"input {where}: {issue.message}"))
        if len(issues) > ISSUES_LISTED:
            findings.append(Finding(Location(), f"... and {len(issues) - ISSUES_LISTED} more "
                                    f"problems with input {name!r}"))
        values[name] = value
    if findings:
        raise InputError(findings)
    return values


def typed_text(text: Any, schema: Mapping[str, Any]) -> Any:
    """Convert ``--var`` text (or a CSV cell) to the type the schema asks for, when it clearly
    can."""
    kind = schema.get("type")
    if not isinstance(text, str) or kind in (None, "string"):
        return text
    if kind in ("integer", "number", "boolean", "array", "object", "null"):
        try:
            return json.loads(text)
        except ValueError:
            return text  # left as text, so the schema check says what is wrong
    return text

