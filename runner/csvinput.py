"""`--csv NAME=FILE`: a list input given as the rows of a CSV file, as a CRM exports customers.

The first row names the columns (split by commas, or by semicolons or tabs when it has no
comma), the ones the items require among them. Each further row is one item: an object of
its cells when the input's items are objects (each cell typed by its column's schema, an
empty cell left out), or the one column's cell when they are plain values. A row that
breaks the input's schema is reported at its line in the file.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from runner.errors import FileError, Finding, InputError, JsonPath, Location
from runner.playbook import Input, Origin, typed_text
from runner.validation import suggest


def read_csv_inputs(pairs: Sequence[str], inputs: Mapping[str, Input]
                    ) -> tuple[dict[str, list[Any]], dict[str, Origin]]:
    """Each `NAME=FILE` read as input NAME; the values, and where each came from."""
    values: dict[str, list[Any]] = {}
    origins: dict[str, Origin] = {}
    for pair in pairs:
        name, sep, file_name = pair.partition("=")
        if not (sep and name and file_name):
            raise InputError.plain(f"--csv {pair!r}: expected NAME=FILE")
        spec = inputs.get(name)
        if spec is None:
            raise InputError.plain(f"--csv {name}: the playbook has no input {name!r}"
                                   + suggest(name, inputs))
        if spec.schema.get("type") != "array":
            raise InputError.plain(f"--csv {name}: input {name!r} is not a list (type: array), "
                                   "so it cannot take a file's rows")
        values[name], lines = _rows(Path(file_name), spec.schema.get("items", {}))
        origins[name] = _origin(file_name, lines, name)
    return values, origins


def _origin(file_name: str, lines: list[int], name: str) -> Origin:
    def locate(path: JsonPath) -> Location:
        row = path[0] if path and isinstance(path[0], int) and path[0] < len(lines) else None
        return Location(file_name, None if row is None else lines[row], None, (name, *path))

    return locate


def _rows(path: Path, items: Mapping[str, Any]) -> tuple[list[Any], list[int]]:
    """The items the file's rows make, and the line each row starts on (a quoted cell may
    go on over lines: a remark with line breaks, as Excel exports it)."""
    whole_rows = items.get("type", "object") == "object"
    columns: Mapping[str, Any] = items.get("properties", {}) if whole_rows else {}
    rows: list[Any] = []
    lines: list[int] = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:  # -sig: Excel's BOM
            delimiter = _delimiter(handle.readline())
            handle.seek(0)
            reader = csv.reader(handle, delimiter=delimiter)
            header = [cell.strip() for cell in next(reader, [])]
            _check_header(path, header, whole_rows)
            _check_columns(path, header, items)
            ended = reader.line_num
            for cells in reader:
                line, ended = ended + 1, reader.line_num
                if not any(cell.strip() for cell in cells):
                    continue  # a blank line
                if len(cells) != len(header):
                    raise _at(path, line, f"{_count(len(cells), 'cell')}, but the header "
                              f"names {_count(len(header), 'column')}")
                if whole_rows:
                    rows.append({column: typed_text(cell, columns.get(column, {}))
                                 for column, cell in zip(header, cells, strict=True) if cell})
                else:
                    rows.append(typed_text(cells[0], items))
                lines.append(line)
    except OSError as exc:
        raise InputError.plain(f"--csv: cannot read {path} ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise InputError.plain(f"--csv: {path} is not UTF-8 text ({_saved_as(path)}save it "
                               "as CSV UTF-8)") from None
    except csv.Error as exc:
        raise _at(path, reader.line_num, str(exc)) from None
    return rows, lines


def _saved_as(path: Path) -> str:
    """What a file that is not UTF-8 reads as, when it is what Excel on a Chinese Windows
    saves (GB18030, which GBK is part of); the guess is said, never acted on."""
    try:
        path.read_bytes().decode("gb18030")
    except (OSError, UnicodeDecodeError):
        return ""
    return "it reads as GB18030, as Excel saves CSV on a Chinese Windows: "


def _delimiter(first_line: str) -> str:
    """A comma; or a semicolon or a tab, when the header is split by one and has no comma (as
    Excel saves CSV where the comma is the decimal mark, and as tab-separated exports are)."""
    if "," in first_line:
        return ","
    return max(";\t", key=first_line.count) if any(c in first_line for c in ";\t") else ","


def _check_columns(path: Path, header: list[str], items: Mapping[str, Any]) -> None:
    """Each column the items require is in the header (else every row would say so)."""
    if items.get("type", "object") != "object":
        return
    for column in items.get("required", []):
        if column not in header:
            raise _at(path, 1, f"no column {column!r}, which every item needs (the columns: "
                      f"{', '.join(header)})" + suggest(column, header))


def _check_header(path: Path, header: list[str], whole_rows: bool) -> None:
    if not header or not all(header):
        raise _at(path, 1, "the first row must name every column")
    twice = sorted({column for column in header if header.count(column) > 1})
    if twice:
        raise _at(path, 1, f"column {twice[0]!r} is named twice")
    if not whole_rows and len(header) != 1:
        raise _at(path, 1, f"the input's items are single values, so the file needs one "
                  f"column, not {len(header)}")


def _at(path: Path, line: int, message: str) -> FileError:
    return FileError([Finding(Location(str(path), line), message)])


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
