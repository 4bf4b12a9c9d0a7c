"""YAML in, plain JSON-like data out, with the line and column of every node kept.

The scalars follow YAML 1.2's core schema rather than PyYAML's YAML 1.1 default, because the
1.1 rules silently change what authors wrote: ``no`` becomes False, ``2023-03-01`` a date,
``0200001`` the number 200001. Here:

* ``true``/``false`` are booleans, ``null``/``~``/empty is null; ``yes``, ``no``, ``on``, ``off``
  and dates stay strings;
* a number written with a leading zero (``0200001``, ``00604``) stays a string: in this domain
  it is a result code or a phone number, never arithmetic;
* mapping keys are always the text as written;
* duplicate keys, non-scalar keys and custom tags are errors with a position.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from runner.errors import FileError, Finding, JsonPath, Location

_MAX_NODES = 1_000_000  # an alias bomb expands past this long before memory runs out

_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"

_CORE_SCALARS = [
    (_NULL, re.compile(r"^(?:~|null|Null|NULL|)$"), [*"~nN", ""]),
    (_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")),
    (_INT, re.compile(r"^(?:[-+]?(?:0|[1-9][0-9]*)|0o[0-7]+|0x[0-9a-fA-F]+)$"),
     list("-+0123456789")),
    (_FLOAT, re.compile(
        r"^(?:[-+]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"), list("-+0123456789.")),
]


class _CoreResolver(BaseResolver):
    """Resolves plain scalars by YAML 1.2's core schema (with the leading-zero rule above)."""


for _tag, _regexp, _first in _CORE_SCALARS:
    _CoreResolver.add_implicit_resolver(_tag, _regexp, _first)


class _Loader(Reader, Scanner, Parser, Composer, SafeConstructor, _CoreResolver):
    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        _CoreResolver.__init__(self)


_C_LOADER: type | None = None
if yaml.__with_libyaml__:  # libyaml parses about 6 times faster; positions are the same
    from yaml.cyaml import CParser  # type: ignore[attr-defined]

    class _CLoader(CParser, SafeConstructor, _CoreResolver):
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            SafeConstructor.__init__(self)
            _CoreResolver.__init__(self)

    _C_LOADER = _CLoader


@dataclass(frozen=True)
class Document:
    """A loaded YAML file: its data and where each node of it was written."""

    data: Any
    file: str
    value_marks: Mapping[JsonPath, tuple[int, int]]
    key_marks: Mapping[JsonPath, tuple[int, int]]
    sha256: str = ""  # of the file's bytes as read (a journal tells an edited playbook by it)

    def locate(self, path: JsonPath, *, key: bool = False) -> Location:
        """The position of `path`, or of its nearest ancestor that was written in the file.

        With `key`, a mapping entry is located at its key rather than its value, which is where
        an author looks for an unknown or misspelled key.
        """
        marks = self.key_marks if key else self.value_marks
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            found = marks.get(prefix) or self.value_marks.get(prefix)
            if found:
                return Location(self.file, found[0], found[1], path)
        return Location(self.file, None, None, path)


