"""The console view as a person sees it: live progress on a terminal, a summary at the end."""

from __future__ import annotations

import io

from runner.engine.events import (
    ItemsStarted,
    IterationFinished,
    RunFinished,
    RunStarted,
    StepFinished,
    Warned,
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


def _warned_on_resume(verbose: bool) -> list[str]:
    """What a resume shows whose kill left six creates with no outcome, five of them made."""
    screen = io.StringIO()
    console = ConsoleReporter(screen, verbose=verbose)
    made = "an earlier huawei-isales.appoint.create had no known outcome; appoint.list shows "
    for index in (40, 41, 42, 43, 45):
        console(Warned("reserve", f"iteration {index}: {made}it happened"))
    console(Warned("reserve", f"iteration 44: {made}it did not happen: sending it again"))
    console(StepFinished("reserve", "ok", 12, 6, 6, 0, 0, 0.5))
    return [line for line in screen.getvalue().splitlines() if line.startswith("  warn")]


def test_warnings_alike_but_for_their_item_are_shown_a_few_then_counted() -> None:
    made = "an earlier huawei-isales.appoint.create had no known outcome; appoint.list shows "
    assert _warned_on_resume(verbose=False) == [
        f"  warn  reserve: iteration 40: {made}it happened",
        f"  warn  reserve: iteration 41: {made}it happened",
        f"  warn  reserve: iteration 42: {made}it happened",
        f"  warn  reserve: iteration 44: {made}it did not happen: sending it again",
        f"  warn  reserve: and 2 more iterations (43, 45): {made}it happened"]
    assert len(_warned_on_resume(verbose=True)) == 6  # -v shows each one


def test_warnings_of_a_step_a_failure_left_unfinished_are_counted_at_the_end() -> None:
    screen = io.StringIO()
    console = ConsoleReporter(screen)
    for index in range(7):
        console(Warned("poll", f"iteration {index}: answered 0200022 (too fast); waiting"))
    console(RunFinished("failed", 0.1, error="step poll failed"))
    assert screen.getvalue().splitlines()[3:] == [
        "  warn  poll: and 4 more iterations (3-6): answered 0200022 (too fast); waiting",
        "run failed after 0.10s"]
