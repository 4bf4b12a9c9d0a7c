"""Where the shipped schemas and specs are, installed or in a source checkout."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@cache
def data_dir(kind: str) -> Path:
    """The folder of shipped `schemas` or `specs`.

    A wheel carries them inside the package (`runner/_data/`, see pyproject.toml); a source
    checkout or an editable install reads the top-level folders authors edit.
    """
    if kind not in ("schemas", "specs"):
        raise ValueError(f"unknown data kind {kind!r}")
    installed = _PACKAGE / "_data" / kind
    return installed if installed.is_dir() else _PACKAGE.parent / kind
