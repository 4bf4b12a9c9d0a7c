"""Whether a create may start now: inside the playbook's calling window, within --max-creates."""

from __future__ import annotations

from dataclasses import dataclass, field

from runner.clock import Clock
from runner.errors import CreatesSpent, Finding, Location, iteration
from runner.playbook import Step
from runner.window import CallingWindow, OutsideCallingWindow


@dataclass
class CreateGate:
    """A run's creates: each starts only inside the calling window, and within --max-creates;
    else the run pauses (its items in flight finish), to be resumed."""

    window: CallingWindow | None
    clock: Clock
    run_id: str
    max_creates: int | None  # None: no limit
    left: int | None = field(init=False)

    def __post_init__(self) -> None:
        self.left = self.max_creates

    def admit(self, step: Step, index: int | None) -> None:
        """Let a call of `step` (item `index`) start, or raise Paused if it is a create that
        may not start now."""
        if step.endpoint is None or step.endpoint.kind != "create":
            return
        where = f"{iteration(index)}: " if index is not None else ""
        resume = f"--resume {self.run_id or 'RUN_ID'}"
        window, now = self.window, self.clock.now()
        if window is not None and not window.is_open(now):
            raise OutsideCallingWindow([Finding(Location(), (
                f"{where}outside the calling window ({window.describe()}): no new create is "
                f"started; {window.when_next_open(now)}: resume this run then with {resume}"))])
        if self.left is None:
            return
        if self.left == 0:
            raise CreatesSpent([Finding(Location(), (
                f"{where}--max-creates {self.max_creates} reached: no new create is started; "
                f"look at what was made, then go on with {resume}"))])
        self.left -= 1
