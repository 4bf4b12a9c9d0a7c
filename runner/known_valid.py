"""Files their schema has passed before, remembered from one command to the next.

Checking a spec against `schemas/spec.schema.json` costs 15-30 ms a spec (most of it checking
each JSON Schema the spec embeds against the 2020-12 metaschema), a tenth of a run's start-up,
spent again on every run of an unchanged spec. A file that passed leaves an empty marker
named by a digest of everything the verdict depends on: the file's kind, the data it holds
(not its bytes: a loader that reads them otherwise makes other data), the shipped schemas,
and the code that judges. Any change to one of them is another digest, checked afresh. Only
passes are remembered, so a broken file is found broken every time.

The markers live in `$OUTBOUND_CACHE_DIR`, else `$XDG_CACHE_HOME/outbound-runner`, else
`~/.cache/outbound-runner`; `OUTBOUND_CACHE_DIR=` (empty) turns them off. A cache that cannot
be read or written costs only the time.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from pathlib import Path
from typing import Any


def digest(kind: str, data: Any, judges: tuple[str | None, ...]) -> str | None:
    """What a pass of `data` as a `kind` of file is remembered by; None where it cannot be.

    `judges`: the files that decide the verdict (the schemas, a file of each package that
    judges, whose release pip installs as new files), each known by its size, time and inode;
    where one cannot be found, nothing is remembered.
    """
    stamps = _stamps(judges)
    if stamps is None:
        return None
    try:
        held = json.dumps(data, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError):  # not JSON-like data: nothing to name it by
        return None
    whole = hashlib.sha256(f"{kind}\0{stamps}\0".encode())
    whole.update(held.encode("utf-8", "surrogatepass"))
    return whole.hexdigest()


@cache
def _stamps(files: tuple[str | None, ...]) -> str | None:
    stamps = []
    for file in files:
        try:
            found = os.stat(file or "")
        except OSError:  # gone, or a package with no file: nothing to be sure of
            return None
        stamps.append(f"{file}:{found.st_ino}:{found.st_size}:{found.st_mtime_ns}")
    return "\n".join(stamps)


def passed_before(key: str | None) -> bool:
    folder = _folder()
    return key is not None and folder is not None and os.path.exists(folder / key)


def remember_pass(key: str | None) -> None:
    folder = _folder()
    if key is None or folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        os.close(os.open(folder / key, os.O_WRONLY | os.O_CREAT, 0o600))
    except OSError:
        pass  # a read-only home: checked again next time, as without a cache


def _folder() -> Path | None:
    """Where markers go; None for no cache: turned off, or no home to put it in (a container's
    user with no HOME and no passwd entry, whose "~" would be a folder named so)."""
    configured = os.environ.get("OUTBOUND_CACHE_DIR")
    if configured is not None:
        return Path(configured) / "valid" if configured else None
    base = Path(os.environ.get("XDG_CACHE_HOME", ""))  # relative: ignored, as XDG says
    if not base.is_absolute():
        base = Path(os.path.expanduser("~")) / ".cache"
    return base / "outbound-runner" / "valid" if base.is_absolute() else None
