"""One step of a playbook built from its YAML, with the checks that concern the step alone."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from runner.errors import JsonPath
from runner.playbook.model import (
    DEFAULT_MAX_PAGES,
    RESPONSE_NAMES,
    RUN_NAMES,
    Duration,
    Retries,
    Retry,
    ServiceBinding,
    Step,
    Timeouts,
    parse_duration,
)
from runner.spec import READ_KINDS, Endpoint
from runner.templating import GLOBAL_NAMES, Template
from runner.validation import suggest

if TYPE_CHECKING:
    from runner.playbook.loader import PlaybookBuilder


def timeouts_of(raw: Any) -> Timeouts | None:
    if raw is None:
        return None
    if isinstance(raw, dict):
        return Timeouts(*(parse_duration(raw[k]) if k in raw else None
                          for k in ("connect", "read", "total")))
    seconds = parse_duration(raw)
    return Timeouts(connect=seconds, read=seconds)


def retries_of(raw: Any) -> Retries | None:
    if raw is None:
        return None
    base = Retries()
    return Retries(int(raw.get("attempts", base.attempts)),
                   parse_duration(raw.get("delay", base.delay)),
                   parse_duration(raw.get("max_delay", base.max_delay)))


def size_of(text: str) -> int:
    return int(text[:-2]) * {"KB": 1024, "MB": 1024 * 1024}[text[-2:]]


def max_failures_of(raw: Any) -> float:
    """A count (5), or a fraction of the items (a "10%" becomes 0.1, marked by being < 1)."""
    if raw is None:
        return 0
    if isinstance(raw, str):
        return -float(raw.rstrip("%")) / 100  # negative: a share of the items, see Step
    return int(raw)


_CALL_ONLY_KEYS = frozenset({"params", "paginate", "retry", "expect", "invalid_response",
                             "timeout", "retries"})
_TAKEN_NAMES = RUN_NAMES | RESPONSE_NAMES | GLOBAL_NAMES  # what a for_each's `as` may not be
_LOOP_ONLY_KEYS = frozenset({"as", "key", "concurrency", "max_failures"})


class StepBuilder:
    def __init__(self, parent: PlaybookBuilder, index: int, raw: Mapping[str, Any],
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
        self._check_loop_keys()
        key = parent.template(raw.get("key"), (*at, "key"))
        loop_var = raw.get("as", "item")
        if key is not None and loop_var not in key.names:
            parent.problem((*at, "key"), f"key {key.source!r} does not read the item "
                           f"({loop_var}): the same for every item, it would have each after "
                           f"the first skipped as a repeat; name what identifies an item, "
                           f"such as \"{{{{ {loop_var} }}}}\" or \"{{{{ {loop_var}.id }}}}\"")
        common = dict(
            id=raw["id"], location=parent.document.locate(at), name=raw.get("name", ""),
            when=parent.template(raw.get("when"), (*at, "when")),
            for_each=(parent.templated(raw["for_each"], (*at, "for_each"))
                      if "for_each" in raw else None),
            loop_var=loop_var, key=key, concurrency=raw.get("concurrency", 1),
            max_failures=max_failures_of(raw.get("max_failures")),
        )
        return self._wait(common) if "wait" in raw else self._call(common)

    def _wait(self, common: dict[str, Any]) -> Step | None:
        raw, at, parent = self.raw, self.at, self.parent
        for key in sorted(set(raw) & _CALL_ONLY_KEYS):
            parent.problem((*at, key), f"a wait step makes no call, so {key} has no effect "
                           "here (a wait takes id, name, wait, when, for_each, as, "
                           "key, concurrency, max_failures and outputs)")
        wait = self._duration(raw["wait"], (*at, "wait"))
        outputs = parent.templated(raw.get("outputs", {}), (*at, "outputs"))
        return Step(**common, wait=wait, outputs=outputs) if wait is not None else None

    def _call(self, common: dict[str, Any]) -> Step | None:
        raw, at, parent = self.raw, self.at, self.parent
        endpoint = self._endpoint(raw["call"])
        if endpoint is None:
            return None
        self._check_params(endpoint)
        paginate = raw.get("paginate")
        if paginate is not None and endpoint.pagination is None:
            parent.problem((*at, "paginate"), f"{raw['call']} is not paginated")
        elif isinstance(paginate, dict) and "page_size" in paginate and endpoint.pagination:
            size = endpoint.pagination.size_param  # page_size is sent as that param
            self._check_literal(endpoint, size, paginate["page_size"],
                                (*at, "paginate", "page_size"),
                                f" (page_size is sent as {endpoint.qualified_name}'s {size})")
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
            timeout=timeouts_of(raw.get("timeout")), retries=retries_of(raw.get("retries")),
        )

    def _check_loop_keys(self) -> None:
        """`as`, `key`, `concurrency` and `max_failures` belong to a for_each: on a step that runs
        once they would be ignored, and a for_each forgotten would go unnoticed."""
        raw, at = self.raw, self.at
        if "for_each" not in raw:
            for key in sorted(set(raw) & _LOOP_ONLY_KEYS):
                self.parent.problem((*at, key), f"{key!r} works with for_each, which this step "
                                    f"does not have: it runs once (add for_each, or remove "
                                    f"{key})", key=True)
        elif raw.get("as") in _TAKEN_NAMES:
            self.parent.problem((*at, "as"), f"as: {raw['as']!r} is a name templates have "
                                f"already ({', '.join(sorted(RUN_NAMES | RESPONSE_NAMES))}, "
                                "...), and the item would hide it or be hidden; name it for "
                                "what it is, such as 'customer'")

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
            elif not has_template(value):
                self._check_literal(endpoint, name, value, (*at, name))
        managed = set()
        if "paginate" in self.raw and endpoint.pagination:
            managed = {endpoint.pagination.position_param, endpoint.pagination.size_param}
        for name, param in endpoint.params.items():
            if param.required and name not in raw_params and name not in managed:
                self.parent.problem(at if "params" in self.raw else self.at,
                                    f"{endpoint.qualified_name} needs the param {name!r} "
                                    f"({param.description or param.location})")

    def _check_literal(self, endpoint: Endpoint, name: str, value: Any, at: JsonPath,
                       why: str = "") -> None:
        param = endpoint.params[name]
        schema = endpoint.request_validators[param.location]
        for issue in schema.issues({name: value}):
            if issue.path[:1] == (name,):
                self.parent.problem((*at, *issue.path[1:]), issue.message + why)

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


def has_template(value: Any) -> bool:
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, dict):
        return any(has_template(v) for v in value.values())
    if isinstance(value, list):
        return any(has_template(v) for v in value)
    return False

