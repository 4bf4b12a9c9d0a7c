"""Loading a playbook, and every check of it as a whole that can be made before anything is sent.

Load-time checks, each reported at file:line:col: the schema; unknown services, endpoints and
params (with "did you mean"); required params missing; literal param values outside their
documented rules; duplicate step ids; references to steps that run later or do not exist,
to undeclared inputs, and to names not in scope; Jinja2 syntax errors; a `retry` on a create.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from runner.errors import FileError, Finding, JsonPath, Location, OutboundError
from runner.playbook.model import (
    RESPONSE_NAMES,
    RUN_NAMES,
    Input,
    Playbook,
    ServiceBinding,
    Step,
    address_problem,
    fields_of,
    parse_rate,
    step_reads,
    stream_source,
)
from runner.playbook.reads import Reads
from runner.playbook.steps import StepBuilder, retries_of, size_of, timeouts_of
from runner.spec import Endpoint, find_spec_file, load_spec
from runner.templating import (
    GLOBAL_NAMES,
    Template,
    TemplatedValue,
    compile_template,
    is_template,
)
from runner.validation import compile_schema, schema_findings, suggest
from runner.window import CallingWindow, WindowProblem
from runner.yamlio import Document, load_file


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
    builder = PlaybookBuilder(document)
    return builder.build(), builder.findings


class PlaybookBuilder:
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
            ids = [raw["id"] for raw in self.raw["steps"]]  # each has run, built or not
            self._check_scope(outputs, ("outputs",), set(inputs), ids, set(), None)
            self._check_reads(outputs, self._reads(inputs, ids))
        self._check_streams(steps, outputs)
        return Playbook(self.raw["name"], self.document.file, services, inputs, tuple(steps),
                        outputs, self.raw.get("description", ""), self.base_dir,
                        self._window(), self.document.sha256)

    def _window(self) -> CallingWindow | None:
        raw = self.raw.get("calling_window")
        if raw is None:
            return None
        raw = {**raw, "to": "23:59:59" if raw.get("to") == "24:00" else raw.get("to", "23:59:59")}
        try:
            window = CallingWindow.parse(raw)
        except WindowProblem as error:
            self.problem(("calling_window", *error.field), str(error))
            return None
        if window.start >= window.end:  # it would never open, and each run would pause
            self.problem(("calling_window", "to"), (
                f"calling_window: to {raw['to'][:5]} is not after from {raw.get('from', '00:00')}"
                ": the window would never open (it runs from and to within one day)"))
        return window

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
        why = None if not base_url or is_template(base_url) else address_problem(base_url)
        if why is not None:
            self.problem((*at, "base_url"), f"base_url {base_url!r} is not an http(s) URL{why}")
        credentials = {k: v for k, v in ((k, self.templated(v, (*at, "credentials", k)))
                                         for k, v in raw.get("credentials", {}).items()) if v}
        rate = parse_rate(raw["rate_limit"]) if "rate_limit" in raw else None
        if rate == 0:  # read as no limit at all, the opposite of what was written
            self.problem((*at, "rate_limit"), f"rate_limit {raw['rate_limit']} lets no request "
                         "through; give the most the vendor allows, such as 20/s (leave it out "
                         "for no limit)")
        return ServiceBinding(
            name, spec, self.template(base_url, (*at, "base_url")) if base_url else None,
            credentials, rate,
            timeouts_of(raw.get("timeout")), self._verify(raw.get("verify", True), (*at, "verify")),
            retries_of(raw.get("retries")), size_of(raw.get("max_response", "32MB")))

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
            found = len(self.findings)
            step = StepBuilder(self, index, raw, services).build()
            if step is None:
                continue
            whole = len(self.findings) == found  # else what later steps read of it is unsure
            self._check_step_scope(step, index, inputs, earlier)
            steps.append(step)
            if whole:  # a step with a broken part is not checked against: one error, not more
                self.built.setdefault(step.id, step)
        return steps

    def _check_streams(self, steps: list[Step], outputs: TemplatedValue | None) -> None:
        """A streamed list is read by exactly one for_each, as `{{ steps.<id>.items }}`."""
        for index, step in enumerate(steps):
            if not step.stream:
                continue
            consumers = [s for s in steps if stream_source(s) == step.id]
            other_reads = [s for s in steps if step.id in step_reads(s, for_each=False)
                           or (step.id in step_reads(s) and s not in consumers)]
            at: JsonPath = ("steps", index, "paginate", "stream")
            if len(consumers) != 1 or other_reads or (
                    outputs is not None and step.id in outputs.step_refs):
                self.problem(at, f"step {step.id!r} is streamed, so exactly one for_each must "
                             f"read it, as \"{{{{ steps.{step.id}.items }}}}\", and nothing else "
                             "(its items are not kept)")

    def _check_step_scope(self, step: Step, index: int, inputs: Mapping[str, Input],
                          earlier: list[str]) -> None:
        at: JsonPath = ("steps", index)
        # the raw step's: a for_each that does not compile still names the loop's variable
        loop = {step.loop_var} if "for_each" in self.raw["steps"][index] else set()
        answered = loop if step.wait is not None else loop | RESPONSE_NAMES  # a wait calls none
        parts: list[tuple[TemplatedValue | Template | None, str, set[str]]] = [
            (step.for_each, "for_each", set()),
            (step.when, "when", loop),
            (step.key, "key", loop),
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
        run_reads = self._reads(inputs, earlier)
        looped = run_reads.with_item(step)
        if step.for_each is not None and (problem := run_reads.loop_problem(step)):
            self.findings.append(Finding(step.for_each.templates[0].location, problem))
        for value, key, extra in parts:
            if value is not None:
                self._check_scope(value, (*at, key), set(inputs), earlier, extra, step.id)
                if "values" in extra and step.endpoint is not None:
                    self._check_values(value, step.endpoint)
                reads = looped if step.loop_var in extra else run_reads
                self._check_reads(value, reads.with_answer(step) if "response" in extra
                                  else reads)

    def _reads(self, inputs: Mapping[str, Input], earlier: list[str]) -> Reads:
        return Reads(inputs, {i: self.built[i] for i in earlier if i in self.built})

    def _check_reads(self, value: TemplatedValue | Template, reads: Reads) -> None:
        """Fields read of an answer, an item, an input or outputs are fields they have."""
        for template in value.templates if isinstance(value, TemplatedValue) else [value]:
            self.findings.extend(Finding(template.location, message)
                                 for message in reads.problems(template))

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


def _scope_hint(name: str, at: JsonPath) -> str:
    if name in RESPONSE_NAMES and at[-1] == "outputs":  # outputs have it, but not a wait's
        return " (a wait step makes no call, so it has no response)"
    if name in RESPONSE_NAMES:
        return f" ({name} exists only in outputs, expect and retry, after the call)"
    return ""
