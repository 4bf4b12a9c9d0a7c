"""Where journals are: the default one, each shard's beside it, and what to say of one that
is not there."""

from __future__ import annotations

import os
import re
from pathlib import Path


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
