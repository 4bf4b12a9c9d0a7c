"""Files the command writes (reports, cassettes): their folders made, their failures clear.

A report is asked for so that CI gets it: a folder that cannot be made is found before a run
sends anything, and a write that still fails (a full disk) is one error naming the option and
the file, not a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from runner.errors import InputError, RunError


def make_folder(option: str, folder: Path) -> None:
    """`folder` exists and can be written, or an InputError (exit 2) says why not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError.plain(f"{option}: cannot make the folder {folder} ({_why(exc)})"
                               ) from None
    if not os.access(folder, os.W_OK):
        raise InputError.plain(f"{option}: the folder {folder} cannot be written")


def write_out(option: str, path: Path, write: Callable[[Path], object], *,
              after_run: str = "") -> None:
    """Write `path` with `write`, its folder made first. A failure is an InputError (exit 2),
    or, after a run that happened (`after_run` says how it ended), a RunError (exit 1)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path)
    except OSError as exc:
        message = f"{option} {path}: cannot be written ({_why(exc)})"
        if after_run:
            raise RunError.plain(f"{message}; {after_run}") from None
        raise InputError.plain(message) from None


def check_apart(outputs: Sequence[tuple[str, Path | None]],
                inputs: Sequence[tuple[str, Path | None]]) -> None:
    """An InputError (exit 2) if a file the command writes is one it reads (a report named
    like the journal would write over every run it holds), or one another option writes.
    Each is (what it is, its path); a path is the same file by any name (a link, `./x`)."""
    read = {_identity(path): what for what, path in inputs if path is not None}
    written: dict[tuple[object, ...], str] = {}
    for option, path in outputs:
        if path is None:
            continue
        same = _identity(path)
        if same in read:
            raise InputError.plain(f"{option} {path} is {read[same]}: the report would be "
                                   "written over it; name another file")
        if same in written:
            raise InputError.plain(f"{option} {path} is the file {written[same]} writes "
                                   "too; give each its own")
        written[same] = option


def _identity(path: Path) -> tuple[object, ...]:
    try:
        found = path.stat()
    except OSError:
        return ("path", path.resolve())
    return ("file", found.st_dev, found.st_ino)


def _why(error: OSError) -> str:
    if isinstance(error, FileExistsError):  # mkdir of a folder whose name a file has
        return f"{error.filename} is a file, not a folder"
    return error.strerror or str(error)
