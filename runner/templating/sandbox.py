"""The sandboxed Jinja2 environment every template is compiled in: what a template may reach,
how large a value it may make and how long it may take, and what an undefined name says."""

from __future__ import annotations

import os
import signal
import threading
import uuid as uuid_module
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from runner.validation import listing, suggest


class EnvironmentVariables(dict[str, str]):
    """`env` in templates: the process environment, read when a run starts."""


class SkippedOutputs(dict[str, Any]):
    """`steps.<id>.outputs` of a step that was skipped: empty, and a read of it says why."""


class _Undefined(jinja2.StrictUndefined):
    """StrictUndefined with messages that name what the author got wrong."""

    @property
    def _undefined_message(self) -> str:
        found, name = self._undefined_obj, self._undefined_name
        if isinstance(found, EnvironmentVariables):
            return f"the environment variable {name} is not set"
        if isinstance(found, SkippedOutputs):
            return (f"no output {name!r}: the step was skipped (its when was false); give a "
                    "fallback with | default(...), or test the step's skipped")
        if isinstance(found, Mapping) and isinstance(name, str):
            keys = sorted(str(key) for key in found)
            if not keys:
                return f"no key {name!r} here: it is empty"
            return f"no key {name!r} here{suggest(name, keys)} (the keys: {listing(keys)})"
        return str(super()._undefined_message)


def _uuid() -> str:
    return str(uuid_module.uuid4())


MAX_OUTPUT = 1_000_000  # characters (or items) a value may grow to
TIME_LIMIT = 2.0  # seconds one rendering may take


class _Sandbox(ImmutableSandboxedEnvironment):
    """Dotted access reads a mapping's keys first: `response.items` is the vendor's field
    `items`, not the dict method, so data fields are never shadowed by Python names.

    `*` and `**` are checked before they run: `'x' * 10**9` or `10 ** 10 ** 10` would take
    memory or time without bound."""

    intercepted_binops = frozenset({"*", "**"})

    def getattr(self, obj: Any, attribute: str) -> Any:
        if (type(obj) is dict or isinstance(obj, Mapping)) and attribute in obj:  # dict: cheap
            return obj[attribute]
        return super().getattr(obj, attribute)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                if isinstance(sequence, (str, list, tuple)) and isinstance(times, int) \
                        and len(sequence) * times > MAX_OUTPUT:
                    raise jinja2.exceptions.SecurityError(
                        f"the result would hold more than {MAX_OUTPUT} items")
        numbers = isinstance(right, (int, float)) and isinstance(left, (int, float))
        if operator == "**" and numbers and (
                abs(right) > 1000 or (abs(left) > 1 and abs(right) * _digits(left) > 10_000)):
            raise jinja2.exceptions.SecurityError("the power is too large to compute")
        return super().call_binop(context, operator, left, right)


def _digits(number: float) -> int:
    return len(str(int(abs(number))))


class TooSlow(Exception):
    pass


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """SIGALRM after `seconds` (main thread only; elsewhere the other bounds still hold)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def alarm(signum: int, frame: Any) -> None:
        raise TooSlow

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _environment() -> ImmutableSandboxedEnvironment:
    env = _Sandbox(undefined=_Undefined, autoescape=False, keep_trailing_newline=True)
    env.globals.update(uuid=_uuid)
    return env


ENV = _environment()
GLOBAL_NAMES = frozenset(ENV.globals)


def environment_variables() -> EnvironmentVariables:
    return EnvironmentVariables(os.environ)
