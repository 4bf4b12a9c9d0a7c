"""Where journals are: the default one, each shard's beside it, what to say of one that is
not there; and opening one to read."""

from __future__ import annotations

import os
import re
import sqlite3
from contextlib import closing
from pathlib import Path

from runner.errors import InputError


def default_path() -> Path:
    """$OUTBOUND_JOURNAL, else .outbound/journal.sqlite in the working directory."""
    return Path(os.environ.get("OUTBOUND_JOURNAL") or Path(".outbound") / "journal.sqlite")


def shard_journal(path: Path, number: int, count: int) -> Path:
    """Where shard `number` of `count` keeps its journal, beside `path`."""
    return path.with_name(f"{path.stem}.shard-{number}-of-{count}{path.suffix}")


_SHARD_NAME = re.compile(r"\.shard-\d+-of-\d+$")  # how shard_journal ends a journal's stem


def journals_beside(path: Path) -> list[Path]:
    """The other journals of `path`'s name beside it: the one of runs without --shard and each
    shard's (`shard_journal`)."""
    base = _SHARD_NAME.sub("", path.stem)
    return [other for other in sorted(path.parent.glob(f"{base}*{path.suffix}"))
            if other != path and _SHARD_NAME.sub("", other.stem) == base]


def not_there(path: Path) -> str:
    """What to say of a journal that is not there; shards' journals beside it are named."""
    shards = [p.name for p in journals_beside(path)]
    elsewhere = (f"the shards' journals are beside it: {', '.join(shards)}" if shards
                 else "no run was journaled there")
    return f"there is no journal at {path} ({elsewhere}; --journal PATH names another)"


def read_only(path: Path) -> sqlite3.Connection:
    """A connection to the database at `path` that can neither write nor create it."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def check_is_journal(path: Path) -> None:
    """An InputError unless `path` is a journal: there, and holding the runs table."""
    if not path.is_file():
        raise InputError.plain(not_there(path))
    try:
        with closing(read_only(path)) as db:
            found = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = "
                               "'runs'").fetchone()
    except sqlite3.Error as exc:
        raise InputError.plain(f"journal {path}: cannot be opened ({exc})") from None
    if found is None:
        raise InputError.plain(f"journal {path}: not a journal (it has no runs); --journal "
                               "PATH names the journal file")
