"""The run journal: one SQLite file recording every run and every call, so nothing is lost.

Each call has an *intent* (step, iteration, endpoint, rendered params), recorded before the
request is sent, and an *outcome* (HTTP status, result code, duration), recorded after. Each
item's result (the record later steps read) is written when the item finishes. A crash, a kill
or a failure therefore leaves an exact account: `--resume` skips finished items, feeds their
recorded results to later steps, looks up creates (and other writes) whose outcome is unknown
(an intent with no outcome) before deciding to send them again, and never sends again one the
vendor answered ok (its answer is kept, for the item to finish from). A write of unknown
outcome that no reconcile can look up waits for its operator, who asks the vendor and records
the answer with `outbound runs resolve` (`resolve()`).

Everything written goes through the redactor first: no secret reaches the file. The file uses
WAL with `synchronous=NORMAL`: a committed row survives the process being killed.
"""

from runner.journal.completion import items_to_settle, newest_runs, playbooks_run
from runner.journal.history import Journal
from runner.journal.paths import default_path, no_runs, not_there, shard_journal
from runner.journal.rows import (
    ANSWER_KEPT,
    BY_HAND,
    GROUP_SECONDS,
    INTENT_LOG_SUFFIX,
    RESOLUTIONS,
    WHOLE_STEP,
    AnsweredWrite,
    Pruned,
    Recorded,
    UnknownWrite,
    item_path,
    key_of,
)
from runner.journal.store import JournalFile, new_run_id

__all__ = [
    "ANSWER_KEPT",
    "BY_HAND",
    "GROUP_SECONDS",
    "INTENT_LOG_SUFFIX",
    "RESOLUTIONS",
    "WHOLE_STEP",
    "AnsweredWrite",
    "Journal",
    "JournalFile",
    "Pruned",
    "Recorded",
    "UnknownWrite",
    "default_path",
    "item_path",
    "items_to_settle",
    "key_of",
    "new_run_id",
    "newest_runs",
    "no_runs",
    "not_there",
    "playbooks_run",
    "shard_journal",
]
