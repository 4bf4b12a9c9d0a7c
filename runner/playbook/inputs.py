"""The inputs of a run: values given on the command line, in files or CSV, typed and checked."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from runner.errors import Finding, InputError, JsonPath, Location, format_json_path
from runner.playbook.model import Input, Playbook
from runner.validation import suggest

ISSUES_LISTED = 20  # of one input's value (a CSV file's rows may break its schema by thousands)

Origin = Callable[[JsonPath], Location]  # where in its file a path of an input's value is


def resolve_inputs(playbook: Playbook, given: Mapping[str, Any],
                   from_command_line: frozenset[str] = frozenset(),
                   origins: Mapping[str, Origin] | None = None,
                   ) -> dict[str, Any]:
    """The run's inputs: given values (typed by each input's schema), else defaults.

    Values named in `from_command_line` are text from ``--var k=v`` and are converted to the
    input's declared type; an unknown or missing input, or a value breaking its schema, is an
    `InputError` that names it (at its place in the file it came from, for those in `origins`).
    """
    findings = [_no_such_input(name, playbook, (origins or {}).get(name))
                for name in given if name not in playbook.inputs]
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
        hint = _as_json_hint(name, given[name], value, spec.schema) \
            if name in from_command_line else ""
        findings += _broken_rules(name, value, spec, (origins or {}).get(name), hint)
        values[name] = value
    if findings:
        raise InputError(findings)
    return values


def _broken_rules(name: str, value: Any, spec: Input, origin: Origin | None,
                  hint: str) -> list[Finding]:
    """What is wrong with input `name`'s value, by its schema: at its place in the file it came
    from (`origin`), else named; `hint` follows a --var's own problem."""
    issues = spec.validator.issues(value)
    findings = []
    for issue in issues[:ISSUES_LISTED]:
        if origin is not None:
            findings.append(Finding(origin(issue.path), issue.message))
        else:
            where = format_json_path((name, *issue.path))
            findings.append(Finding(Location(), f"input {where}: {issue.message}"
                                    + (hint if not issue.path else "")))
    if len(issues) > ISSUES_LISTED:
        findings.append(Finding(Location(), f"... and {len(issues) - ISSUES_LISTED} more "
                                f"problems with input {name!r}"))
    return findings


def _no_such_input(name: str, playbook: Playbook,
                   origin: Origin | None) -> Finding:
    return Finding(origin(()) if origin else Location(),
                   ("" if origin else f"--var {name}: ") + f"the playbook has no input {name!r}"
                   + suggest(name, playbook.inputs))


def _as_json_hint(name: str, text: str, value: Any, schema: Mapping[str, Any]) -> str:
    """How a list or an object is written on the command line, for --var text that is not."""
    kind = schema.get("type")
    if isinstance(value, (list, dict)) or kind not in ("array", "object"):
        return ""
    if text.lstrip().startswith(("[", "{")):
        return " (it is not valid JSON: look at its quotes, commas and brackets)"
    if kind == "object":
        return f" (an object is given as JSON: --var '{name}={{\"key\": \"value\"}}')"
    items = schema.get("items")
    items = items if isinstance(items, Mapping) else {}
    example = "[{...}, ...]" if items.get("type") == "object" else json.dumps(
        [typed_text(part.strip(), items) for part in text.split(",")[:3]], ensure_ascii=False)
    return (f" (a list is given as JSON: --var '{name}={example}', or as the rows of a CSV "
            f"file: --csv {name}=FILE)")


def typed_text(text: Any, schema: Mapping[str, Any]) -> Any:
    """Convert ``--var`` text (or a CSV cell) to the type the schema asks for, when it clearly
    can."""
    kind = schema.get("type")
    if not isinstance(text, str) or kind in (None, "string"):
        return text
    if kind in ("integer", "number", "boolean", "array", "object", "null"):
        try:
            return json.loads(text, parse_constant=_no_constant)
        except ValueError:
            return text  # left as text, so the schema check says what is wrong
    return text


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is no JSON value")  # NaN, Infinity: Python's, not JSON's
