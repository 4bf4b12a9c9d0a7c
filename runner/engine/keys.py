"""A for_each's `key`: each item's declared identity, and the iteration it runs as.

Without a key, an item is known by its place in the list, and `--resume` matches the items
it finished, and its writes of unknown outcome, to this attempt's items by place. That holds
for a list that stands as recorded (the inputs, a list step's items), but not for a stream,
which is read again: a task that left the list moves every later one a place along, so the
first item after it would pass as finished while never made, and a task that came in would
have the last one made twice. A key (`"{{ task.task_id }}"`) is kept with each item's calls
and its row, and an item keeps the iteration its key had before, wherever the list now has it.
The run keeps each for_each's key as it began, and each keyless one's list as written; a
resume whose playbook changed either is refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.engine.calls import endpoint_of
from runner.errors import InputError, OutboundError, iteration
from runner.journal import Journal, Recorded, UnknownWrite
from runner.playbook import Playbook, Step
from runner.secrets import REDACTOR
from runner.templating import same_source


class RepeatedItem(Exception):
    """An item whose key an earlier item of the same attempt had: it is skipped, not made
    twice (a paginated list that moved while it was read shows an item on two pages)."""


@dataclass
class ItemKeys:
    """Places the items of one for_each with a `key` (see the module's docstring)."""

    step: Step
    journal: Journal | None
    resume: Recorded | None
    known: Mapping[str, int]  # key -> iteration, of the attempts before
    fresh_from: int  # where new items' iterations start: past every one used before
    # the iterations the attempts before gave items whose key did not render, lowest first
    unnamed: list[int] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)  # the keys of this attempt's items

    @classmethod
    def of(cls, step: Step, journal: Journal | None, resume: Recorded | None,
           ) -> ItemKeys | None:
        if resume is not None:
            _check_same_key(step, resume)
            _check_same_list(step, resume)
        if step.key is None:
            return None
        known = resume.keys.get(step.id, {}) if resume is not None else {}
        fresh_from = resume.last_iteration[step.id] + 1 if resume is not None and known else 0
        forgotten = (journal.keyed_again(step.id) if resume is not None and journal is not None
                     else [])
        # given again only where new items are numbered past them: else a new one could have
        # the same
        return cls(step, journal, resume, known, fresh_from, forgotten if known else [])

    def fresh(self, index: int) -> int:
        """The iteration of the item at `index` of the list if its key is new to the run."""
        return self.fresh_from + index

    def unrendered(self, index: int) -> int:
        """The iteration of the item at `index`, whose key did not render. Known by nothing,
        such items are told apart by their order: each takes the lowest iteration the attempts
        before gave one of them and this one has not given again (so that the run names each
        as it did), else a fresh one."""
        return self.unnamed.pop(0) if self.unnamed else self.fresh(index)

    def place(self, index: int, scope: Mapping[str, Any]) -> tuple[int, str]:
        """The iteration the item at `index` runs as (its key's from the attempts before, or
        a new one), and its key as the journal has it. RepeatedItem if an earlier item of this
        attempt had its key; a TemplateError if the key does not render."""
        assert self.step.key is not None
        key = REDACTOR.text(_text(self.step.key.render(scope)))  # as the journal has it
        if key in self.seen:  # said alike for every repeat, so the console counts them
            raise RepeatedItem(f"{iteration(self.fresh(index), key)}: an earlier item had the "
                               "same key (the list shows it again): skipped, not run twice")
        placed = self.known.get(key, self.fresh(index))
        self.seen.add(key)
        if self.journal is not None and (self.resume is None or  # one finished stands as is
                                         self.resume.finished(self.step.id, placed) is None):
            self.journal.keyed(self.step.id, placed, key)
        return placed, key

    def gone(self) -> Gone:
        """What the attempts before had of the items whose key no item of this one has had
        (the list no longer has them)."""
        gone = Gone()
        if self.resume is None:
            return gone
        for key, at in self.known.items():
            if key in self.seen:
                continue
            done = self.resume.finished(self.step.id, at)
            if done is not None and done[0] == "ok":
                gone.records[at] = done[1]
            elif (answered := self.resume.answered_write(self.step.id, at)) is not None:
                how = ("an earlier resume's lookup found it" if answered.found else
                       "the vendor answered it; the item did not finish")
                gone.warnings.append(
                    f"{iteration(at, key)}: no longer in the list; its "
                    f"{endpoint_of(self.step).qualified_name} was made ({how}), and the step's "
                    "outputs do not have it")
            elif (unknown := self.resume.unknown_write(self.step.id, at)) is not None:
                gone.unknown.append((at, key, unknown))
        return gone


