"""Ban calendars: on which days and at which hours a rule applies, in the river's local time.

A frame's wall-clock time may come in any timezone (cameras stamp UTC or local); it is converted
to the calendar's zone before days and hours are compared, so a night ban from 20:00 to 06:00
means 20:00 on the bank whatever the box's clock says.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from detector.settings import CalendarSettings, DatePeriod, HourWindow


def _in_period(day: date, period: DatePeriod) -> bool:
    if not period.every_year:
        return period.start <= day <= period.end
    key = (day.month, day.day)
    start, end = (period.start.month, period.start.day), (period.end.month, period.end.day)
    if start <= end:
        return start <= key <= end
    return key >= start or key <= end  # a season across New Year (e.g. 11-01 to 02-28)


def _in_window(clock: time, window: HourWindow) -> bool:
    if window.start < window.end:
        return window.start <= clock < window.end
    return clock >= window.start or clock < window.end  # across midnight


class BanCalendar:
    """Answers "does the ban apply at this moment?" for one rule.

    Example:
        >>> from datetime import timezone
        >>> nights = BanCalendar(CalendarSettings(hours=[{"start": "20:00", "end": "06:00"}]))
        >>> nights.applies(datetime(2024, 5, 1, 13, 0, tzinfo=timezone.utc))  # 21:00 in Shanghai
        True
        >>> nights.applies(datetime(2024, 5, 1, 4, 0, tzinfo=timezone.utc))  # 12:00 in Shanghai
        False
    """

    def __init__(self, settings: CalendarSettings | None = None) -> None:
        settings = settings or CalendarSettings()
        self.timezone = ZoneInfo(settings.timezone)
        self._periods = tuple(settings.periods)
        self._hours = tuple(settings.hours)

    def applies(self, at: datetime) -> bool:
        """Whether ``at`` (timezone-aware) falls on a ban day and within a ban hour."""
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"a ban calendar needs a timezone-aware time, got {at}")
        local = at.astimezone(self.timezone)
        if self._periods and not any(_in_period(local.date(), p) for p in self._periods):
            return False
        return not self._hours or any(_in_window(local.time(), w) for w in self._hours)
