from __future__ import annotations

import pytest
from pydantic import ValidationError

from detector.events import Severity
from detector.settings import AnalysisSettings, TrackerSettings
from detector.zones import ZoneKind

SQUARE = [[0, 0], [100, 0], [100, 100], [0, 100]]


def test_defaults_are_documented_choices() -> None:
    s = AnalysisSettings(frame_size=(1280, 720))
    assert s.zones == {}
    assert set(s.filters) == {"person", "fishing_rod", "net", "boat"}
    assert (s.rules.angling.min_dwell_s, s.rules.boat_intrusion.min_dwell_s,
            s.rules.loitering.min_dwell_s, s.events.quiet_s) == (10, 10, 20, 10)
    assert s.rules.net_fishing.severity is Severity.HIGH
    assert s.rules.angling.calendar.timezone == "Asia/Shanghai"


def test_filters_fill_in_unlisted_classes() -> None:
    s = AnalysisSettings(frame_size=(640, 360), filters={"boat": {"min_area": 400}})
    assert s.filters["boat"].min_area == 400
    assert s.filters["person"].min_area == 24


def test_zone_kinds_parse() -> None:
    s = AnalysisSettings(frame_size=(640, 360),
                         zones={"river": {"coordinates": SQUARE, "kinds": ["water", "no_boat"]}})
    assert s.zones["river"].kinds == [ZoneKind.WATER, ZoneKind.NO_BOAT]
    assert s.zones["river"].inertia == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"zones": {"z": {"coordinates": SQUARE[:2], "kinds": ["water"]}}}, "at least 3"),
        ({"zones": {"z": {"coordinates": [[0, 0], [100, 100], [100, 0], [0, 100]],
                          "kinds": ["water"]}}}, "edges cross"),
        ({"zones": {"z": {"coordinates": SQUARE, "kinds": []}}}, "at least 1"),
        ({"zones": {"z": {"coordinates": SQUARE, "kinds": ["water", "water"]}}}, "twice"),
        ({"zones": {"z": {"coordinates": SQUARE, "kinds": ["ignore", "water"]}}}, "ignore zone"),
        ({"zones": {"z": {"coordinates": SQUARE, "kinds": ["lake"]}}}, "no_fishing"),
        ({"zones": {"z": {"coordinates": SQUARE, "kinds": ["water"], "inertia": 0}}},
         "greater than or equal to 1"),
        ({"zones": {"z": {"coordinates": [[0, 0], [700, 0], [0, 10]], "kinds": ["water"]}}},
         r"corner \[700, 0\] is outside the 640x360 frame"),
        ({"zones": {"z": {"coordinates": SQUARE, "kinds": ["water"], "colour": "red"}}},
         "Extra inputs"),
        ({"filters": {"car": {}}}, "unknown class 'car'"),
        ({"filters": {"boat": {"threshold": 1.5}}}, "less than or equal to 1"),
        ({"tracker": {"low_threshold": 0.8}}, "must not exceed high_threshold"),
        ({"rules": {"angling": {"min_dwell_s": -1}}}, "greater than or equal to 0"),
        ({"rules": {"angling": {"severity": "urgent"}}}, "low"),
        ({"rules": {"loitring": {}}}, "Extra inputs"),
        ({"events": {"quiet_s": 0}}, "greater than 0"),
        ({"frame_size": (8, 8)}, "greater than or equal to 16"),
    ],
)
def test_invalid_settings_say_why(changes: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AnalysisSettings(**{"frame_size": (640, 360), **changes})


def test_settings_are_frozen() -> None:
    with pytest.raises(ValidationError):
        TrackerSettings().min_hits = 3  # type: ignore[misc]


def test_an_unquoted_yaml_time_is_refused_not_misread() -> None:
    import yaml
    from pydantic import ValidationError

    from detector.settings import HourWindow

    data = yaml.safe_load("start: 20:00\nend: '06:00'\n")  # YAML 1.1: 20:00 is 1200
    with pytest.raises(ValidationError, match="write the time in quotes"):
        HourWindow.model_validate(data)
    assert HourWindow.model_validate({"start": "20:00", "end": "06:00"}).start.hour == 20
