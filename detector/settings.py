"""The detector's section of a camera's config: zones, object filters, tracker, rules, events.

Frigate-style: every model forbids unknown keys (a typo is an error, not a silently ignored
setting), every field has a description and bounds, normalising validators run before and
cross-field checks after. Defaults are what the rendered scenario clips were checked against:
a 10 s dwell for angling and boats, 20 s for loitering (passers-by cross a frame in under 11 s),
and a 10 s quiet period (the gap between two throws of a cast net is under 8 s).
"""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from detector.classes import CLASS_NAMES
from detector.zones import ZoneKind, is_simple_polygon
from fishwatch.common.strict import StrictModel
from fishwatch.common.vocabulary import Severity

Seconds = Annotated[float, Field(ge=0, le=86_400)]
Fraction = Annotated[float, Field(ge=0, le=1)]
Pixels = Annotated[float, Field(ge=0, le=100_000)]
Side = Annotated[int, Field(ge=16, le=16384)]
Heights = Annotated[float, Field(ge=0, le=20, description="in multiples of the person's height")]


# --- zones -------------------------------------------------------------------------------------
class ZoneSettings(StrictModel):
    """A polygon on the camera picture and what it marks."""

    coordinates: list[tuple[Annotated[int, Field(ge=0)], Annotated[int, Field(ge=0)]]] = Field(
        min_length=3, description="corners as [x, y] pixels of the analysed frame, in order")
    kinds: list[ZoneKind] = Field(
        min_length=1, description="no_fishing, water, no_boat (combinable) or ignore (alone)")
    inertia: int = Field(
        2, ge=1, le=50, description="frames an object must be inside (or outside) to count as "
                                    "having entered (or left); guards against edge flicker")

    @field_validator("coordinates")
    @classmethod
    def _simple(cls, value: list[tuple[int, int]]) -> list[tuple[int, int]]:
        if not is_simple_polygon(value):
            raise ValueError("polygon edges cross each other; list the corners in order around it")
        return value

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, value: list[ZoneKind]) -> list[ZoneKind]:
        if len(set(value)) != len(value):
            raise ValueError("a kind is listed twice")
        if ZoneKind.IGNORE in value and len(value) > 1:
            raise ValueError("an ignore zone cannot also be another kind")
        return value


# --- objects -----------------------------------------------------------------------------------
class ObjectFilterSettings(StrictModel):
    """When a detected object of one class is believed."""

    min_width: Pixels = Field(0, description="narrower boxes are dropped (pixels)")
    min_height: Pixels = Field(0, description="lower boxes are dropped (pixels)")
    min_area: Pixels = Field(
        24, description="smaller boxes are dropped (square pixels); the model never learnt "
                        "anything under 24")
    threshold: Fraction = Field(
        0.5, description="a track counts once the median of its recent scores reaches this")


def _default_filters() -> dict[str, ObjectFilterSettings]:
    return {name: ObjectFilterSettings() for name in CLASS_NAMES}


class TrackerSettings(StrictModel):
    """ByteTrack, tuned for one or two sampled frames per second (see detector.tracking)."""

    high_threshold: Fraction = Field(0.5, description="score for first-stage association")
    low_threshold: Fraction = Field(0.1, description="weaker detections are discarded")
    new_track_threshold: Fraction = Field(0.6, description="score needed to start a track")
    match_threshold: Fraction = Field(0.05, description="least pair score, first stage")
    low_match_threshold: Fraction = Field(0.3, description="least pair score, weak detections")
    min_hits: int = Field(2, ge=1, le=10, description="matches before a track is confirmed")
    lost_time_s: Seconds = Field(5.0, description="how long an unseen track is kept")
    max_speed: float = Field(
        2.5, ge=0, le=50, description="fastest motion, in box diagonals per second")
    gate_slack: float = Field(
        0.5, gt=0, le=10, description="extra distance allowed, in box diagonals")

    @model_validator(mode="after")
    def _ordered(self) -> TrackerSettings:
        if self.low_threshold > self.high_threshold:
            raise ValueError("low_threshold must not exceed high_threshold")
        return self


# --- calendars ---------------------------------------------------------------------------------
class DatePeriod(StrictModel):
    """Days a ban applies, both ends included; ``every_year`` repeats it (may span New Year)."""

    start: date = Field(description="first day, YYYY-MM-DD")
    end: date = Field(description="last day, YYYY-MM-DD")
    every_year: bool = Field(False, description="ignore the year: a seasonal ban")

    @model_validator(mode="after")
    def _ordered(self) -> DatePeriod:
        if not self.every_year and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class HourWindow(StrictModel):
    """Daily hours a ban applies, ``end`` excluded; a window may run past midnight."""

    start: time = Field(description="HH:MM local time (quote it in YAML: \"20:00\")")
    end: time = Field(description="HH:MM local time; before start means the next day")

    @field_validator("start", "end", mode="before")
    @classmethod
    def _not_a_number(cls, value: object) -> object:
        # YAML 1.1 reads an unquoted 20:00 as the sexagesimal number 1200, which pydantic
        # would take as seconds (00:20): a silently wrong ban window.
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError(f"got the number {value}: write the time in quotes, e.g. \"20:00\" "
                             "(YAML reads an unquoted 20:00 as 1200)")
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> HourWindow:
        if self.start == self.end:
            raise ValueError("start and end are equal; leave hours out for all day")
        return self


