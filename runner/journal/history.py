"""What the journal holds, read back: runs, their calls, what `--resume` goes on from; and
the journal's upkeep (`runs resolve`, `runs prune`)."""

from __future__ import annotations

import json
import time
from collections.abc import Container, Iterable, Iterator, Mapping
from typing import Any

from runner.errors import InputError, OutboundError, why_in
from runner.errors import iteration as item_named
from runner.journal.attempts import ran_seconds
from runner.journal.paths import held_elsewhere, no_runs, transaction
from runner.journal.rows import (
    BY_HAND,
    FINISHED_ITEMS,
    INSERT_ITEM,
    NO_OUTCOME_WHY,
    PENDING,
    RECONCILED,
    RESOLUTIONS,
    UPDATE_OUTCOME,
    WHOLE_STEP,
    WRITES,
    AnsweredWrite,
    Pruned,
    Recorded,
    UnknownWrite,
    as_journaled,
    item_path,
    key_of,
    last_writes,
    loaded_json,
    masked_json,
)
from runner.journal.store import JournalFile
from runner.secrets import REDACTOR

_PRUNED = (  # the runs started before ?, but the newest of each playbook (and shard)
    "SELECT run_id FROM (SELECT run_id, started_at, ROW_NUMBER() OVER (PARTITION BY file, "
    "shard ORDER BY started_at DESC) AS place FROM runs) WHERE started_at < ? AND place > 1")


LOCK_TOLD = ("running", "killed")  # journalled alike as running (see Journal._status)


def _chosen(status: str | None, playbook: str | None) -> tuple[str, tuple[str, ...]]:
    """The WHERE clause (and its parameters) of the runs of `status` and `playbook`."""
    clauses, parameters = [], []
    if status is not None:
        clauses.append("r.status = ?")
        parameters.append("running" if status in LOCK_TOLD else status)
    if playbook is not None:
        clauses.append("(r.playbook = ? OR r.file = ?)")
        parameters += [playbook, playbook]
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(parameters)


