"""What the simulator does wrong on purpose: a seeded plan of faults per endpoint.

    seed: 7
    faults:
      - {kind: http_error, status: 503, rate: 0.1, on: [list, detail]}
      - {kind: rate_limited, retry_after: 2, retry_after_form: http-date, rate: 0.05}
      - {kind: vendor_code, code: "0200022", on: huawei-isales.appoint.create, rate: 0.02}
      - {kind: drift, action: rename, field: data.*.taskName, to: name, on: list}

Each request rolls every fault that targets its endpoint, in order; `latency` adds a delay and
the roll goes on, the first other fault that comes up is what happens. When that is a drift,
the drifts after it roll too, and each that comes up changes the same answer (a vendor's
release may rename one field and add another). Kinds:

    latency        wait `seconds`, then go on
    http_error     answer `status` (default 503), not processed
    rate_limited   answer 429 with Retry-After (`retry_after` seconds, or as an HTTP date)
    vendor_code    answer the vendor's envelope with result `code` (0200022 too fast, ...)
    reset_before   drop the connection without processing the request
    reset_after    process the request, then drop the connection without an answer
    timeout        process nothing and say nothing for `seconds` (default 60)
    truncated      process, and answer the first half of the body
    html           answer `status` (default 502) with an HTML error page
    wrong_content_type   process, and label the JSON body text/html
    drift          process, and change the answer: remove, rename (to), retype (value) or
                   add (value) a `field`, or answer a `new_code` the spec does not know
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import FileError, Finding, InputError, JsonPath
from runner.spec import Endpoint, load_spec, nodes_at, shipped_spec_files
from runner.spec.fields import field_paths, walk_fields
from runner.validation import file_schema, listing, schema_findings, suggest
from runner.yamlio import Document, load_file

PROCESSING = frozenset({"reset_after", "truncated", "wrong_content_type", "drift"})


@dataclass
class Fault:
    """One entry of a fault plan: what goes wrong, for which endpoints, how often."""

    kind: str
    targets: frozenset[str] = frozenset({"*"})
    rate: float = 1.0
    settings: Mapping[str, Any] = field(default_factory=dict)
    times: int | None = None  # how many more times it may happen (None: no limit)

    def applies_to(self, endpoint: Endpoint) -> bool:
        return bool(self.targets & {"*", endpoint.kind, endpoint.name, endpoint.qualified_name})

    def get(self, key: str, default: Any = None) -> Any:
        return self.settings.get(key, default)


@dataclass
class FaultPlan:
    """A seeded fault plan: its faults, rolled in order for each request."""

    faults: Sequence[Fault] = ()
    seed: int | None = None
    source: str = ""  # the plan as written, to know it again on a resume

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)

    def state(self) -> dict[str, Any]:
        """How far the plan has come (its random sequence, each fault's times left), as JSON
        values: a resumed --sim run goes on from it, not meeting the same faults again."""
        version, internal, gauss = self.random.getstate()
        return {"plan": self.source, "random": [version, list(internal), gauss],
                "times": [fault.times for fault in self.faults]}

    def go_on_from(self, state: Mapping[str, Any]) -> None:
        """Go on from `state()` if it is this plan's (a resume may be given another plan).
        ValueError or TypeError, the plan unchanged, if the state is not one `state()` gave."""
        if state["plan"] != self.source:
            return
        times = list(state["times"])
        if len(times) != len(self.faults) or not all(
                left is None or type(left) is int for left in times):
            raise ValueError(f"not the times of {len(self.faults)} faults: {times!r}")
        version, internal, gauss = state["random"]
        self.random.setstate((version, tuple(internal), gauss))
        for fault, left in zip(self.faults, times, strict=True):
            fault.times = left

    def roll(self, endpoint: Endpoint) -> tuple[float, list[Fault]]:
        """(latency to add, what happens) for one request: no fault, one, or drifts."""
        delay = 0.0
        happening: list[Fault] = []
        for fault in self.faults:
            if happening and fault.kind != "drift":  # after a drift, only drifts add to it
                continue
            if (not fault.applies_to(endpoint) or fault.times == 0
                    or self.random.random() >= fault.rate):
                continue
            if fault.times is not None:
                fault.times -= 1
            if fault.kind == "latency":
                delay += float(fault.get("seconds", 0.1))
                continue
            happening.append(fault)
            if fault.kind != "drift":
                break
        return delay, happening


def load_faults(path: str | Path) -> FaultPlan:
    """A fault plan from a YAML file, checked against schemas/faults.schema.json."""
    document = load_file(path)
    findings = check_plan_document(document)
    if findings:
        raise FileError(findings)
    return plan_from(document.data)


def check_plan_document(document: Document) -> list[Finding]:
    """Every problem of a loaded fault plan file (for `outbound validate` too)."""
    return schema_findings(document, "faults") or [
        Finding(document.locate(where), problem) for where, problem in _aimed_amiss(document.data)]


def load_sim_faults(path: Path | None, simulate: bool) -> FaultPlan | None:
    """The plan `--sim-faults` names, which only the embedded simulator (--sim) follows."""
    if path is None:
        return None
    if not simulate:
        raise InputError.plain("--sim-faults works with --sim (for a served simulator: "
                               "outbound sim serve --faults FILE)")
    return load_faults(path)


def plan_from(data: Mapping[str, Any]) -> FaultPlan:
    """A fault plan from data already checked against the faults schema."""
    faults = []
    for raw in data["faults"]:
        targets = raw.get("on", "*")
        faults.append(Fault(raw["kind"],
                            frozenset([targets] if isinstance(targets, str) else targets),
                            float(raw.get("rate", 1.0)),
                            {k: v for k, v in raw.items()
                             if k not in ("kind", "on", "rate", "times")}, raw.get("times")))
    return FaultPlan(tuple(faults), data.get("seed"),
                     json.dumps(data, sort_keys=True, ensure_ascii=False, default=str))


def plan_problems(data: Any) -> list[str]:
    return [issue.message for issue in file_schema("faults").issues(data)] or [
        problem for _, problem in _aimed_amiss(data)]


def _aimed_amiss(data: Mapping[str, Any]) -> list[tuple[JsonPath, str]]:
    """Each fault that could never come up, or change nothing when it did, by where it is
    wrong: the run would pass as if the fault had been tried."""
    endpoints = [e for path in shipped_spec_files() for e in load_spec(path).endpoints.values()]
    return _unknown_targets(data, endpoints) + _undocumented_fields(data, endpoints)


def _targets(raw: Mapping[str, Any]) -> list[tuple[JsonPath, str]]:
    """A fault's `on`, each target with where it is written."""
    targets = raw.get("on", "*")
    return ([(("on",), targets)] if isinstance(targets, str)
            else [(("on", i), target) for i, target in enumerate(targets)])


def _unknown_targets(data: Mapping[str, Any], endpoints: Sequence[Endpoint],
                     ) -> list[tuple[JsonPath, str]]:
    """Each `on` naming no endpoint the simulator serves, nor a kind of one: such a fault
    never comes up (`appoint.creat`)."""
    known = sorted({"*"} | {e.kind for e in endpoints} | {e.name for e in endpoints}
                   | {e.qualified_name for e in endpoints})
    return [(("faults", number, *where), f"no endpoint or kind {target!r}"
             f"{suggest(target, known)} (`on` takes SERVICE.ENDPOINT, ENDPOINT, a kind such as "
             "create, or *)")
            for number, raw in enumerate(data["faults"]) for where, target in _targets(raw)
            if target not in known]


def _undocumented_fields(data: Mapping[str, Any], endpoints: Sequence[Endpoint],
                         ) -> list[tuple[JsonPath, str]]:
    """Each drift `field` that no answer of its endpoints has, as their specs document them
    (`callStatus` where the answer has `data.callStatus`): such a drift changes nothing. A
    field added needs its parent there; a schema that does not say (any keys) takes any."""
    problems: list[tuple[JsonPath, str]] = []
    for number, raw in enumerate(data["faults"]):
        if raw.get("kind") != "drift" or raw.get("action") == "new_code":
            continue
        targets = {target for _, target in _targets(raw)}
        aimed = [e for e in endpoints if Fault("drift", frozenset(targets)).applies_to(e)]
        field = str(raw["field"])
        parts = field.split(".")[:-1] if raw.get("action") == "add" else field.split(".")
        walked = [walk_fields(e.response_schema, ["[]" if p == "*" else p for p in parts],
                              lists_only=True) for e in aimed]
        if not aimed or any(absent is None for _, absent in walked):
            continue
        paths = sorted({p for e in aimed for p in field_paths(e.response_schema, every="*")})
        names, wanted = ", ".join(sorted({e.name for e in aimed})), ".".join(parts)
        problems.append((("faults", number, "field"), (
            f"no answer of {names} has {wanted!r}{suggest(wanted, paths)} (a field is "
            "a dotted path from the answer's top, * for each item of a list; "
            f"{'to add a field, its parent must be there; ' if raw['action'] == 'add' else ''}"
            f"the answer has: {listing(paths)})")))
    return problems


def drift(body: Any, fault: Fault, envelope_code: str | None) -> Any:
    """The body changed as a drift fault says (a new copy; the vendor's state is untouched)."""
    changed = copy.deepcopy(body)
    action = fault.get("action")
    if action == "new_code":
        if envelope_code and isinstance(changed, dict):
            changed[envelope_code] = fault.get("code", "0299999")
            if "resultCode" in changed and envelope_code == "returnCode":
                changed["resultCode"] = changed[envelope_code]
        return changed
    parts = str(fault.get("field", "")).split(".")
    for parent in nodes_at(changed, parts[:-1], every="*"):
        name = parts[-1]
        if not isinstance(parent, dict):
            continue
        if action == "remove":
            parent.pop(name, None)
        elif action == "rename" and name in parent:
            parent[str(fault.get("to"))] = parent.pop(name)
        elif action == "add" or (action == "retype" and name in parent):
            parent[name] = fault.get("value")
    return changed
