"""One template string, compiled once: what it reads (checked before anything runs), how it
renders, and what a failed comparison compared."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import jinja2
import jinja2.meta
from jinja2 import nodes

from runner.errors import Finding, Location, OutboundError, TemplateError
from runner.templating import sandbox
from runner.templating.sandbox import ENV, GLOBAL_NAMES, MAX_OUTPUT, TooSlow, time_limit
from runner.validation import suggest

_DOTTED_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*$")
_LONE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\{\{|\}\}|\{%|\{#).)*)\}\}\s*$", re.DOTALL)
_HAS_TEMPLATE = re.compile(r"\{\{|\{%|\{#")


@dataclass(frozen=True)
class Template:
    """One compiled template string, with the names it reads."""

    source: str
    location: Location
    names: frozenset[str]  # top-level names it reads (inputs, steps, number, ...)
    step_refs: frozenset[str]  # the step ids it reads through `steps.<id>`
    input_refs: frozenset[str]  # the inputs it reads through `inputs.<name>`
    _render: Callable[[Mapping[str, Any]], Any]
    step_fields: frozenset[tuple[str, str]] = frozenset()  # (id, field) of `steps.<id>.<field>`;
    # field "*" when the whole `steps.<id>` is used
    bounded: bool = False  # has a loop, a macro or a call: render under the time limit
    value_refs: frozenset[str] = frozenset()  # the names it reads through `values.<name>`
    reads: frozenset[tuple[str, ...]] = frozenset()  # `a.b[0].c` as ("a", "b", "[]", "c")

    def render(self, scope: Mapping[str, Any]) -> Any:
        try:
            if self.bounded:  # the limit is read each time: a test shortens it
                with time_limit(sandbox.TIME_LIMIT):
                    value = self._render(scope)
            else:
                value = self._render(scope)
            if isinstance(value, jinja2.Undefined):
                value._fail_with_undefined_error()
            if isinstance(value, str) and len(value) > MAX_OUTPUT:
                raise TemplateError.at(self.location, f"the value is {len(value)} characters "
                                       f"long, more than {MAX_OUTPUT}; in {self.source!r}")
            return value
        except TooSlow:
            raise TemplateError.at(self.location, "rendering took more than "
                                   f"{sandbox.TIME_LIMIT:g}s; in {self.source!r}") from None
        except OutboundError as error:  # raised by a function such as secret(): here
            error.findings = [Finding(self.location, finding.message)
                              if finding.location == Location() else finding
                              for finding in error.findings]
            raise
        except jinja2.UndefinedError as exc:
            raise TemplateError.at(self.location, f"{exc.message} in {self.source!r}") from None
        except jinja2.exceptions.SecurityError as exc:
            raise TemplateError.at(self.location, f"not allowed: {exc}") from None
        except (jinja2.TemplateError, ArithmeticError, TypeError, ValueError, KeyError,
                IndexError, AttributeError, RecursionError, OverflowError) as exc:
            raise TemplateError.at(
                self.location, f"{type(exc).__name__}: {exc} in {self.source!r}") from None


_OPERATORS = {"eq": "==", "ne": "!=", "gt": ">", "gteq": ">=", "lt": "<", "lteq": "<=",
              "in": "in", "notin": "not in"}
COMPARED_SHOWN = 120  # characters of each value an explained comparison shows


def compared(template: Template, scope: Mapping[str, Any]) -> str | None:
    """What a lone comparison (`{{ items | length > 10 }}`) compared, as `2 > 10`, for a
    condition that failed; None for any other template, or when an operand cannot be read."""
    lone = _LONE_EXPRESSION.match(template.source)
    if lone is None:
        return None
    try:
        (output,) = ENV.parse("{{ " + lone.group("expr").strip() + " }}").body
        assert isinstance(output, nodes.Output)
        (comparison,) = output.nodes
        if not isinstance(comparison, nodes.Compare):
            return None
        with time_limit(sandbox.TIME_LIMIT) if template.bounded else nullcontext():
            parts = [_shown(_value_of(comparison.expr, scope))]
            for operand in comparison.ops:
                parts += [_OPERATORS.get(operand.op, operand.op),
                          _shown(_value_of(operand.expr, scope))]
    except (TooSlow, ValueError, AssertionError, jinja2.TemplateError, ArithmeticError,
            TypeError, KeyError, IndexError, AttributeError):
        return None
    return " ".join(parts)


def _value_of(node: nodes.Expr, scope: Mapping[str, Any]) -> Any:
    body = [nodes.Assign(nodes.Name("result", "store"), node)]
    expression = jinja2.environment.TemplateExpression(
        ENV.from_string(nodes.Template(body, lineno=1)), undefined_to_none=False)
    value = expression(scope)
    if isinstance(value, jinja2.Undefined):  # a name or field that is not there
        raise ValueError("undefined")
    return value


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= COMPARED_SHOWN else text[:COMPARED_SHOWN - 3] + "..."


def compile_template(source: str, location: Location) -> Template:
    """Compile one string; a syntax error is a `TemplateError` at `location`."""
    lone = _LONE_EXPRESSION.match(source)
    try:
        if lone:
            expression = lone.group("expr").strip()
            tree = ENV.parse("{{ " + expression + " }}")
            compiled_expression = ENV.compile_expression(expression, undefined_to_none=False)
            render: Callable[[Mapping[str, Any]], Any] = lambda scope: compiled_expression(scope)  # noqa: E731
            if _DOTTED_NAME.match(expression):
                render = _dotted_reader(expression.split("."), render)
        else:
            tree = ENV.parse(source)
            compiled_text = ENV.from_string(tree)
            render = lambda scope: compiled_text.render(scope)  # noqa: E731
        for test in tree.find_all(nodes.Test):  # Jinja looks a test up only as it renders
            if test.name not in ENV.tests:
                raise jinja2.TemplateSyntaxError(f"No test named {test.name!r}.", test.lineno)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError.at(location, f"template syntax error: {_syntax_message(exc)} "
                               f"in {source!r}") from None
    for call in tree.find_all(nodes.Call):  # Jinja calls a function only as it renders
        if wrong := _wrong_arguments(call):
            raise TemplateError.at(location, f"{wrong} in {source!r}")
    names = frozenset(_names_read(tree, lone=lone is not None)) - GLOBAL_NAMES
    loops = any(True for _ in tree.find_all((nodes.For, nodes.Macro, nodes.CallBlock,
                                             nodes.Call)))
    reads = frozenset(_reads(tree))
    return Template(source, location, names, _named(reads, "steps"), _named(reads, "inputs"),
                    render, frozenset(_step_fields(tree)), loops, _named(reads, "values"), reads)


def _names_read(tree: nodes.Template, *, lone: bool) -> set[str]:
    """The names a template reads from its scope. A lone expression binds none, so it reads
    every name in it (Jinja's `find_undeclared_variables` tells which names a loop or a `set`
    binds by generating the template's code: ten times the cost, a fifth of compiling one)."""
    if lone:
        return {name.name for name in tree.find_all(nodes.Name)}
    return jinja2.meta.find_undeclared_variables(tree)


_FUNCTIONS = {"now_ms": 0, "uuid": 0, "secret": 1}  # the functions in scope: their arguments


def _wrong_arguments(call: nodes.Call) -> str | None:
    """What is wrong where a function in scope is given the wrong number of arguments."""
    name = call.node.name if isinstance(call.node, nodes.Name) else None
    if name not in _FUNCTIONS or call.dyn_args is not None or call.dyn_kwargs is not None:
        return None
    wanted, given = _FUNCTIONS[name], len(call.args) + len(call.kwargs)
    if given == wanted:
        return None
    usage = f"{name}('NAME')" if wanted else f"{name}()"
    return (f"{name}() takes {wanted or 'no'} argument{'s' * (wanted != 1)} ({given} given): "
            f"write {usage}")


_UNKNOWN = re.compile(r"^No (filter|test) named '([^']*)'\.?$")


def _syntax_message(exc: jinja2.TemplateSyntaxError) -> str:
    """Jinja's message; for a filter or test it does not know, with the nearest one it does
    (`| uper`: did you mean 'upper'?)."""
    message = exc.message or "invalid template"
    unknown = _UNKNOWN.match(message)
    if unknown is None:
        return message.rstrip(".")
    kind, name = unknown.groups()
    known = ENV.filters if kind == "filter" else ENV.tests
    return f"no {kind} named {name!r}{suggest(name, known)}"


def _dotted_reader(parts: list[str], jinja_render: Callable[[Mapping[str, Any]], Any]
                   ) -> Callable[[Mapping[str, Any]], Any]:
    """A lone `a.b.c` read straight from mappings, as the sandbox would read it.

    Rendering through Jinja costs about 7 us a value, which a call's params pay each time;
    reading mappings directly costs well under one. Anything that is not a plain mapping key
    (an attribute, a missing name) goes through Jinja, so results and errors are the same.
    """
    def read(scope: Mapping[str, Any]) -> Any:
        value: Any = scope
        for part in parts:
            if not (type(value) is dict or isinstance(value, Mapping)) or part not in value:
                return jinja_render(scope)
            value = value[part]
        return value

    return read


def is_template(value: Any) -> bool:
    return isinstance(value, str) and bool(_HAS_TEMPLATE.search(value))


def same_source(one: str | None, other: str | None) -> bool:
    """Whether two template sources (None: no template) do the same but for the spaces
    inside their `{{ }}` and `{% %}`: `{{number}}` is `{{ number }}`; text outside them
    counts to the letter."""
    if one is None or other is None or one == other:
        return one == other
    return _tokens(one) == _tokens(other)


def _tokens(source: str) -> list[tuple[str, str]]:
    try:
        return [(kind, value) for _, kind, value in ENV.lex(source) if kind != "whitespace"]
    except jinja2.TemplateSyntaxError:  # (one the journal masked, say): compared as text
        return [("source", source)]


def _step_fields(tree: nodes.Node) -> Iterator[tuple[str, str]]:
    """(step id, field) for each `steps.<id>.<field>`; field "*" where `steps.<id>` is whole."""
    step_nodes: dict[int, str] = {}
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        assert isinstance(node, (nodes.Getattr, nodes.Getitem))
        step_id = _step_id_of(node)
        if step_id is not None:
            step_nodes[id(node)] = step_id
    read_further: set[int] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        assert isinstance(node, (nodes.Getattr, nodes.Getitem))
        inner = node.node
        if id(inner) in step_nodes:
            field = node.attr if isinstance(node, nodes.Getattr) else (
                node.arg.value if isinstance(node.arg, nodes.Const) else "*")
            read_further.add(id(inner))
            yield step_nodes[id(inner)], str(field)
    for node_id, step_id in step_nodes.items():
        if node_id not in read_further:
            yield step_id, "*"


def _step_id_of(node: nodes.Getattr | nodes.Getitem) -> str | None:
    if not (isinstance(node.node, nodes.Name) and node.node.name == "steps"):
        return None
    if isinstance(node, nodes.Getattr):
        return node.attr
    return node.arg.value if isinstance(node.arg, nodes.Const) else None


def _reads(tree: nodes.Node) -> Iterator[tuple[str, ...]]:
    """Each name read with fields after it, as the name and its constant fields (an index as
    "[]"), up to the first field not known before rendering: `r[key].x` is ("r",)."""
    lookups = list(tree.find_all((nodes.Getattr, nodes.Getitem)))
    inner = {id(node.node) for node in lookups}  # type: ignore[attr-defined]
    for node in lookups:
        if id(node) in inner:  # part of a longer read
            continue
        parts: list[str | None] = []
        current: nodes.Node = node
        while isinstance(current, (nodes.Getattr, nodes.Getitem)):
            if isinstance(current, nodes.Getattr):
                parts.append(current.attr)
            elif isinstance(current.arg, nodes.Const) and isinstance(current.arg.value, str):
                parts.append(current.arg.value)
            elif isinstance(current.arg, nodes.Const) and isinstance(current.arg.value, int):
                parts.append("[]")
            else:
                parts.append(None)
            current = current.node
        if isinstance(current, nodes.Name):
            known = [current.name]
            for part in reversed(parts):
                if part is None:
                    break
                known.append(part)
            if len(known) > 1:
                yield tuple(known)


def _named(reads: frozenset[tuple[str, ...]], root: str) -> frozenset[str]:
    """The names read as `root.<name>` or `root['name']`."""
    return frozenset(read[1] for read in reads if read[0] == root and read[1] != "[]")
