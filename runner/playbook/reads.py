"""What templates read of an answer, an item, an input or an earlier step's outputs, checked
against what documents it: the spec's response schema, the input's schema, the outputs the
step declares.

A misspelled field (`response.data.callStatuss`) would otherwise be found by the run, after
the call was made: for a create, after the reservation exists. Only what is documented is
checked: where a schema does not say (no properties, a map of any keys, a list read by a
name, a read through a filter), anything may be read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from runner.playbook.model import Input, Step, lone_list
from runner.spec.fields import walk_fields
from runner.templating import Template
from runner.validation import listing, suggest

_IN_SPEC = "if the vendor sends it, add it to the spec's response schema"
_IN_INPUT = "if it is given, declare it in the input's properties"


@dataclass(frozen=True)
class Known:
    """What documents a value: its schema, what a message calls it, and what to do when the
    field read is really there (a vendor's field the spec left out, a column of a CSV)."""

    schema: Any
    what: str
    fix: str = ""


class Reads:
    """What a step's templates read, checked; built up from the run's names (inputs, the
    steps before), then the loop's item and the answer as the step's parts see them."""

    def __init__(self, inputs: Mapping[str, Input], earlier: Mapping[str, Step],
                 names: Mapping[str, Known] | None = None) -> None:
        self.inputs = inputs
        self.earlier = earlier
        self.names = dict(names or {})

    def with_item(self, step: Step) -> Reads:
        """With a for_each's item, where it is a lone `steps.<id>.items` (or outputs, or
        response) of an earlier step, or a lone `inputs.<name>`."""
        known = self._looped(step)
        if known is None:
            return self
        item = Known(walk_fields(known.schema, ["[]"])[0], f"an item of {known.what}", known.fix)
        return Reads(self.inputs, self.earlier, {**self.names, step.loop_var: item})

    def loop_problem(self, step: Step) -> str | None:
        """Why a for_each cannot loop over what it names, where that is documented as neither
        a list nor a mapping (an input of type string)."""
        known = self._looped(step)
        kinds = known.schema.get("type") if known and isinstance(known.schema, dict) else None
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if known is None or not kinds or {"array", "object"} & set(kinds):
            return None
        return (f"for_each loops over {known.what}, of type {' or '.join(kinds)}: it takes a "
                "list (or a mapping, looped as its key/value pairs)")

    def _looped(self, step: Step) -> Known | None:
        lone = lone_list(step)
        if lone and lone["input"] in self.inputs:
            return Known(self.inputs[lone["input"]].schema, f"input {lone['input']!r}",
                         _IN_INPUT)
        if lone and lone["step"]:
            return self._step_field(lone["step"], lone["field"])
        return None

    def with_answer(self, step: Step) -> Reads:
        """With a call step's `response`."""
        if step.endpoint is None or step.wait is not None:
            return self
        answer = Known(step.endpoint.response_schema,
                       f"the {step.endpoint.qualified_name} response", _IN_SPEC)
        return Reads(self.inputs, self.earlier, {**self.names, "response": answer})

    def problems(self, template: Template) -> Iterator[str]:
        """Each field `template` reads that what documents it says is not there."""
        for root, *parts in sorted(template.reads):
            if root not in template.names:  # a name the template sets itself
                continue
            known: Known | None = None
            if root == "inputs" and parts[0] in self.inputs:
                root, known = f"inputs.{parts[0]}", Known(self.inputs[parts[0]].schema,
                                                          f"input {parts[0]!r}", _IN_INPUT)
                parts = parts[1:]
            elif root == "steps" and len(parts) > 1:
                root, known = f"steps.{parts[0]}.{parts[1]}", self._step_field(*parts[:2])
                parts = parts[2:]
            else:
                known = self.names.get(root)
            missing = walk_fields(known.schema, parts)[1] if known is not None else None
            if known is not None and missing is not None:
                index, fields = missing
                read = (root + "".join("[0]" if p == "[]" else f".{p}" for p in parts[:index + 1]))
                yield _message(read, parts[index], known, fields)

    def _step_field(self, step_id: str, name: str) -> Known | None:
        """What documents `steps.<id>.<name>`: for a for_each step, a list of them."""
        step = self.earlier.get(step_id)
        if step is None:
            return None
        what = f"steps.{step.id}.{name}"
        if name == "items" and step.endpoint is not None and step.endpoint.pagination:
            path = step.endpoint.pagination.items.split(".")
            return Known(walk_fields(step.endpoint.response_schema, path)[0], what, _IN_SPEC)
        declared = step.outputs.keys if step.outputs is not None else frozenset()
        if name == "outputs" and declared is not None:  # exactly the keys it declares
            one = Known({"type": "object", "properties": {key: {} for key in declared},
                         "additionalProperties": False}, what,
                        "" if declared else f"step {step.id!r} declares no outputs (give it "
                        "`outputs:` to keep what later steps read of its answer)")
        elif name == "response" and step.endpoint is not None and step.wait is None:
            one = Known(step.endpoint.response_schema, what, _IN_SPEC)
        else:
            return None
        if step.for_each is None:
            return one
        return Known({"type": "array", "items": one.schema}, what, one.fix)


def _message(read: str, field: str, known: Known, fields: list[str]) -> str:
    if not fields:  # a step that declares no outputs
        return f"{read}: {known.fix}"
    return (f"{read}: {known.what} has no field {field!r}" + suggest(field, fields)
            + f" (it has: {listing(fields)}" + (f"; {known.fix}" if known.fix else "") + ")")