class CalendarSettings(StrictModel):
    """When a rule applies. Empty lists mean always: every day, all day."""

    timezone: str = Field("Asia/Shanghai", description="IANA name of the local time zone")
    periods: list[DatePeriod] = Field(default_factory=list, description="days; empty: every day")
    hours: list[HourWindow] = Field(default_factory=list, description="hours; empty: all day")

    @field_validator("timezone")
    @classmethod
    def _known(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (expected e.g. Asia/Shanghai)") from None
        return value


# --- rules -------------------------------------------------------------------------------------
_DWELL = "seconds the situation must last before it counts"
_SEVERITY = "severity of its events, which the centre's routing and deadlines use"


class _RuleSettings(StrictModel):
    enabled: bool = Field(True, description="false turns the rule off")
    min_dwell_s: Seconds = Field(description=_DWELL)
    severity: Severity = Field(description=_SEVERITY)
    calendar: CalendarSettings = Field(
        default_factory=CalendarSettings, description="when the rule applies")


class AnglingSettings(_RuleSettings):
    """A person in a no-fishing zone with a rod in hand, or beside rods on stands."""

    min_dwell_s: Seconds = Field(10.0, description=_DWELL)
    severity: Severity = Field(Severity.MEDIUM, description=_SEVERITY)
    touch_margin: Heights = Field(
        0.05, description="a rod this close to the person's box is held")
    hand_reach: Heights = Field(
        0.4, description="sideways reach of the hands, which are at 25-65 % of the height")
    stand_distance: Heights = Field(
        2.0, description="a static rod this close to a person is theirs")
    static_window_s: Seconds = Field(
        3.0, description="a rod that has not moved for this long stands on a rest")
    static_shift: Annotated[float, Field(ge=0, le=5)] = Field(
        0.15, description="most a static rod's centre may move, in its box diagonals")


class NetFishingSettings(_RuleSettings):
    """A net over water, with or without anyone near it."""

    min_dwell_s: Seconds = Field(2.0, description=_DWELL)
    severity: Severity = Field(Severity.HIGH, description=_SEVERITY)
    min_water_coverage: Fraction = Field(
        0.3, description="share of the net's box that must lie over a water zone")
    near_distance: Heights = Field(
        1.5, description="people and boats this close are named in the event")


class BoatIntrusionSettings(_RuleSettings):
    """A boat standing in no-boat water."""

    min_dwell_s: Seconds = Field(10.0, description=_DWELL)
    severity: Severity = Field(Severity.HIGH, description=_SEVERITY)


class LoiteringSettings(_RuleSettings):
    """A person lingering in a no-fishing zone with no gear seen on or near them."""

    min_dwell_s: Seconds = Field(20.0, description=_DWELL)
    severity: Severity = Field(Severity.LOW, description=_SEVERITY)
    gear_distance: Heights = Field(
        1.5, description="a rod or net ever seen this close means the person has gear")


class RulesSettings(StrictModel):
    """The four rules and what they share."""

    angling: AnglingSettings = Field(default_factory=AnglingSettings)
    net_fishing: NetFishingSettings = Field(default_factory=NetFishingSettings)
    boat_intrusion: BoatIntrusionSettings = Field(default_factory=BoatIntrusionSettings)
    loitering: LoiteringSettings = Field(default_factory=LoiteringSettings)
    max_gap_s: Seconds = Field(
        3.0, description="a situation may stop holding this long (a missed detection) "
                         "without its dwell restarting")


class EventSettings(StrictModel):
    """How rule hits become incidents."""

    quiet_s: Annotated[float, Field(gt=0, le=3600)] = Field(
        10.0, description="seconds without a hit that end an event; shorter gaps merge")
    cooldown_s: Seconds = Field(
        30.0, description="seconds after an event ends before the same type and zone reopen")
    update_interval_s: Seconds = Field(
        5.0, description="at most one update per event per this many seconds")


# --- one camera --------------------------------------------------------------------------------
class AnalysisSettings(StrictModel):
    """Everything the detector needs to turn one camera's detections into events."""

    frame_size: tuple[Side, Side] = Field(
        description="[width, height] of the analysed frames; zones are in these pixels")
    zones: dict[str, ZoneSettings] = Field(
        default_factory=dict, description="by name; none: the whole frame is one zone where "
                                          "every rule applies")
    filters: dict[str, ObjectFilterSettings] = Field(
        default_factory=_default_filters, description="by class name; unlisted classes keep "
                                                      "the defaults")
    tracker: TrackerSettings = Field(default_factory=TrackerSettings)
    rules: RulesSettings = Field(default_factory=RulesSettings)
    events: EventSettings = Field(default_factory=EventSettings)

    @field_validator("filters", mode="before")
    @classmethod
    def _fill_filters(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        unknown = sorted(set(value) - set(CLASS_NAMES))
        if unknown:
            raise ValueError(
                f"unknown class {unknown[0]!r}; expected one of {', '.join(CLASS_NAMES)}"
            )
        return {**_default_filters(), **value}

    @model_validator(mode="after")
    def _zones_fit(self) -> AnalysisSettings:
        verify_zones_fit_frame(self.zones, self.frame_size)
        return self


def verify_zones_fit_frame(zones: dict[str, ZoneSettings], frame_size: tuple[int, int]) -> None:
    """Every zone corner must lie on the frame: a zone drawn for another resolution is a bug."""
    width, height = frame_size
    for name, zone in zones.items():
        for x, y in zone.coordinates:
            if x > width or y > height:
                raise ValueError(
                    f"zone {name!r}: corner [{x}, {y}] is outside the {width}x{height} frame"
                )
