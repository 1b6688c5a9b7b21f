from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from detector.calendar import BanCalendar
from detector.settings import CalendarSettings

SHANGHAI = timezone(timedelta(hours=8))


def _at(text: str, tz: timezone = SHANGHAI) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz)


@pytest.mark.parametrize(
    ("calendar", "at", "applies"),
    [
        ({}, "2024-05-01 12:00", True),  # no calendar: always
        ({"periods": [{"start": "2021-01-01", "end": "2030-12-31"}]}, "2030-12-31 23:59", True),
        ({"periods": [{"start": "2021-01-01", "end": "2030-12-31"}]}, "2031-01-01 00:00", False),
        ({"periods": [{"start": "2000-03-01", "end": "2000-06-30", "every_year": True}]},
         "2024-06-30 10:00", True),
        ({"periods": [{"start": "2000-03-01", "end": "2000-06-30", "every_year": True}]},
         "2024-07-01 10:00", False),
        ({"periods": [{"start": "2000-11-01", "end": "2001-02-28", "every_year": True}]},
         "2025-01-15 10:00", True),  # a season across New Year
        ({"periods": [{"start": "2000-11-01", "end": "2001-02-28", "every_year": True}]},
         "2025-03-01 10:00", False),
        ({"hours": [{"start": "08:00", "end": "17:00"}]}, "2024-05-01 17:00", False),  # end excl.
        ({"hours": [{"start": "08:00", "end": "17:00"}]}, "2024-05-01 08:00", True),
        ({"hours": [{"start": "20:00", "end": "06:00"}]}, "2024-05-01 05:59", True),  # midnight
        ({"hours": [{"start": "20:00", "end": "06:00"}]}, "2024-05-01 12:00", False),
        ({"hours": [{"start": "06:00", "end": "08:00"}, {"start": "18:00", "end": "20:00"}]},
         "2024-05-01 19:00", True),
        ({"periods": [{"start": "2024-05-01", "end": "2024-05-01"}],
          "hours": [{"start": "20:00", "end": "06:00"}]}, "2024-05-02 01:00", False),
    ],
)
def test_applies(calendar: dict, at: str, applies: bool) -> None:
    assert BanCalendar(CalendarSettings(**calendar)).applies(_at(at)) is applies


def test_times_are_compared_in_the_calendars_zone() -> None:
    days = BanCalendar(CalendarSettings(hours=[{"start": "08:00", "end": "17:00"}]))
    assert days.applies(_at("2024-05-01 01:00", UTC))  # 09:00 in Shanghai
    assert not days.applies(_at("2024-05-01 10:00", UTC))  # 18:00 in Shanghai
    london = BanCalendar(CalendarSettings(timezone="Europe/London",
                                          hours=[{"start": "08:00", "end": "17:00"}]))
    assert london.applies(_at("2024-05-01 10:00", UTC))
    assert BanCalendar().applies(_at("2024-05-01 10:00", UTC))


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        BanCalendar().applies(datetime(2024, 5, 1, 12))


@pytest.mark.parametrize(
    ("calendar", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"hours": [{"start": "08:00", "end": "08:00"}]}, "leave hours out"),
        ({"periods": [{"start": "2024-05-02", "end": "2024-05-01"}]}, "before start"),
        ({"hours": [{"start": "25:00", "end": "08:00"}]}, "hour"),
        ({"periods": [], "weekdays": [1]}, "Extra inputs"),
    ],
)
def test_invalid_calendars(calendar: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        CalendarSettings(**calendar)
