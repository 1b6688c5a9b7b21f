"""Incidents: rule hits, frame after frame, become one event each that opens, updates and closes.

Rules say "this holds now" every frame; the centre wants one record per incident. The
:class:`EventManager` keeps one incident per (type, zone) of a camera: the first hit opens it,
later hits extend it, and ``quiet_s`` without hits closes it (so an angler re-casting or a net
thrown twice stays one event). After a close, ``cooldown_s`` must pass before the same type and
zone can open a new event, against a flapping rule sending a burst of duplicates. Every update
carries the whole event and its stable ``id``, so the receiver upserts and resends are harmless.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID, uuid4

from fishwatch.common.vocabulary import EventType, Severity


class UpdateKind(StrEnum):
    """The three states an event passes through, in this order."""

    OPENED = "opened"
    UPDATED = "updated"
    CLOSED = "closed"


@dataclass(frozen=True)
class FrameRef:
    """Which frame: its index in the stream, its stream time and its wall-clock time.

    Stream time measures durations (it never jumps with NTP); wall-clock time is what a report
    and a ban calendar speak of, so it must carry its timezone.
    """

    index: int
    stream_s: float
    wall_time: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", int(self.index))
        object.__setattr__(self, "stream_s", float(self.stream_s))
        if self.wall_time.tzinfo is None or self.wall_time.utcoffset() is None:
            raise ValueError(f"FrameRef.wall_time must be timezone-aware, got {self.wall_time}")
        if not math.isfinite(self.stream_s):
            raise ValueError(f"FrameRef.stream_s must be finite, got {self.stream_s}")

    def wall_time_at(self, stream_s: float) -> datetime:
        """Wall-clock time of an earlier or later moment of the same stream."""
        return self.wall_time + timedelta(seconds=stream_s - self.stream_s)


@dataclass(frozen=True)
class EvidenceBox:
    """One object that made a rule hold, as seen in one frame."""

    track_id: int
    class_id: int
    xyxy: tuple[float, float, float, float]
    confidence: float


@dataclass(frozen=True)
class RuleHit:
    """A rule holding in one frame for one zone: what the rules hand the event manager.

    ``since_s`` is the stream time the situation began (the start of the dwell), so an event
    reports when the angler sat down, not when the dwell threshold was reached.
    """

    type: EventType
    zone: str
    severity: Severity
    since_s: float
    confidence: float
    boxes: tuple[EvidenceBox, ...]

    @property
    def track_ids(self) -> tuple[int, ...]:
        return tuple(sorted({b.track_id for b in self.boxes}))


@dataclass(frozen=True)
class Event:
    """One incident, as the centre stores it; ``end`` is None while it is open."""

    id: UUID
    camera: str
    type: EventType
    severity: Severity
    zone: str
    start: datetime
    start_s: float
    end: datetime | None
    end_s: float | None
    best_confidence: float
    best_frame: FrameRef  # where to cut the evidence snapshot: the most confident moment
    evidence: tuple[EvidenceBox, ...]  # the objects in ``best_frame``
    track_ids: tuple[int, ...]
    model_name: str
    model_version: str

    @property
    def is_open(self) -> bool:
        return self.end is None


@dataclass(frozen=True)
class EventUpdate:
    """A change to send: the event as it now stands, and the frame that caused the change."""

    kind: UpdateKind
    event: Event
    at: FrameRef


@dataclass
class _Incident:
    event: Event
    last_hit: FrameRef
    sent_s: float
    changed: bool = False


def _merge(hits: list[RuleHit]) -> RuleHit:
    """Several hits for one type and zone in one frame (two anglers): one, best boxes first."""
    best = max(hits, key=lambda h: h.confidence)
    seen = {b.track_id for b in best.boxes}
    extra = tuple(b for h in hits for b in h.boxes if b.track_id not in seen)
    return replace(best, since_s=min(h.since_s for h in hits), boxes=best.boxes + extra)


class EventManager:
    """Turns each frame's rule hits into :class:`EventUpdate` records, one event per incident.

    Args:
        camera: camera name, copied into every event.
        model_name: detector name, copied into every event.
        model_version: detector version, copied into every event.
        quiet_s: seconds without a hit that close an incident (gaps shorter than this merge).
        cooldown_s: seconds after a close before the same type and zone may open again.
        update_interval_s: at most one ``updated`` record per event per this many seconds.
        id_factory: makes event ids (tests pass a counter).
    """

    def __init__(
        self,
        camera: str,
        *,
        model_name: str,
        model_version: str,
        quiet_s: float = 10.0,
        cooldown_s: float = 30.0,
        update_interval_s: float = 5.0,
        id_factory: Callable[[], UUID] = uuid4,
    ) -> None:
        if quiet_s <= 0 or cooldown_s < 0 or update_interval_s < 0:
            raise ValueError("need quiet_s > 0, cooldown_s >= 0 and update_interval_s >= 0")
        self.camera = camera
        self.model_name = model_name
        self.model_version = model_version
        self.quiet_s = quiet_s
        self.cooldown_s = cooldown_s
        self.update_interval_s = update_interval_s
        self._id_factory = id_factory
        self._open: dict[tuple[EventType, str], _Incident] = {}
        self._cooldown_until: dict[tuple[EventType, str], float] = {}
        self._last_s: float | None = None

    @property
    def open_events(self) -> tuple[Event, ...]:
        return tuple(i.event for i in self._open.values())

    def update(self, frame: FrameRef, hits: Iterable[RuleHit]) -> list[EventUpdate]:
        """Feed one frame's hits (possibly none); returns the records to send, maybe none."""
        if self._last_s is not None and frame.stream_s < self._last_s:
            raise ValueError(f"stream time went backwards: {frame.stream_s} after {self._last_s}")
        self._last_s = frame.stream_s
        grouped: dict[tuple[EventType, str], list[RuleHit]] = {}
        for hit in hits:
            grouped.setdefault((hit.type, hit.zone), []).append(hit)
        updates = []
        for key, group in grouped.items():
            hit = _merge(group)
            if key in self._open:
                self._extend(self._open[key], hit, frame)
            elif frame.stream_s >= self._cooldown_until.get(key, -math.inf):
                updates.append(self._open_incident(key, hit, frame))
        for key, incident in list(self._open.items()):
            if frame.stream_s - incident.last_hit.stream_s >= self.quiet_s:
                updates.append(self._close(key, frame))
            elif incident.changed and frame.stream_s - incident.sent_s >= self.update_interval_s:
                incident.changed = False
                incident.sent_s = frame.stream_s
                updates.append(EventUpdate(UpdateKind.UPDATED, incident.event, frame))
        return updates

    def close_all(self, frame: FrameRef) -> list[EventUpdate]:
        """Close every open event now (stream ended, camera removed, shutting down)."""
        return [self._close(key, frame) for key in list(self._open)]

    def _open_incident(
        self, key: tuple[EventType, str], hit: RuleHit, frame: FrameRef
    ) -> EventUpdate:
        # A situation that began during the cooldown is reported from the cooldown's end.
        start_s = min(max(hit.since_s, self._cooldown_until.get(key, -math.inf)), frame.stream_s)
        event = Event(
            id=self._id_factory(),
            camera=self.camera,
            type=hit.type,
            severity=hit.severity,
            zone=hit.zone,
            start=frame.wall_time_at(start_s),
            start_s=start_s,
            end=None,
            end_s=None,
            best_confidence=hit.confidence,
            best_frame=frame,
            evidence=hit.boxes,
            track_ids=hit.track_ids,
            model_name=self.model_name,
            model_version=self.model_version,
        )
        self._open[key] = _Incident(event, frame, frame.stream_s)
        return EventUpdate(UpdateKind.OPENED, event, frame)

    @staticmethod
    def _extend(incident: _Incident, hit: RuleHit, frame: FrameRef) -> None:
        event = incident.event
        incident.last_hit = frame
        track_ids = tuple(sorted(set(event.track_ids) | set(hit.track_ids)))
        if track_ids != event.track_ids:
            event = replace(event, track_ids=track_ids)
        if hit.confidence > event.best_confidence:
            event = replace(
                event, best_confidence=hit.confidence, best_frame=frame, evidence=hit.boxes
            )
        if event is not incident.event:
            incident.event = event
            incident.changed = True

    def _close(self, key: tuple[EventType, str], frame: FrameRef) -> EventUpdate:
        incident = self._open.pop(key)
        self._cooldown_until[key] = frame.stream_s + self.cooldown_s
        last = incident.last_hit
        event = replace(incident.event, end=last.wall_time, end_s=last.stream_s)
        return EventUpdate(UpdateKind.CLOSED, event, frame)
