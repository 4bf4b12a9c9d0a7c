"""The items a for_each runs: this shard's share of them, handed to its workers one by one."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from runner.errors import TemplateError
from runner.playbook import Step, step_reads

END: Any = object()  # what a Puller returns once the items are all handed out


@dataclass(frozen=True)
class Shard:
    """`--shard K/N`: the items of a for_each whose hash falls to shard K of N (the for_each
    steps `split_steps` names)."""

    number: int
    count: int

    def owns(self, identity: Any) -> bool:
        """Whether the item `identity` stands for (the item, or its for_each's `key`) is in
        this shard."""
        text = json.dumps(identity, sort_keys=True, ensure_ascii=False, default=str)
        digest = hashlib.sha256(text.encode()).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.number - 1

    async def share(self, items: AsyncIterator[Any],
                    identity: Callable[[Any], Any]) -> AsyncIterator[Any]:
        index = 0
        async for item in items:
            if self.owns(identity(item)):
                yield Indexed(index, item)
            index += 1

    def __str__(self) -> str:
        return f"{self.number}/{self.count}"


def split_steps(steps: Iterable[Step]) -> frozenset[str]:
    """The for_each steps whose items `--shard` splits: those over a list every shard sees
    whole (the inputs, a list step). A for_each over what a split step gave (its outputs, or
    what was read from them) runs this shard's share already: split again, it would drop the
    items that hash to another shard, which never has them."""
    split: set[str] = set()
    shares: set[str] = set()  # steps whose results are this shard's share only
    for step in steps:
        if step.for_each is not None and not step.for_each.step_refs & shares:
            split.add(step.id)
        if step.id in split or step_reads(step) & shares:
            shares.add(step.id)
    return frozenset(split)


@dataclass(frozen=True)
class Indexed:
    """An item that keeps its index in the whole list (a shard's items are not contiguous)."""

    index: int
    item: Any


class Puller:
    """Hands the next (index, item) of an async iterator to one worker at a time."""

    def __init__(self, items: AsyncIterator[Any]) -> None:
        self.items = items
        self.index = 0
        self.lock = asyncio.Lock()
        self.exhausted = False  # every item was handed out

    async def __call__(self) -> Any:
        async with self.lock:
            item = await anext(self.items, END)
            if item is END:
                self.exhausted = True
                return END
            self.index += 1
            if isinstance(item, Indexed):
                return item.index, item.item
            return self.index - 1, item

    async def close(self) -> None:
        closer = getattr(self.items, "aclose", None)
        if closer is not None:
            await closer()


async def each(items: list[Any]) -> AsyncIterator[Any]:
    """A list as the async iterator a Puller reads."""
    for item in items:
        yield item


def items_to_iterate(step: Step, scope: Mapping[str, Any]) -> list[Any]:
    """The list a for_each (that reads no stream) goes through: its template's, or a
    mapping's entries as `{key, value}`."""
    assert step.for_each is not None
    items = step.for_each.render(scope)
    if isinstance(items, Mapping):
        items = [{"key": k, "value": v} for k, v in items.items()]
    if callable(items):  # `answer.items` where the answer has no key `items`
        name = getattr(items, "__name__", "")
        raise TemplateError.at(step.location, f"for_each must give a list, got the method "
                               f"{name!r} of a mapping that has no key {name!r}")
    if not isinstance(items, list):
        raise TemplateError.at(step.location, f"for_each must give a list, got "
                               f"{type(items).__name__}")
    return items
