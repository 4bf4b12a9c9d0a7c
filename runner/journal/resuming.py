"""Whether a journaled run can resume as asked: with its own playbook (edited or not), and
with its own inputs (those journaled masked given again)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runner.errors import InputError
from runner.journal.rows import Recorded
from runner.playbook import Playbook
from runner.secrets import MASK


def check_same_playbook(recorded: Recorded, playbook: Playbook, file: Path) -> str | None:
    """A run resumes with its own playbook: another one is refused; of an edited one, the
    warning to give (None: unchanged), since finished items are matched by step id and
    their key or place in their list."""
    if recorded.playbook != playbook.name:
        raise InputError.plain(f"run {recorded.run_id} is a run of playbook "
                               f"{recorded.playbook!r}, not {playbook.name!r} ({file})")
    if recorded.playbook_sha == playbook.sha256:
        return None
    return (f"{file} has changed since run {recorded.run_id} began; finished items are "
            "matched by step id and their key or place in their list, so if a list, its order "
            "or a for_each's key changed, stop and start a new run instead")


def check_same_inputs(recorded: Recorded, playbook: Playbook) -> None:
    """The run's inputs still fit the playbook: none of them gone, none needed anew."""
    gone = sorted(set(recorded.inputs) - set(playbook.inputs))
    needed = sorted(name for name, spec in playbook.inputs.items()
                    if name not in recorded.inputs and not spec.has_default)
    if gone or needed:
        what = ([f"it has no input {', '.join(gone)} any more"] if gone else []) + (
            [f"it needs input {', '.join(needed)}, which the run was not given"] if needed
            else [])
        raise InputError.plain(
            f"run {recorded.run_id} cannot resume with {playbook.file} as it is now: "
            f"{'; '.join(what)} (the playbook was edited since the run began; resume with it "
            "as it was, or start a new run)")


def resumed_inputs(recorded: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """The run's journalled inputs, with those that were journalled masked (they held a
    secret) given again on the command line; no other input may change."""
    masked = sorted(name for name, value in recorded.items() if MASK in json.dumps(value))
    changed = sorted(set(given) - set(masked))
    if changed:
        raise InputError.plain(
            f"--resume continues with the run's own inputs; --var cannot change "
            f"{', '.join(changed)}" + (f" (only {', '.join(masked)}, journalled masked, may be "
                                       "given again)" if masked else ""))
    missing = [name for name in masked if name not in given]
    if missing:
        raise InputError.plain(
            f"the journal holds input {', '.join(missing)} masked (it contained a secret); "
            f"give it again to resume (--var NAME=VALUE for {', '.join(missing)})")
    return {**recorded, **given}
