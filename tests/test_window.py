"""Calling windows: no create outside them; the run pauses (exit 75) and resumes later."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from runner.window import DAYS, EXIT_PAUSED, CallingWindow
from tests.conftest import JUNIT_XSD, outbound


def _noon_zone() -> tuple[str, str]:
    """A zone where it is now about noon, and today's weekday there (no window wraps midnight)."""
    now = dt.datetime.now(dt.UTC)
    offset = (12 - now.hour) % 24
    offset = offset - 24 if offset > 14 else offset
    zone = "Etc/GMT" + (f"-{offset}" if offset > 0 else f"+{-offset}" if offset < 0 else "")
    local = now + dt.timedelta(hours=offset)
    return zone, DAYS[local.weekday()]


PLAYBOOK = """\
playbook_version: 1
name: windowed
calling_window: WINDOW
services:
  isales: {spec: huawei-isales}
steps:
  - id: first
    call: isales.appoint.create
    params: {vdnId: 8, taskId: "2201", callType: "1", calledNo: "13800000001",
             userAccount: ops, appointTime: "{{ now_ms() + 86400000 }}"}
  - id: later
    wait: 2h
  - id: second
    for_each: ["13800000002", "13800000003"]
    as: number
    call: isales.appoint.create
    params: {vdnId: 8, taskId: "2201", callType: "1", calledNo: "{{ number }}",
             userAccount: ops, appointTime: "{{ now_ms() + 86400000 }}"}
"""


def _playbook(tmp_path: Path, window: str) -> Path:
    path = tmp_path / "windowed.yaml"
    path.write_text(PLAYBOOK.replace("WINDOW", window))
    return path


def test_outside_the_window_nothing_is_sent_and_the_run_pauses(tmp_path: Path) -> None:
    zone, today = _noon_zone()
    other_day = DAYS[(DAYS.index(today) + 3) % 7]
    report, junit = tmp_path / "r.json", tmp_path / "junit.xml"
    result = outbound("run", str(_playbook(tmp_path, f"{{days: [{other_day}], timezone: {zone}}}")),
                      "--sim", "--report-json", str(report), "--report-junit", str(junit))
    assert result.exit_code == EXIT_PAUSED
    assert result.stderr.startswith("paused: step first: outside the calling "
                                     "window")  # no "error:" for a cron job to alert on
    assert "--resume 2" in result.stderr  # it names the run to resume (ids start with the year)
    document = json.loads(report.read_text())
    assert document["status"] == "paused" and document["steps"][0]["calls"] == 0
    JUNIT_XSD.validate(str(junit))  # the paused step is not done: skipped, not passed
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and (suite.get("skipped"), suite.get("failures")) == ("1", "0")
    skipped = suite.find("testcase[@name='first']/skipped")
    assert skipped is not None
    assert skipped.get("message", "").startswith("paused: step first: outside the calling window")


def test_dry_run_says_whether_the_window_is_open(tmp_path: Path) -> None:
    zone, _ = _noon_zone()
    open_now = outbound("run", str(_playbook(tmp_path, f"{{from: '11:00', to: '13:00', "
                                                       f"timezone: {zone}}}")), "--dry-run")
    assert f"calling window (every day 11:00-13:00 {zone}) is open now" in open_now.stdout
    closed = outbound("run", str(_playbook(tmp_path, f"{{from: '01:00', to: '02:00', "
                                                     f"timezone: {zone}}}")), "--dry-run")
    assert "is closed now: the run would pause before its first create; it opens " in \
        closed.stdout


