"""Where journals are: the default one, each shard's beside it, what to say of one that is
not there; and opening one: to read, or to write (refusing another program's database,
bringing an earlier version's up to date)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from runner.errors import InputError
from runner.journal.rows import ADDED_COLUMNS, INTENT_LOG_SUFFIX, SCHEMA, as_journaled


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
    beside = _shards_beside(path) or "no run was journaled there"
    return f"there is no journal at {path} ({beside}; --journal PATH names another)"


def no_runs(path: Path) -> str:
    """What to say of a journal with no runs (a run refused before it began made it); shards'
    journals beside it are named."""
    beside = _shards_beside(path)
    return f"journal {path} has no runs yet" + (
        f" ({beside}; --journal PATH names one)" if beside else "")


def _shards_beside(path: Path) -> str:
    shards = [p.name for p in journals_beside(path)]
    return f"the shards' journals are beside it: {', '.join(shards)}" if shards else ""


def folders_to_make(path: Path) -> list[Path] | None:
    """The folders a journal at `path` needs made, innermost first; None if the journal is
    there (or the intent log a killed run left beside it): nothing to remove once used."""
    if path.exists() or Path(f"{path}{INTENT_LOG_SUFFIX}").exists():
        return None
    return [folder for folder in (path.parent, *path.parent.parents) if not folder.exists()]


_BESIDE = ("-wal", "-shm", INTENT_LOG_SUFFIX)  # the files SQLite and the intent log keep


def journal_files(path: Path) -> list[tuple[str, Path]]:
    """The journal at `path` and the files beside it, each named: what a report must not be
    written over."""
    return [("the journal", path), *((f"the journal's {suffix[1:]} file",
                                      Path(f"{path}{suffix}")) for suffix in _BESIDE)]


def remove_made(path: Path, folders: list[Path]) -> None:
    """Remove the journal at `path`, closed, which a command made and began no run in: its
    files, and the folders made for it (`folders_to_make`) while they hold nothing else."""
    for _, made in journal_files(path):
        made.unlink(missing_ok=True)
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def read_only(path: Path) -> sqlite3.Connection:
    """A connection to the database at `path` that changes nothing in it (`query_only`) and
    cannot create it. Not opened `mode=ro`: a read-only connection cannot remove the WAL files
    it makes, and would leave them beside a journal no run is writing."""
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True)
    db.execute("PRAGMA query_only = ON")
    return db


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


def open_to_write(path: Path) -> sqlite3.Connection:
    """A connection to the journal at `path`, made if it is not there, in WAL mode, its tables
    brought up to date; an InputError if the file is another program's database. Checkpoints
    are left to the writer (see JournalFile._checkpoint_soon)."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        _refuse_other_database(db, path)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA wal_autocheckpoint=0")
        db.executescript(SCHEMA)
        _add_missing_columns(db)
    except BaseException:
        db.close()
        raise
    return db


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One transaction of a connection in autocommit mode (isolation_level None, where
    `with db:` begins none): committed as the block ends, rolled back if it raises."""
    db.execute("BEGIN")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _refuse_other_database(db: sqlite3.Connection, path: Path) -> None:
    """An InputError if the file is another program's database: never add tables to it."""
    tables = sorted(name for name, in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'"))
    if tables and "runs" not in tables:
        raise InputError.plain(
            f"journal {path}: not a journal but another database (its tables: "
            f"{', '.join(tables[:5])}{', ...' if len(tables) > 5 else ''}); --journal PATH "
            "names a journal file, or where to start one")


def _add_missing_columns(db: sqlite3.Connection) -> None:
    """The columns a journal of an earlier version lacks (rows.ADDED_COLUMNS), added."""
    for table, columns in ADDED_COLUMNS.items():
        present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        for column in columns:
            if column.split()[0] not in present:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column}")


def held_elsewhere(path: Path, run_id: str) -> str | None:
    """What to say of `run_id` sought in `path` but journaled beside it (a shard's run sought
    without its --shard, or the other way); None if no journal beside has it."""
    held = next(((other, found[0][0]) for other, found in _found_beside(
        path, "SELECT shard FROM runs WHERE run_id = ?", run_id) if found), None)
    if held is None:
        return None
    other, shard = held
    resume = (f"a run of shard {shard}: --shard {shard} resumes it" if shard else
              "a run without --shard: leave --shard out to resume it")
    return (f"journal {path} has no run {run_id!r}; {other} has it ({resume}, --journal "
            f"{other} reads it)")


def check_same_split(path: Path, file: str, shard: str | None,
                     inputs: Mapping[str, Any]) -> None:
    """An InputError if a run of playbook `file` with these inputs was begun split otherwise
    than `shard` (journaled beside `path`): a new run split so would make its items again."""
    found = _split_otherwise(path, file, shard, inputs)
    if found is None:
        return
    other, run_id, its_shard = found

    def split(shard: str | None) -> str:
        return f"--shard {shard}" if shard else "no --shard"

    raise InputError.plain(
        f"run {run_id} of this playbook, with these inputs, was begun with {split(its_shard)} "
        f"(journal {other}); a new run with {split(shard)} would make its items again. A "
        "campaign goes on split as it began (with --resume latest, each shard's job resumes "
        "its own share); leave out --resume to start a new run anyway")


def _split_otherwise(path: Path, file: str, shard: str | None,
                     inputs: Mapping[str, Any]) -> tuple[Path, str, str | None] | None:
    """A run of playbook `file` with these inputs in a journal beside `path` whose split is
    not `shard`'s: another shard count, or sharded where `shard` is None, or the other way
    (the other shards of the same count are the same split). That journal, the run, and its
    shard."""
    def count(shard: str | None) -> str | None:
        return shard.partition("/")[2] if shard else None

    wanted = as_journaled(inputs)
    for other, runs in _found_beside(path, "SELECT run_id, shard, inputs FROM runs WHERE "
                                     "file = ? ORDER BY started_at DESC", file):
        for run_id, its_shard, journalled in runs:
            if count(its_shard) != count(shard) and json.loads(journalled) == wanted:
                return other, str(run_id), its_shard
    return None


def _found_beside(path: Path, query: str, *parameters: Any) -> Iterator[tuple[Path, list[Any]]]:
    """Each journal beside `path` (`journals_beside`) that can be read, and what `query`
    finds in it."""
    for other in journals_beside(path):
        try:
            with closing(read_only(other)) as db:
                found = db.execute(query, parameters).fetchall()
        except sqlite3.Error:
            continue
        yield other, found
