"""Calling windows: when a playbook's creates may be sent (calling rules forbid other hours).

    calling_window: {days: [mon, tue, wed, thu, fri], from: "09:00", to: "20:00",
                     timezone: Asia/Shanghai, closed_on: ["2026-10-01", "2026-10-02"]}

Outside the window a run starts no new create; what is in flight finishes, the journal keeps
where the run stopped, and the run exits with EXIT_PAUSED so the next scheduled job resumes it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from runner.errors import Finding, InputError, Location, Paused

EXIT_PAUSED = Paused.exit_code  # EX_TEMPFAIL: not a failure; run it again later (--resume)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class OutsideCallingWindow(Paused):
    """A create was due outside the playbook's calling window; the run paused."""


class WindowProblem(InputError):
    """A calling window that cannot be read; `field` is where, under calling_window."""

    def __init__(self, field: tuple[str | int, ...], message: str) -> None:
        super().__init__([Finding(Location(), message)])
        self.field = field


@dataclass(frozen=True)
class CallingWindow:
    """When creates may be sent: days of the week and hours, in a time zone, but not on the
    dates it is closed (public holidays)."""

    days: frozenset[int]  # 0 = Monday
    start: dt.time
    end: dt.time
    zone: ZoneInfo
    closed: frozenset[dt.date] = frozenset()

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> CallingWindow:
        try:
            zone = ZoneInfo(raw.get("timezone", "UTC"))
        except (ZoneInfoNotFoundError, ValueError):
            raise WindowProblem(("timezone",), (
                f"calling_window: unknown time zone {raw.get('timezone')!r} (use an IANA "
                "name such as Asia/Shanghai)")) from None
        days = raw.get("days", list(DAYS))
        return cls(frozenset(DAYS.index(day) for day in days),
                   dt.time.fromisoformat(raw.get("from", "00:00")),
                   dt.time.fromisoformat(raw.get("to", "23:59:59")), zone,
                   frozenset(_date(text, place)
                             for place, text in enumerate(raw.get("closed_on", []))))

    def is_open(self, epoch: float) -> bool:
        local = dt.datetime.fromtimestamp(epoch, self.zone)
        return (local.weekday() in self.days and self.start <= local.time() < self.end
                and local.date() not in self.closed)

    def next_opening(self, epoch: float) -> dt.datetime:
        """When the window is next open, from `epoch` on (then itself if open), in its zone."""
        now = dt.datetime.fromtimestamp(epoch, self.zone)
        if self.is_open(epoch):
            return now
        for ahead in range(8 + len(self.closed)):  # each date closed puts it a day later
            day = now.date() + dt.timedelta(days=ahead)
            if day.weekday() not in self.days or day in self.closed:
                continue
            opening = self._opening_on(day)
            if opening > now and self.is_open(opening.timestamp()):
                return opening  # (a window the clocks skip whole does not open that day)
        raise AssertionError("a window with a day opens within a week of its closed dates")

    def _opening_on(self, day: dt.date) -> dt.datetime:
        """When the window opens on `day`: at its start, or, where the clocks go forward past
        the start (02:30 on a night that skips from 02:00 to 03:00), when they do."""
        opening = dt.datetime.combine(day, self.start, self.zone)
        closed, opened = opening.replace(fold=1).timestamp(), opening.timestamp()
        if closed >= opened:  # the start is a time the clock shows that day
            return opening
        while opened - closed > 1:  # the forward jump lies between the two readings of it
            middle = (closed + opened) // 2
            closed, opened = (closed, middle) if self.is_open(middle) else (middle, opened)
        return dt.datetime.fromtimestamp(opened, self.zone)

    def when_next_open(self, epoch: float) -> str:
        """'it opens Sat 2026-11-28 01:00 Asia/Shanghai, in 5d 18h' (for messages)."""
        opening = self.next_opening(epoch)
        minutes = max(1, round((opening.timestamp() - epoch) / 60))
        days, minutes = divmod(minutes, 24 * 60)
        hours, minutes = divmod(minutes, 60)
        wait = (f"{days}d {hours}h" if days else f"{hours}h {minutes:02d}m" if hours
                else f"{minutes}m")
        return f"it opens {opening:%a %Y-%m-%d %H:%M} {self.zone.key}, in {wait}"

    def state_at(self, epoch: float) -> str:
        """What `--dry-run` says of the window at `epoch`."""
        state = "open now" if self.is_open(epoch) else (
            f"closed now: the run would pause before its first create; "
            f"{self.when_next_open(epoch)}")
        return f"calling window ({self.describe()}) is {state}"

    def describe(self) -> str:
        days = ("every day" if len(self.days) == len(DAYS)
                else ", ".join(DAYS[d] for d in sorted(self.days)))
        closed = sorted(self.closed)
        return (f"{days} {self.start.strftime('%H:%M')}-{self.end.strftime('%H:%M')} "
                f"{self.zone.key}" + (f", closed on {_dates(closed)}" if closed else ""))


def _date(text: str, place: int) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise WindowProblem(("closed_on", place), (
            f"calling_window: closed_on {text!r} is not a date (YYYY-MM-DD)")) from None


def _dates(dates: list[dt.date]) -> str:
    """'2026-10-01, 2026-10-02, 2026-10-03 and 4 more'"""
    shown = ", ".join(map(str, dates[:3]))
    return shown + (f" and {len(dates) - 3} more" if len(dates) > 3 else "")
