"""Secrets: read from the environment or a file, and kept out of everything the tool writes.

`secret('NAME')` reads the variable NAME, or the file named by NAME_FILE. Every secret value,
and every credential a run uses, is registered with `REDACTOR`, which replaces the value, its
URL-encoded and its base64 forms, and the value as it reads escaped in JSON and HTML text, with
`[redacted]`. Values of sensitive header and query names (Authorization, sign, api_key, ...)
are replaced whatever they hold. Reporters and error output see text only after it went
through `REDACTOR`.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import html
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus

from runner.errors import InputError

MASK = "[redacted]"
MIN_LENGTH = 4  # shorter values ("1", "ops") would mask ordinary text everywhere
SENSITIVE_NAMES = frozenset({"authorization", "proxy-authorization", "sign", "api_key",
                             "x-api-key", "apikey", "token", "access_token", "password"})
CLEAN_LENGTH = 80  # texts this short recur (steps, statuses, codes): remember those with no secret
CLEAN_KEPT = 20_000  # how many; forgotten all at once beyond, and whenever a secret is added
T = TypeVar("T")


class Redactor:
    """Replaces registered secret values, in every form they may take, with `[redacted]`."""

    def __init__(self) -> None:
        self._forms: set[str] = set()
        self._form_list: tuple[str, ...] = ()
        self._names: set[str] = set(SENSITIVE_NAMES)
        self._name_list = _probes(self._names)
        self._pattern: re.Pattern[str] | None = None
        self._named: re.Pattern[str] = self._names_pattern()
        self._clean: set[str] = set()  # short texts known to hold nothing to mask

    def add(self, value: Any) -> None:
        text = str(value).strip()
        if len(text) < MIN_LENGTH:
            return
        raw = text.encode()
        self._forms.update({text, quote(text, safe=""), quote_plus(text),
                            base64.b64encode(raw).decode(),
                            base64.urlsafe_b64encode(raw).decode(),
                            base64.b64encode(raw).decode().rstrip("=")})
        # as it reads inside JSON text (journal rows, reports) and in an HTML report, should
        # it hold a quote, a backslash, < or a letter outside ASCII
        in_json = {json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]}
        self._forms.update(in_json | {html.escape(form) for form in {text, *in_json}})
        for line in text.splitlines()[1:]:  # a PEM key's lines, should one leak on its own
            if len(line.strip()) >= 16:
                self._forms.update({line.strip(), quote(line.strip(), safe="")})
        self._pattern = None  # compiled again when next needed
        self._form_list = _probes(self._forms)
        self._clean.clear()

    def _secrets(self) -> re.Pattern[str] | None:
        if self._pattern is None and self._forms:
            self._pattern = re.compile("|".join(
                re.escape(form) for form in sorted(self._forms, key=len, reverse=True)))
        return self._pattern

    def add_name(self, name: str) -> None:
        """A header or query parameter whose value is always masked."""
        self._names.add(name.lower())
        self._named = self._names_pattern()
        self._name_list = _probes(self._names)
        self._clean.clear()

    def _names_pattern(self) -> re.Pattern[str]:
        """A sensitive name, then its value: a whole quoted string (JSON), else one word, or an
        auth scheme and its word (`Authorization: Bearer abc`)."""
        names = "|".join(re.escape(n) for n in sorted(self._names, key=len, reverse=True))
        return re.compile(rf"(?i)(\b(?:{names})\b\"?\s*[=:]\s*)"
                          rf"(\"(?:[^\"\\]|\\.)*\"|(?:(?:bearer|basic|digest|token)\s+)?"
                          rf"[^&\s\",}}]+)")

    def text(self, text: str) -> str:
        if text in self._clean:
            return text
        masked = text
        # str's own search, one form at a time, is twice as fast as the patterns' alternation
        # when nothing matches (nearly always), so the patterns run only on a hit
        pattern = self._secrets()
        if pattern is not None and _holds_any(masked, self._form_list):
            masked = pattern.sub(MASK, masked)
        if _holds_any(masked.lower(), self._name_list):  # names match in any case
            masked = self._named.sub(_mask_value, masked)
        if masked != text:
            return masked
        if len(text) <= CLEAN_LENGTH:
            if len(self._clean) >= CLEAN_KEPT:
                self._clean.clear()
            self._clean.add(text)
        return text  # the very object given: a walk can tell nothing changed

    def holds_none(self, text: str) -> bool:
        """Whether `text` holds nothing `text()` would mask. A check of many texts joined is
        one pass in C, where masking them one by one is a Python call each: the journal
        checks a commit's texts together, and masks them one by one only on a find."""
        if self._form_list and _holds_any(text, self._form_list):
            return False
        return not (_holds_any(text.lower(), self._name_list) and self._named.search(text))

    def value(self, value: T) -> T:
        """`value` with every string in it redacted (mappings, lists, dataclasses)."""
        return self._walk(value)  # type: ignore[no-any-return]

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: MASK if str(k).lower() in self._names else self._walk(v)
                    for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self._walk(v) for v in value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            changed = {}  # an event with nothing to mask is passed on as it is, not copied
            for name in _field_names(type(value)):
                old = getattr(value, name)
                new = self._walk(old)
                if new is not old:
                    changed[name] = new
            return dataclasses.replace(value, **changed) if changed else value
        return value


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def _mask_value(match: re.Match[str]) -> str:
    quoted = match.group(2).startswith('"')
    return match.group(1) + (f'"{MASK}"' if quoted else MASK)


def _probes(parts: set[str]) -> tuple[str, ...]:
    """What to look for to tell whether a text holds any of `parts`: each part, less those that
    hold another (`access_token` holds `token`, a base64 form its unpadded one), since a text
    holding one holds the other too. Each is a pass over the text, and every text the tool
    writes is searched for each."""
    shortest_first = sorted(parts, key=len)
    kept: list[str] = []
    for part in shortest_first:
        if not any(probe in part for probe in kept):
            kept.append(part)
    return tuple(kept)


def _holds_any(text: str, parts: tuple[str, ...]) -> bool:
    for part in parts:  # noqa: SIM110 (any() over a generator: 40% slower, on every text)
        if part in text:
            return True
    return False


REDACTOR = Redactor()


def read_secret(name: str) -> str:
    """`secret('NAME')`: the environment variable NAME, or the file named by NAME_FILE."""
    if name in os.environ:
        value = os.environ[name]
    elif os.environ.get(f"{name}_FILE"):
        file_name = os.environ[f"{name}_FILE"]
        try:
            value = Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise InputError.plain(f"secret {name}: cannot read {name}_FILE={file_name} "
                                   f"({exc.strerror})") from None
    else:
        raise InputError.plain(f"secret {name} is not set: set the environment variable "
                               f"{name}, or {name}_FILE to a file holding it")
    REDACTOR.add(value)
    return value