def load_file(path: str | Path) -> Document:
    """Read and parse one YAML file; any problem is a `FileError` with a position."""
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise FileError.at(Location(name), "no such file") from None
    except OSError as exc:
        raise FileError.at(Location(name), f"cannot be read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        raise FileError.at(Location(name), f"not UTF-8 text ({exc.reason})") from None
    return dataclasses.replace(load_text(text, name), sha256=hashlib.sha256(raw).hexdigest())


def load_text(text: str, file: str = "<string>") -> Document:
    """Parse YAML text (one document) into a `Document`."""
    if _C_LOADER is not None:
        try:
            return _load(_C_LOADER(text), file)
        except (yaml.YAMLError, RecursionError):
            pass  # the pure-Python parser says exactly what and where, below
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:
        raise FileError.at(Location(file), f"invalid YAML: {exc.reason} "
                           f"(character {exc.position + 1})") from None
    try:
        return _load(loader, file)
    except yaml.MarkedYAMLError as exc:
        raise FileError([_finding_from_yaml(exc, file)]) from None
    except yaml.YAMLError as exc:
        raise FileError.at(Location(file), f"invalid YAML: {exc}") from None
    except RecursionError:
        raise FileError.at(Location(file), "the document is nested too deeply") from None


def _load(loader: Any, file: str) -> Document:
    try:
        root = loader.get_single_node()
        builder = _Builder(loader, file)
        data = None if root is None else builder.build(root, ())
    finally:
        loader.dispose()
    return Document(data, file, builder.value_marks, builder.key_marks)


def _finding_from_yaml(exc: yaml.MarkedYAMLError, file: str) -> Finding:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or "invalid YAML"
    if "'\\t'" in problem or "\t" in problem:
        problem = "a tab character; YAML indentation must use spaces"
    elif problem == "but found another document":
        problem = "a second document starts here (after '---'), and the file must hold one"
    elif problem == "mapping values are not allowed here":
        problem = ("a ': ' where no key may start: quote the value if it is text that holds "
                   "one, or check this line's indentation")
    elif "<block end>" in problem:  # a line indented other than its block
        problem = f"{_tokens_named(problem)}: check this line's indentation"
    elif exc.context:
        problem = f"{_tokens_named(problem)} ({_context(exc)})"
    location = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
    return Finding(location, f"invalid YAML: {problem}")


_CONTEXT_NAMES = {"a flow mapping": "a {...} mapping", "a flow sequence": "a [...] list",
                  "a quoted scalar": "a quoted text", "a plain scalar": "a value",
                  "a block scalar": "a | or > text", "a simple key": "a key",
                  "a block mapping": "a mapping", "a block collection": "a list or mapping"}


def _context(exc: yaml.MarkedYAMLError) -> str:
    """What PyYAML was reading ("while parsing a flow sequence"), in words, and where it
    starts when that is elsewhere: the '[' never closed, the quote never ended."""
    context = str(exc.context)
    for name, words in _CONTEXT_NAMES.items():
        context = context.replace(name, words)
    start, problem = exc.context_mark, exc.problem_mark
    if start is not None and (problem is None or (start.line, start.column)
                              != (problem.line, problem.column)):
        context += f" that starts at {start.line + 1}:{start.column + 1}"
    return context


_TOKEN_NAMES = {"<block end>": "the block to end", "'?'": "a key",
                "'<block sequence start>'": "a list item", "'<block mapping start>'": "a key",
                "'<stream end>'": "the end of the file", "'<scalar>'": "a value",
                "found unexpected end of stream": "the file ended first"}


def _tokens_named(problem: str) -> str:
    """PyYAML's names of tokens ('<block end>', '?') and of the file's end in words."""
    for token, words in _TOKEN_NAMES.items():
        problem = problem.replace(token, words)
    return problem


class _Builder:
    """Turns the composed node tree into plain data, recording every node's position."""

    def __init__(self, loader: Any, file: str) -> None:
        self.loader = loader
        self.file = file
        self.value_marks: dict[JsonPath, tuple[int, int]] = {}
        self.key_marks: dict[JsonPath, tuple[int, int]] = {}
        self.nodes = 0

    def build(self, node: Node, path: JsonPath) -> Any:
        self.nodes += 1
        if self.nodes > _MAX_NODES:
            raise self._error(node, f"more than {_MAX_NODES} nodes (an alias bomb?)")
        self.value_marks.setdefault(path, _position(node))
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        return self._scalar(node)

    def _mapping(self, node: MappingNode, path: JsonPath) -> dict[str, Any]:
        self.loader.flatten_mapping(node)  # resolves `<<` merge keys
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if _unquoted_template(node, key_node):
                raise self._error(node, "a template must be quoted in YAML: unquoted, '{{' "
                                  "starts a mapping in a mapping; write \"{{ ... }}\"")
            if not isinstance(key_node, ScalarNode):
                raise self._error(key_node, "a mapping key must be a plain value")
            key = str(key_node.value)
            if key in result:
                first = self.key_marks[(*path, key)][0]
                raise self._error(key_node,
                                  f"duplicate key {key!r} (first written on line {first})")
            self.key_marks[(*path, key)] = _position(key_node)
            result[key] = self.build(value_node, (*path, key))
        return result

    def _scalar(self, node: ScalarNode) -> Any:
        text: str = node.value
        if node.tag == _STR or node.style:  # quoted or block; plain is None ('' from libyaml)
            return text
        if node.tag == _NULL:
            return None
        if node.tag == _BOOL:
            return text.lower() == "true"
        if node.tag == _INT:
            try:
                return int(text, 0)
            except ValueError:  # past Python's 4,300-digit limit for text to int
                raise self._error(node, f"the number has {len(text)} digits; too long") from None
        if node.tag == _FLOAT:
            return float(text.lower().replace(".inf", "inf").replace(".nan", "nan"))
        raise self._error(node, f"the tag {node.tag} is not supported")

    def _error(self, node: Node, message: str) -> FileError:
        line, column = _position(node)
        return FileError([Finding(Location(self.file, line, column), message)])


def _unquoted_template(node: MappingNode, key_node: Node) -> bool:
    """`{{ ... }}` left unquoted: YAML reads a flow mapping whose key is another, opened by
    the very next character."""
    return (node.flow_style is True and isinstance(key_node, MappingNode)
            and key_node.start_mark.line == node.start_mark.line
            and key_node.start_mark.column == node.start_mark.column + 1)


def _position(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1
