"""The console view as a person sees it: live progress on a terminal, a summary at the end."""

from __future__ import annotations

import io

from runner.engine.events import (
    ItemsStarted,
    IterationFinished,
    RunFinished,
    RunStarted,
    StepFinished,
)
from runner.reporting.console import ConsoleReporter


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_for_each_shows_a_progress_bar_with_counts_and_rate() -> None:
    screen = Terminal()
    console = ConsoleReporter(screen)
    console(RunStarted("p", "p.yaml", {}, False, True, "r1"))
    console(ItemsStarted("reserve", 4))
    for index in range(2):
        console(IterationFinished("reserve", index, "ok"))
    shown = screen.getvalue()
    assert "  ...  reserve  [#####...............] 1/4  " in shown
    assert shown.rstrip().endswith("/s")


def test_a_long_for_each_logs_a_progress_line_now_and_then_where_no_terminal_is() -> None:
    clock = iter([0.0, 10.0, 31.0, 40.0, 62.0])  # when the step starts, then each item ends
    log = io.StringIO()  # a CI job's log: no terminal, so no bar redrawn in place
    console = ConsoleReporter(log, clock=lambda: next(clock))
    console(ItemsStarted("reserve", 40))
    for index in range(4):
        console(IterationFinished("reserve", index, "ok"))
    assert log.getvalue().splitlines() == [
        "  ...  reserve  [#...................] 2/40  0/s",
        "  ...  reserve  [##..................] 4/40  0/s"]


def test_the_run_ends_with_a_summary_table_unless_quiet() -> None:
    events = [RunStarted("p", "p.yaml", {}, False, True, "r1"),
              StepFinished("reserve", "ok", 5, 5, 4, 1, 0, 0.5, retries=2),
              StepFinished("confirm", "ok", 1, 1, 1, 0, 0, 0.1),
              RunFinished("ok", 0.7)]
    for quiet in (False, True):
        screen = io.StringIO()
        console = ConsoleReporter(screen, quiet=quiet)
        for event in events:
            console(event)
        lines = screen.getvalue().splitlines()
        if quiet:
            assert lines == ["run ok in 0.70s"]
        else:
            assert lines[-4].split() == ["STEP", "STATUS", "CALLS", "ITEMS", "OK", "SKIPPED",
                                         "FAILED", "RETRIES", "TIME"]
            assert lines[-3].split() == ["reserve", "ok", "5", "5", "4", "1", "0", "2", "0.50s"]