def _at(text: str, zone: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp()


def test_a_closed_window_says_when_it_opens_next() -> None:
    weekdays = CallingWindow.parse({"days": ["mon", "tue", "wed", "thu", "fri"],
                                    "from": "09:00", "to": "20:00",
                                    "timezone": "Asia/Shanghai"})
    friday_evening = _at("2026-11-27T20:30", "Asia/Shanghai")
    assert weekdays.when_next_open(friday_evening) == (
        "it opens Mon 2026-11-30 09:00 Asia/Shanghai, in 2d 12h")
    tuesday_morning = _at("2026-11-24T08:15", "Asia/Shanghai")
    assert weekdays.when_next_open(tuesday_morning).endswith("Tue 2026-11-24 09:00 "
                                                             "Asia/Shanghai, in 45m")
    inside = _at("2026-11-24T10:00", "Asia/Shanghai")
    assert weekdays.next_opening(inside).timestamp() == inside
    # the night the clocks go forward in New York: 15 hours of wall clock, 14 of real time
    daily = CallingWindow.parse({"from": "09:00", "to": "17:00",
                                 "timezone": "America/New_York"})
    assert daily.when_next_open(_at("2026-03-07T18:00", "America/New_York")) == (
        "it opens Sun 2026-03-08 09:00 America/New_York, in 14h 00m")
    assert weekdays.describe() == "mon, tue, wed, thu, fri 09:00-20:00 Asia/Shanghai"
    assert daily.describe() == "every day 09:00-17:00 America/New_York"


def test_a_window_stays_closed_on_its_closed_dates() -> None:
    """China's National Day week, 2026: Thursday 1 October to Thursday 8 October."""
    holidays = [f"2026-10-0{day}" for day in range(1, 9)]
    weekdays = CallingWindow.parse({"days": ["mon", "tue", "wed", "thu", "fri"],
                                    "from": "09:00", "to": "20:00",
                                    "timezone": "Asia/Shanghai", "closed_on": holidays})
    assert weekdays.when_next_open(_at("2026-09-30T20:30", "Asia/Shanghai")) == (
        "it opens Fri 2026-10-09 09:00 Asia/Shanghai, in 8d 12h")
    assert not weekdays.is_open(_at("2026-10-05T10:00", "Asia/Shanghai"))  # a Monday
    assert weekdays.is_open(_at("2026-10-09T10:00", "Asia/Shanghai"))
    assert weekdays.describe() == ("mon, tue, wed, thu, fri 09:00-20:00 Asia/Shanghai, closed "
                                   "on 2026-10-01, 2026-10-02, 2026-10-03 and 5 more")


def test_dry_run_says_the_window_is_closed_today_and_opens_tomorrow(tmp_path: Path) -> None:
    zone, _ = _noon_zone()
    today = dt.datetime.now(ZoneInfo(zone)).date()
    playbook = _playbook(tmp_path, f"{{from: '11:00', to: '13:00', timezone: {zone}, "
                                   f"closed_on: ['{today}']}}")
    planned = outbound("run", str(playbook), "--dry-run")
    tomorrow = f"{today + dt.timedelta(days=1):%a %Y-%m-%d}"
    assert (f"calling window (every day 11:00-13:00 {zone}, closed on {today}) is closed now: "
            f"the run would pause before its first create; it opens {tomorrow} 11:00 {zone}"
            ) in planned.stdout
    paused = outbound("run", str(playbook), "--sim")
    assert paused.exit_code == EXIT_PAUSED, paused.output


def test_a_closed_date_that_is_no_date_is_refused_where_it_is(tmp_path: Path) -> None:
    playbook = _playbook(tmp_path, "{closed_on: ['2026-10-01', '2026-02-30']}")
    result = outbound("validate", str(playbook))
    assert result.exit_code == 2
    assert result.output.startswith(
        f"{playbook}:3:44 (calling_window.closed_on[1]): calling_window: closed_on "
        "'2026-02-30' is not a date (YYYY-MM-DD)")


def test_a_start_the_clocks_skip_opens_when_they_go_forward() -> None:
    # New York, 2027-03-14: the clocks go from 02:00 straight to 03:00, so 02:30 never comes
    night = CallingWindow.parse({"from": "02:30", "to": "05:00",
                                 "timezone": "America/New_York"})
    midnight = _at("2027-03-14T00:00", "America/New_York")
    assert night.when_next_open(midnight) == (
        "it opens Sun 2027-03-14 03:00 America/New_York, in 2h 00m")
    opening = night.next_opening(midnight).timestamp()
    assert night.is_open(opening) and not night.is_open(opening - 1)
    # the night before, 02:30 comes as usual
    assert night.when_next_open(_at("2027-03-13T00:00", "America/New_York")).endswith(
        "Sat 2027-03-13 02:30 America/New_York, in 2h 30m")
    # a window the clocks skip whole does not open that night, but a week later
    skipped = CallingWindow.parse({"days": ["sun"], "from": "02:10", "to": "02:50",
                                   "timezone": "America/New_York"})
    assert skipped.when_next_open(midnight) == (
        "it opens Sun 2027-03-21 02:10 America/New_York, in 7d 1h")


def test_a_window_that_closes_mid_run_pauses_it_and_resume_finishes(tmp_path: Path) -> None:
    zone, _ = _noon_zone()
    playbook = _playbook(tmp_path, f"{{from: '11:00', to: '13:00', timezone: {zone}}}")
    first = outbound("run", str(playbook), "--sim")  # the 2h wait moves simulated time past 13:00
    assert first.exit_code == EXIT_PAUSED, first.output
    assert "  ok    first  1 call" in first.stdout
    assert "  wait  second  0 calls" in first.stdout
    run_id = next(line.split()[1] for line in first.stdout.splitlines() if line.startswith("run "))
    # simulated time goes on from 14:00, past the window, to its next opening: tomorrow 11:00
    resumed = outbound("run", str(playbook), "--sim", "--resume", run_id)
    assert resumed.exit_code == 0, resumed.output
    tomorrow = f"{dt.datetime.now(ZoneInfo(zone)) + dt.timedelta(days=1):%a %Y-%m-%d}"
    assert resumed.stderr.startswith(f"note: --sim: simulated time moves on to {tomorrow} "
                                     f"11:00 {zone}, when the calling window opens")
    assert "  ok    first  0 calls" in resumed.stdout  # done before: not sent again
    assert "  ok    second  2 calls" in resumed.stdout


def test_an_unknown_time_zone_is_an_input_error(tmp_path: Path) -> None:
    result = outbound("validate", str(_playbook(tmp_path, "{timezone: Mars/Olympus}")))
    assert result.exit_code == 2
    assert "calling_window: unknown time zone 'Mars/Olympus'" in result.output


@pytest.mark.parametrize(("window", "said"), [
    ("{from: '20:00', to: '09:00'}", "3:37 (calling_window.to): calling_window: to 09:00 is "
     "not after from 20:00: the window would never open (it runs from and to within one day)"),
    ("{from: '09:00', to: '09:00'}", "3:37 (calling_window.to): calling_window: to 09:00 is "
     "not after from 09:00"),
    ("{days: []}", "3:24 (calling_window.days): [] should be non-empty (the days creates may "
     "be sent on; all when left out)"),
])
def test_a_window_that_never_opens_is_refused(tmp_path: Path, window: str, said: str) -> None:
    """Every run of it would pause before its first create, and each resume again."""
    playbook = _playbook(tmp_path, window)
    result = outbound("validate", str(playbook))
    assert result.exit_code == 2
    assert result.output.startswith(f"{playbook}:{said}")


def test_resume_latest_continues_the_paused_run_or_starts_one(tmp_path: Path) -> None:
    zone, _ = _noon_zone()
    playbook = _playbook(tmp_path, f"{{from: '11:00', to: '13:00', timezone: {zone}}}")
    fresh = outbound("run", str(playbook), "--sim", "--resume", "latest")
    assert fresh.stdout.startswith("no run of this playbook with these inputs to resume; "
                                   "starting a new run\n")
    assert fresh.exit_code == EXIT_PAUSED
    paused_id = next(line.split()[1] for line in fresh.stdout.splitlines()
                     if line.startswith("run "))
    resumed = outbound("run", str(playbook), "--sim", "--resume", "latest")
    assert resumed.exit_code == 0, resumed.output
    assert f"resuming run {paused_id}" in resumed.stdout
