"""Playbook values (a scalar, a list or a mapping) with their template strings compiled."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from runner.errors import Location
from runner.templating.template import Template, compile_template, is_template


class TemplatedValue:
    """A playbook value (scalar, list or mapping) with its template strings compiled."""

    def __init__(self, raw: Any, locate: Callable[[tuple[str | int, ...]], Location]) -> None:
        self.templates: list[Template] = []
        self._tree = self._compile(raw, (), locate)

    def _compile(self, raw: Any, path: tuple[str | int, ...],
                 locate: Callable[[tuple[str | int, ...]], Location]) -> Any:
        if is_template(raw):
            template = compile_template(raw, locate(path))
            self.templates.append(template)
            return template
        if isinstance(raw, dict):
            return {k: self._compile(v, (*path, k), locate) for k, v in raw.items()}
        if isinstance(raw, list):
            return [self._compile(v, (*path, i), locate) for i, v in enumerate(raw)]
        return raw

    @property
    def source(self) -> str:
        """The value as the playbook writes it: a lone template's text, else JSON with each
        template's text in its place."""
        if isinstance(self._tree, Template):
            return self._tree.source
        return json.dumps(_source_tree(self._tree), ensure_ascii=False)

    @property
    def names(self) -> frozenset[str]:
        return frozenset().union(*(t.names for t in self.templates))

    @property
    def keys(self) -> frozenset[str] | None:
        """The keys of a mapping value (outputs: {id: ...}); None for any other value."""
        return frozenset(map(str, self._tree)) if isinstance(self._tree, dict) else None

    @property
    def step_refs(self) -> frozenset[str]:
        return frozenset().union(*(t.step_refs for t in self.templates))

    @property
    def step_fields(self) -> frozenset[tuple[str, str]]:
        return frozenset().union(*(t.step_fields for t in self.templates))

    @property
    def input_refs(self) -> frozenset[str]:
        return frozenset().union(*(t.input_refs for t in self.templates))

    def render(self, scope: Mapping[str, Any]) -> Any:
        return _render_tree(self._tree, scope) if self.templates else self._tree

    def render_entries(self, scope: Mapping[str, Any], wanted: Callable[[Template], bool],
                       ) -> Iterator[tuple[str, Any, Template]]:
        """Of a mapping value, each templated entry whose every template is `wanted`: its key,
        its rendered value and its first template."""
        if not isinstance(self._tree, dict):
            return
        for key, tree in self._tree.items():
            templates = list(_templates_in(tree))
            if templates and all(map(wanted, templates)):
                yield str(key), _render_tree(tree, scope), templates[0]


def _templates_in(tree: Any) -> Iterator[Template]:
    if isinstance(tree, Template):
        yield tree
    elif isinstance(tree, dict | list):
        for branch in tree.values() if isinstance(tree, dict) else tree:
            yield from _templates_in(branch)


def _source_tree(tree: Any) -> Any:
    if isinstance(tree, Template):
        return tree.source
    if isinstance(tree, dict):
        return {k: _source_tree(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_source_tree(v) for v in tree]
    return tree


def _render_tree(tree: Any, scope: Mapping[str, Any]) -> Any:
    if isinstance(tree, Template):
        return tree.render(scope)
    if isinstance(tree, dict):
        return {k: _render_tree(v, scope) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_render_tree(v, scope) for v in tree]
    return tree