@dataclass
class Gone:
    """Of the items a keyed for_each's list no longer has: the records of those finished ok,
    which count among the step's outputs (they were made); a warning for each whose write
    was made while the item did not finish (it failed after, or a kill came first), which
    has no record to count; and each whose write's outcome is unknown, with its key, to look
    up (resume.gone_write)."""

    records: dict[int, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    unknown: list[tuple[int, str, UnknownWrite]] = field(default_factory=list)


def _check_same_key(step: Step, resume: Recorded) -> None:
    """An InputError if the step's key is not the one the earlier attempts went through its
    items with (added, changed or dropped since): its items would be matched to others, and
    some made twice."""
    source = step.key.source if step.key is not None else None
    now = _named(source)
    if resume.key_sources is None:  # a run from before keys were recorded: keyed items tell
        before, changed = "a key", step.key is None and step.id in resume.keys
    else:
        recorded = resume.key_sources.get(step.id)
        before = _named(recorded)
        changed = not same_source(recorded, source) and (
            step.id in resume.keys or resume.went_through(step.id))
    if changed:
        raise InputError.plain(
            f"the earlier attempts went through this for_each's items with {before}, and the "
            f"playbook's step {step.id!r} now has {now}: its items would be matched to others; "
            "resume with the playbook as it was, or start a new run")


def _check_same_list(step: Step, resume: Recorded) -> None:
    """An InputError if a for_each without a key goes through another list than its earlier
    attempts did (its template edited since): its items are matched to theirs by place, so
    each would be taken for another, and some made twice."""
    if step.key is not None or step.for_each is None or resume.list_sources is None:
        return
    before, now = resume.list_sources.get(step.id), step.for_each.source
    if before is None or same_source(before, now) or not resume.went_through(step.id):
        return  # (before None: a step new to the run, or keyed before)
    raise InputError.plain(
        f"the earlier attempts went through the items of {before!r} by their place, and the "
        f"playbook's step {step.id!r} now goes through {now!r}: its items would be matched to "
        "others; resume with the playbook as it was, or start a new run")


def item_rules(playbook: Playbook) -> tuple[dict[str, str], dict[str, str]]:
    """What a run records of its for_each steps as it begins, for a resume to check: each
    one's key template, and each keyless one's list as written."""
    keys = {step.id: step.key.source for step in playbook.steps if step.key is not None}
    lists = {step.id: step.for_each.source for step in playbook.steps
             if step.for_each is not None and step.key is None}
    return keys, lists


def _named(source: str | None) -> str:
    return "no key" if source is None else f"key {source!r}"


def identity(step: Step, scope: Mapping[str, Any]) -> Callable[[Any], Any]:
    """What decides an item's shard: its `key` where the for_each has one (the same item
    stays in its shard when its other fields change between the shards' reads of the
    list), else the item itself."""
    key = step.key
    if key is None:
        return lambda item: item

    def of(item: Any) -> Any:
        try:
            return _text(key.render({**scope, step.loop_var: item}))
        except OutboundError:  # its item fails as it starts, in the shard the item decides
            return item

    return of


def matched_by_place(step: Step, source: Step, resume: Recorded | None) -> str | None:
    """A warning for the resume of a for_each with no key over the stream of `source` (read
    again) that earlier attempts went through: its items are matched to theirs by place."""
    if resume is None or step.key is not None or not resume.went_through(step.id):
        return None
    return ("its list is streamed, so read again on resume, and with no key its items are "
            "matched to those the earlier attempts had by their place: right only if the list "
            "has not changed since (give the for_each a key, such as "
            f"\"{{{{ {step.loop_var}.{_id_field(source)} }}}}\", to match them by it)")


def _id_field(source: Step) -> str:
    """The field of a list's items that most likely identifies them: `id`, else the first
    the spec documents whose name ends in id (`task_id`, `appointId`)."""
    schema = source.endpoint.item_schema() if source.endpoint is not None else None
    fields = list(schema.get("properties", {})) if isinstance(schema, dict) else []
    return "id" if "id" in fields else next(
        (name for name in fields if name.lower().endswith("id")), "id")


def _text(value: Any) -> str:
    """A key as text: a string as it is, anything else (a number, a list of fields) as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