class Journal(JournalFile):
    """A journal file, to write a run into (JournalFile) and to read runs back from."""

    def recorded(self, run_id: str) -> Recorded:
        """What run `run_id` finished, and which of its creates have an unknown outcome."""
        self._commit()
        row = self.db.execute("SELECT inputs, status, playbook, playbook_sha, item_keys, "
                              "item_lists FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise self._no_run(run_id)
        recorded = Recorded(run_id, json.loads(row[0]), row[1], row[2], row[3],
                            key_sources=json.loads(row[4]) if row[4] else None,
                            list_sources=json.loads(row[5]) if row[5] else None)
        for step, iteration, status, record, attempt in self.db.execute(
                "SELECT step, iteration, status, record, attempt FROM items WHERE run_id = ? "
                "AND status IN ('ok', 'skipped')", (run_id,)):
            recorded.items[(step, iteration)] = (status, json.loads(record) if record else None)
            recorded.attempts[(step, iteration)] = attempt
        recorded.answered, recorded.unknown = self._pending_writes(run_id, recorded.items)
        recorded.left_out = {(item["step"], key_of(item["iteration"])): item["reason"]
                             for item in self._left_out(run_id)}
        self._read_item_keys(recorded)
        return recorded

    def _left_out(self, run_id: str) -> list[dict[str, Any]]:
        """The items `runs resolve --skip` left out (`iteration 3 (key 12347): resolved by
        hand: ...`)."""
        return self._items_where(run_id, "status = 'skipped' AND reason LIKE ?",
                                 f"%{BY_HAND}%")

    def _items_where(self, run_id: str, condition: str, *parameters: Any
                     ) -> list[dict[str, Any]]:
        """The run's items that meet `condition`: step, iteration, key and reason each."""
        return [{"step": s, "iteration": None if i == WHOLE_STEP else i, "key": key,
                 "reason": why} for s, i, key, why in self.db.execute(
            f"SELECT step, iteration, key, reason FROM items WHERE run_id = ? AND {condition} "
            "ORDER BY step, iteration", (run_id, *parameters))]

    def _read_item_keys(self, recorded: Recorded) -> None:
        """The `key` of each item of a for_each that declares one, by step (the iteration it
        had, from its item's row, or from its calls if it never finished), and the highest
        iteration each of those steps used (an item whose key did not render has none)."""
        for step, key, iteration in self.db.execute(
                "SELECT step, key, iteration FROM items WHERE run_id = ? AND key IS NOT NULL "
                "UNION SELECT step, item_key, iteration FROM calls WHERE run_id = ? AND "
                "item_key IS NOT NULL", (recorded.run_id, recorded.run_id)):
            recorded.keys.setdefault(step, {})[key] = iteration
        for step, last in self.db.execute(
                "SELECT step, MAX(iteration) FROM (SELECT step, iteration FROM items WHERE "
                "run_id = ? UNION ALL SELECT step, iteration FROM calls WHERE run_id = ?) "
                "GROUP BY step", (recorded.run_id, recorded.run_id)):
            if step in recorded.keys:
                recorded.last_iteration[step] = last

    def _pending_writes(self, run_id: str, finished: Container[tuple[str, int]]) -> tuple[
            dict[tuple[str, int], AnsweredWrite], dict[tuple[str, int], UnknownWrite]]:
        """The writes (every kind but the reads, list and detail) of the items not `finished`,
        each item's last one: those answered ok, and those whose outcome is unknown."""
        return last_writes((row for row in self.db.execute(WRITES, (run_id,))
                            if row[4] in PENDING), finished)

    def world(self, run_id: str) -> dict[str, Any] | None:
        """The embedded simulator's world as --sim run `run_id` last left it, if it did."""
        self._commit()
        row = self.db.execute("SELECT world FROM sim_worlds WHERE run_id = ?",
                              (run_id,)).fetchone()
        world = loaded_json(row[0]) if row else None
        return world if isinstance(world, dict) else None

    def resolve(self, run_id: str, items: Iterable[tuple[str, int | None]], how: str,
                answer: Any = None) -> None:
        """Settle, as their operator found out, writes of run `run_id` (each item's, by step
        and iteration) whose outcome is unknown and which no `reconcile` can look up: `how`
        is one of RESOLUTIONS. An item that failed (a number the vendor refuses for good) can
        be skipped too. All are checked before any is settled."""
        recorded = self.recorded(run_id)
        settled = []
        for step, iteration in items:
            key = (step, key_of(iteration))
            unknown = recorded.unknown.get(key)
            item_key, before = ((unknown.item_key, "its write's outcome was unknown") if unknown
                                else self._failed_item(recorded, key, how))
            settled.append((key, unknown, item_key, before))
        said = BY_HAND + RESOLUTIONS[how]
        with transaction(self.db):
            for (step, iteration), unknown, item_key, before in settled:
                if how == "skip":  # its attempt: 0, it has no output to order; its reason
                    told = f"{said}; {before}"  # named as a failed item's is
                    if iteration != WHOLE_STEP:
                        told = f"{item_named(iteration, item_key)}: {told}"
                    self.db.execute(INSERT_ITEM, (run_id, step, iteration, "skipped", None,
                                                  told, time.time(), 0, item_key))
                elif unknown is not None:
                    ok = how == "answer"
                    self.db.execute(UPDATE_OUTCOME, (
                        time.time(), 200 if ok else None, None, "ok" if ok else "failed", None,
                        said, None, masked_json(answer) if ok else None, unknown.call_id))

    def _failed_item(self, recorded: Recorded, key: tuple[str, int],
                     how: str) -> tuple[str | None, str]:
        """The key of the item at `key` that failed, for `runs resolve --skip`, and what became
        of it; an InputError naming what can be settled if that is not what the item is."""
        run_id, (step, iteration) = recorded.run_id, key
        where = item_path(step, iteration)
        failed = self.db.execute("SELECT key, reason FROM items WHERE run_id = ? AND step = ? "
                                 "AND iteration = ? AND status = 'failed'",
                                 (run_id, step, iteration)).fetchone()
        if failed is None:
            pending = ", ".join(item_path(*item) for item in sorted(recorded.unknown))
            raise InputError.plain(
                f"run {run_id} has no write of unknown outcome at {where}"
                + (f" (those it has: {pending})" if pending else " (it has none)")
                + (", nor an item that failed there" if how == "skip" else ""))
        item_key, reason = failed
        if how != "skip":
            raise InputError.plain(f"{where} of run {run_id} failed, and --resume tries it "
                                   f"again (--skip leaves it out of the run): {reason}")
        if item_key is None and step in (recorded.key_sources or {}):
            raise InputError.plain(
                f"{where} of run {run_id} cannot be left out: its for_each's key did not render "
                "for it, so a resume cannot tell it from the others")
        return None if item_key is None else str(item_key), f"it had failed: {why_in(reason)}"

    def reconciled(self, call_id: int, *, found: Any, how: str) -> None:
        """An earlier attempt's write whose outcome was unknown, looked up by --resume (`how`
        says through what): made (ok), `found` the item of the spec's `reconcile` list that
        shows it, which a later resume goes by rather than look again; or not, `found` None
        (failed, and sent again unless its item's `when` is now false)."""
        made = found is not None
        row = (time.time(), 200 if made else None, None, "ok" if made else "failed", None,
               RECONCILED + REDACTOR.text(how), None, masked_json(found) if made else None,
               call_id)
        try:  # on disk at once, as an answer is: a kill before the commit keeps it
            self._logging().answer(row)
        except OSError as exc:
            self._failed(exc)  # the next intent is refused
        self._outcomes.append(row)
        self._commit_soon()

    def latest_of(self, file: str, shard: str | None,
                  inputs: Mapping[str, Any]) -> tuple[tuple[str, str] | None, str | None]:
        """(run id, status) of the newest run of playbook `file` (and shard) with these inputs
        (as journalled: masked alike), finished or not, if any; and the newest unfinished run
        with other inputs begun after it, if any."""
        self._commit()
        wanted = as_journaled(inputs)
        other = None
        for run_id, status, journalled in self.db.execute(
                "SELECT run_id, status, inputs FROM runs WHERE file = ? AND shard IS ? "
                "ORDER BY started_at DESC", (file, shard)):
            if json.loads(journalled) == wanted:
                return (str(run_id), str(status)), other
            if status != "ok":
                other = other or str(run_id)
        return None, other

    def prune(self, started_before: float, *, dry_run: bool = False) -> Pruned:
        """Remove every run started before `started_before` (a time.time()), with its calls,
        items and steps, and give the file the room back; but the newest run of each playbook
        (and shard) is kept however old: `--resume latest` goes by it, and without it the
        next scheduled job would take a finished campaign for one never run, and make it
        again. The caller holds the journal as its writer, so none of them is being run."""
        self._commit()
        (runs, unfinished), = self.db.execute(
            f"SELECT COUNT(*), COALESCE(SUM(status != 'ok'), 0) FROM runs WHERE run_id IN "
            f"({_PRUNED})", (started_before,))
        calls, = self.db.execute(f"SELECT COUNT(*) FROM calls WHERE run_id IN ({_PRUNED})",
                                 (started_before,)).fetchone()
        kept, kept_old = self.db.execute("SELECT COUNT(*) - ?, COALESCE(SUM(started_at < ?), 0) "
                                       "- ? FROM runs", (runs, started_before, runs)).fetchone()
        if dry_run or not runs:
            return Pruned(runs, unfinished, calls, kept, kept_old)
        with transaction(self.db):
            for table in ("calls", "items", "steps", "sim_worlds", "attempts", "runs"):
                self.db.execute(f"DELETE FROM {table} WHERE run_id IN ({_PRUNED})",
                                (started_before,))
        self.db.execute("VACUUM")
        return Pruned(runs, unfinished, calls, kept, kept_old)

    def has_run(self, run_id: str) -> bool:
        self._commit()
        return self.db.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() \
            is not None

    def _no_run(self, run_id: str) -> OutboundError:
        held = held_elsewhere(self.path, run_id)
        if held is not None:
            return InputError.plain(held)
        known = [r[0] for r in self.db.execute(
            "SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 5")]
        return InputError.plain(f"journal {self.path} has no run {run_id!r}"
                                + (f" (latest: {', '.join(known)})" if known else ""))

    def run_id_of(self, given: str) -> str:
        """`given`, or for "latest" the id of the newest run."""
        if given != "latest":
            return given
        newest = self.runs(1)
        if not newest:
            raise InputError.plain(no_runs(self.path))
        return str(newest[0]["run_id"])

    def run_count(self, status: str | None = None, playbook: str | None = None) -> int:
        """How many runs there are (of `status`, of `playbook`: see `runs`)."""
        where, parameters = _chosen(status, playbook)
        found = self.db.execute(f"SELECT run_id, status FROM runs r{where}", parameters)
        return sum(status not in LOCK_TOLD or self._status(run_id, recorded) == status
                   for run_id, recorded in found)

    def runs(self, limit: int | None = 50, *, status: str | None = None,
             playbook: str | None = None) -> list[dict[str, Any]]:
        """The newest `limit` runs (None: every run), newest first; only those of `status`
        and of `playbook` (its name, or its file as the run was given it), where given."""
        self._commit()
        where, parameters = _chosen(status, playbook)
        told = status in LOCK_TOLD  # running or killed: only the lock tells them apart
        rows = self.db.execute(
            "SELECT r.run_id, r.playbook, r.status, r.exit_code, r.started_at, r.finished_at,"
            " r.shard, r.resumed, (SELECT COUNT(*) FROM calls c WHERE c.run_id = r.run_id),"
            " (SELECT COUNT(*) FROM items i WHERE i.run_id = r.run_id AND i.status = 'failed')"
            f" FROM runs r{where} ORDER BY r.started_at DESC LIMIT ?",
            (*parameters, -1 if limit is None or told else limit))
        keys = ("run_id", "playbook", "status", "exit_code", "started_at", "finished_at",
                "shard", "resumed", "calls", "failed_items")
        found = [dict(zip(keys, row, strict=True)) for row in rows]
        for run in found:
            run["status"] = self._status(run["run_id"], run["status"])
        if told:
            found = [run for run in found if run["status"] == status][:limit]
        for run in found:
            run["ran_s"] = ran_seconds(self.db, run["run_id"])
        return found

    def _status(self, run_id: str, status: str) -> str:
        """`killed` for a run recorded as running that no process is writing (the lock on
        the intent log ends with its process, however it ended); `--resume` continues it."""
        if status != "running" or self._others_writing or run_id == self.run_id:
            return status
        return "killed"

    def run(self, run_id: str) -> dict[str, Any]:
        """One run: its row, steps, failed items and calls."""
        self._commit()
        row = self.db.execute("SELECT run_id, playbook, file, inputs, shard, started_at, "
                              "finished_at, status, exit_code, outputs, error, resumed, "
                              "warnings FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise self._no_run(run_id)
        keys = ("run_id", "playbook", "file", "inputs", "shard", "started_at", "finished_at",
                "status", "exit_code", "outputs", "error", "resumed", "warnings")
        run = dict(zip(keys, row, strict=True))
        run["status"] = self._status(run_id, run["status"])
        run["ran_s"] = ran_seconds(self.db, run_id)
        run["inputs"] = json.loads(run["inputs"])
        run["outputs"] = json.loads(run["outputs"]) if run["outputs"] else {}
        run["warnings"] = loaded_json(run["warnings"]) or []
        run["steps"] = self._steps(run_id, run["status"])
        run.update(self._failed_and_unknown(run_id))
        run.update(self._calls_by_outcome(run_id))
        return run

    def _steps(self, run_id: str, run_status: str) -> list[dict[str, Any]]:
        """The run's steps in the order they finished, then those it did not finish."""
        step_keys = ("step", "status", "calls", "iterations", "succeeded", "skipped", "failed",
                     "retries", "duration", "error")
        steps = [dict(zip(step_keys, r, strict=True)) for r in self.db.execute(
            f"SELECT {', '.join(step_keys)} FROM steps WHERE run_id = ? ORDER BY finished_at",
            (run_id,))]
        made: dict[str, int] = dict(self.db.execute(  # each step's calls, in order of its first
            "SELECT step, COUNT(*) FROM calls WHERE run_id = ? GROUP BY step ORDER BY MIN(id)",
            (run_id,)))
        for step in steps:  # every attempt's, a killed one's too
            step["calls"] = made.get(step["step"], 0)
        return steps + self._unfinished_steps(run_id, run_status, made,
                                              {s["step"] for s in steps})

    def _failed_and_unknown(self, run_id: str) -> dict[str, Any]:
        """The run's failed items, its writes of unknown outcome, and the items `runs resolve
        --skip` left out (`failures`, `unknown_writes`, `left_out`)."""
        failures = self._items_where(run_id, "status = 'failed'")
        finished = set(self.db.execute(FINISHED_ITEMS, (run_id,)))
        unknown = [
            {"step": step, "iteration": None if iteration == WHOLE_STEP else iteration,
             "key": write.item_key, "endpoint": write.endpoint, "params": write.params,
             "why": (write.error or NO_OUTCOME_WHY).removeprefix(f"{write.endpoint}: ")}
            for (step, iteration), write in sorted(self._pending_writes(run_id, finished)[1]
                                                   .items())]
        return {"failures": failures, "unknown_writes": unknown,
                "left_out": self._left_out(run_id)}

    def answers(self, run_id: str) -> list[tuple[str, str | None, int | None, int]]:
        """How many of each step's calls had each answer: (step, result code, HTTP status,
        calls); both None where no answer came."""
        self._commit()
        return self.db.execute("SELECT step, result_code, status, COUNT(*) FROM calls WHERE "
                               "run_id = ? GROUP BY 1, 2, 3 ORDER BY MIN(id)",
                               (run_id,)).fetchall()

    def _calls_by_outcome(self, run_id: str) -> dict[str, dict[str, int]]:
        """The run's calls counted by outcome (`calls`), and of those not ok, how many their
        item went on from (`calls_tried_again`): a poll until the call has ended, a retry, a
        write reconciled and sent again (a later call of its item to its endpoint)."""
        calls = dict(self.db.execute(
            "SELECT COALESCE(outcome, 'no outcome'), COUNT(*) FROM calls WHERE run_id = ? "
            "GROUP BY 1", (run_id,)))
        tried_again = dict(self.db.execute(
            "SELECT COALESCE(outcome, 'no outcome'), COUNT(*) FROM calls AS c WHERE run_id = ? "
            "AND outcome IS NOT 'ok' AND EXISTS (SELECT 1 FROM calls AS later WHERE "
            "later.run_id = c.run_id AND later.step = c.step AND later.iteration = c.iteration "
            "AND later.endpoint = c.endpoint AND later.id > c.id) GROUP BY 1", (run_id,)))
        return {"calls": calls, "calls_tried_again": tried_again}

    def _unfinished_steps(self, run_id: str, run_status: str, made: dict[str, int],
                          finished: set[str]) -> list[dict[str, Any]]:
        """The steps a run was in when it stopped (killed, interrupted) or is in now, counted
        from their calls (`made`, by step) and items: a step's own row is written when it ends."""
        status = run_status if run_status in ("running", "killed", "interrupted") else \
            "unfinished"
        steps: dict[str, dict[str, Any]] = {}
        for step, calls in made.items():
            if step not in finished:
                steps[step] = {"step": step, "status": status, "calls": calls,
                               "iterations": 0, "succeeded": 0, "skipped": 0, "failed": 0,
                               "retries": None, "duration": None, "error": None}
        counted = {"ok": "succeeded", "skipped": "skipped", "failed": "failed"}
        for step, item_status, count in self.db.execute(
                "SELECT step, status, COUNT(*) FROM items WHERE run_id = ? GROUP BY step, "
                "status", (run_id,)):
            if step in steps and item_status in counted:
                steps[step][counted[item_status]] += count
                steps[step]["iterations"] += count
        return list(steps.values())

    def calls(self, run_id: str) -> Iterator[dict[str, Any]]:
        """Every call of a run, in order, with its intent and outcome."""
        self._commit()
        keys = ("step", "iteration", "endpoint", "kind", "params", "sent_at", "finished_at",
                "status", "result_code", "outcome", "duration", "error", "facts", "response")
        for row in self.db.execute(f"SELECT {', '.join(keys)} FROM calls WHERE run_id = ? "
                                   "ORDER BY id", (run_id,)):
            call = dict(zip(keys, row, strict=True))
            call["iteration"] = None if call["iteration"] == WHOLE_STEP else call["iteration"]
            for key in ("params", "facts", "response"):
                call[key] = loaded_json(call[key])
            yield call
