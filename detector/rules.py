"""The four rules: which tracked objects, where and for how long, make a violation.

Each frame the :class:`RuleEngine` looks at the tracked objects and the zones they are in and
returns a :class:`~detector.events.RuleHit` for every violation that holds *now* and has held
long enough; turning hits into one event per incident is the event manager's job.

- ``angling``: a person in a no-fishing zone with a rod attached to them (the rod's box touches
  their box or their hands' reach) or beside rods standing still on rests, for ``min_dwell_s``.
- ``net_fishing``: a net lying over a water zone for ``min_dwell_s``; anyone or any boat near it
  is named, but no one is needed (a net left in the water is the offence).
- ``boat_intrusion``: a boat's bottom-centre in no-boat water for ``min_dwell_s``; its crew (people
  standing inside its box) is named.
- ``loitering``: a person in a no-fishing zone for ``min_dwell_s`` with no rod or net ever seen on
  or near them and not aboard a boat.

Dwell is timed per object and zone, so seven walkers crossing one after another never add up to
one loiterer. Distances are in multiples of the person's box height, so a rule reads the same on
the near bank and on the far one. A rule's ban calendar gates its hits, not its clocks: an angler
who sat down before the ban hour is reported as soon as it begins.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable, Set
from dataclasses import dataclass

import numpy as np

from detector.calendar import BanCalendar
from detector.classes import FishwatchClass
from detector.detections import Detections
from detector.events import EventType, EvidenceBox, FrameRef, RuleHit
from detector.settings import RulesSettings
from detector.zones import PolygonZone, ZoneKind

PERSON, ROD, NET, BOAT = (int(c) for c in FishwatchClass)


@dataclass(frozen=True, eq=False)
class Scene:
    """One frame as the rules see it.

    ``present[i, z]`` says whether tracked object ``i`` is in ``zones[z]`` (after inertia).
    """

    frame: FrameRef
    detections: Detections
    zones: tuple[PolygonZone, ...]
    present: np.ndarray

    def __post_init__(self) -> None:
        if self.detections.tracker_id is None:
            raise ValueError("Scene.detections must be tracked (tracker_id set)")
        want = (len(self.detections), len(self.zones))
        if np.shape(self.present) != want:
            raise ValueError(f"Scene.present must have shape {want}, got {np.shape(self.present)}")


class DwellClock:
    """Since when each key's condition has held, forgiving gaps up to ``max_gap_s``.

    A key that stops holding for longer than the gap starts again from zero when it next holds.

    Example:
        >>> clock = DwellClock(max_gap_s=2.0)
        >>> clock.update(0.0, ["a"]), clock.update(1.0, []), clock.update(2.0, ["a"])
        ({'a': 0.0}, {}, {'a': 0.0})
        >>> clock.update(5.0, ["a"])  # unseen 3 s > 2 s: a new start
        {'a': 5.0}
    """

    def __init__(self, max_gap_s: float) -> None:
        self.max_gap_s = max_gap_s
        self._since: dict[Hashable, float] = {}
        self._last: dict[Hashable, float] = {}

    def update(self, t: float, holding: Iterable[Hashable]) -> dict[Hashable, float]:
        """Record which keys hold at ``t``; returns their start times."""
        result = {}
        for key in holding:
            if key not in self._last or t - self._last[key] > self.max_gap_s:
                self._since[key] = t
            self._last[key] = t
            result[key] = self._since[key]
        for key in [k for k, last in self._last.items() if t - last > self.max_gap_s]:
            del self._since[key], self._last[key]
        return result


# --- geometry, in frame pixels -------------------------------------------------------------------
def _heights(xyxy: np.ndarray) -> np.ndarray:
    return np.maximum(xyxy[:, 3] - xyxy[:, 1], 1.0)


def _gap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(A, B) shortest distance between boxes; 0 where they touch or overlap."""
    dx = np.maximum(0, np.maximum(a[:, None, 0] - b[None, :, 2], b[None, :, 0] - a[:, None, 2]))
    dy = np.maximum(0, np.maximum(a[:, None, 1] - b[None, :, 3], b[None, :, 1] - a[:, None, 3]))
    return np.hypot(dx, dy)


def _inside_boxes(points: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(P, B) whether each point lies in each box."""
    x, y = points[:, None, 0], points[:, None, 1]
    return (x >= boxes[None, :, 0]) & (x <= boxes[None, :, 2]) & (y >= boxes[None, :, 1]) & (
        y <= boxes[None, :, 3]
    )


class _RodMotion:
    """Remembers where each rod has been, to tell rods resting on a stand from rods in motion."""

    def __init__(self, window_s: float, max_shift: float) -> None:
        self.window_s = window_s
        self.max_shift = max_shift
        self._history: dict[int, deque[tuple[float, np.ndarray]]] = {}

    def update(self, t: float, tracker_id: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
        """(R,) whether each rod has stood still for the whole window."""
        static = np.zeros(len(tracker_id), bool)
        for i, (track, box) in enumerate(zip(tracker_id, xyxy, strict=True)):
            centre = (box[:2] + box[2:]) / 2
            history = self._history.setdefault(int(track), deque())
            history.append((t, centre))
            while len(history) > 1 and history[1][0] <= t - self.window_s:
                history.popleft()  # keep one sample at or before the window's start
            if history[0][0] > t - self.window_s:
                continue  # not watched long enough yet
            diagonal = float(np.hypot(*(box[2:] - box[:2])))
            shift = max(float(np.hypot(*(c - centre))) for _, c in history)
            static[i] = shift <= self.max_shift * max(diagonal, 1.0)
        return static

    def forget(self, alive_ids: Set[int]) -> None:
        for track in set(self._history) - alive_ids:
            del self._history[track]


def _evidence(detections: Detections, indices: Iterable[int]) -> tuple[EvidenceBox, ...]:
    assert detections.tracker_id is not None
    return tuple(
        EvidenceBox(
            track_id=int(detections.tracker_id[i]),
            class_id=int(detections.class_id[i]),
            xyxy=tuple(float(v) for v in detections.xyxy[i]),  # type: ignore[arg-type]
            confidence=float(detections.confidence[i]),
        )
        for i in indices
    )


class RuleEngine:
    """Evaluates the four rules on each :class:`Scene` of one camera, keeping per-track memory.

    Example:
        >>> from datetime import datetime, timezone
        >>> from detector.settings import RulesSettings
        >>> from detector.zones import default_zones
        >>> engine = RuleEngine(RulesSettings())
        >>> zones = default_zones(640, 360)
        >>> boat = Detections([[100, 100, 300, 160]], [0.9], [BOAT], tracker_id=[1])
        >>> def at(t):
        ...     frame = FrameRef(int(t), t, datetime(2024, 5, 1, tzinfo=timezone.utc))
        ...     return engine.evaluate(Scene(frame, boat, zones, np.ones((1, 1), bool)))
        >>> [t for t in range(13) if at(float(t))]  # a boat must stay 10 s
        [10, 11, 12]
    """

    def __init__(self, settings: RulesSettings) -> None:
        self.settings = settings
        s = settings
        self._calendars = {
            EventType.ANGLING: BanCalendar(s.angling.calendar),
            EventType.NET_FISHING: BanCalendar(s.net_fishing.calendar),
            EventType.BOAT_INTRUSION: BanCalendar(s.boat_intrusion.calendar),
            EventType.LOITERING: BanCalendar(s.loitering.calendar),
        }
        self._clocks = {kind: DwellClock(s.max_gap_s) for kind in self._calendars}
        self._rods = _RodMotion(s.angling.static_window_s, s.angling.static_shift)
        self._has_gear: set[int] = set()

    def locate(self, detections: Detections, zones: tuple[PolygonZone, ...]) -> np.ndarray:
        """(N, Z) whether each object is in each zone this frame, before inertia.

        People, rods and boats by where they stand (bottom-centre); nets by how much of their
        box lies over the zone, since a net spread on the water has its bottom edge at the bank.
        """
        inside = np.zeros((len(detections), len(zones)), bool)
        nets = detections.class_id == NET
        for z, zone in enumerate(zones):
            inside[:, z] = zone.trigger(detections)
            if nets.any():
                coverage = zone.coverage(detections.xyxy[nets])
                inside[nets, z] = coverage >= self.settings.net_fishing.min_water_coverage
        return inside

    def evaluate(self, scene: Scene) -> list[RuleHit]:
        """The rule hits of one frame; call once per frame, in stream order."""
        d = scene.detections
        s = self.settings
        people = np.flatnonzero(d.class_id == PERSON)
        rods = np.flatnonzero(d.class_id == ROD)
        nets = np.flatnonzero(d.class_id == NET)
        boats = np.flatnonzero(d.class_id == BOAT)
        assert d.tracker_id is not None
        ids = d.tracker_id
        static = self._rods.update(scene.frame.stream_s, ids[rods], d.xyxy[rods])
        rod_links = self._rod_links(d.xyxy[people], d.xyxy[rods], static)
        heights = _heights(d.xyxy[people])[:, None]
        gear_near = rod_links | (
            _gap(d.xyxy[people], d.xyxy[rods]) <= s.loitering.gear_distance * heights
        )
        net_near = _gap(d.xyxy[people], d.xyxy[nets]) <= s.loitering.gear_distance * heights
        self._has_gear.update(int(ids[p]) for p in people[gear_near.any(1) | net_near.any(1)])
        aboard = _inside_boxes(d.bottom_center()[people], d.xyxy[boats]).any(axis=1)

        hits: list[RuleHit] = []
        if s.angling.enabled:
            hits += self._angling(scene, people, rods, rod_links)
        if s.net_fishing.enabled:
            hits += self._net_fishing(scene, nets, people, boats)
        if s.boat_intrusion.enabled:
            hits += self._boat_intrusion(scene, boats, people)
        if s.loitering.enabled:
            hits += self._loitering(scene, people, aboard)
        return [h for h in hits if self._calendars[h.type].applies(scene.frame.wall_time)]

    def forget(self, alive_ids: Set[int]) -> None:
        """Drop memory of tracks the tracker no longer holds."""
        self._rods.forget(alive_ids)
        self._has_gear &= alive_ids

    # --- the rules ---------------------------------------------------------------------------
    def _rod_links(self, people: np.ndarray, rods: np.ndarray, static: np.ndarray) -> np.ndarray:
        """(P, R) whether each rod is attached to, or standing beside, each person."""
        s = self.settings.angling
        h = _heights(people)
        margin = (s.touch_margin * h)[:, None]
        body = people + np.concatenate([-margin, -margin, margin, margin], axis=1)
        reach = (s.hand_reach * h)[:, None]
        hands = np.concatenate([
            people[:, [0]] - reach, people[:, [1]] + 0.25 * h[:, None],
            people[:, [2]] + reach, people[:, [1]] + 0.65 * h[:, None],
        ], axis=1)
        held = (_gap(body, rods) == 0) | (_gap(hands, rods) == 0)
        beside = static[None, :] & (_gap(people, rods) <= s.stand_distance * h[:, None])
        return held | beside

    def _dwelling(
        self, kind: EventType, scene: Scene, holding: list[tuple[int, int]]
    ) -> list[tuple[int, int, float]]:
        """(object row, zone column, since) for the ``holding`` pairs that have lasted."""
        ids = scene.detections.tracker_id
        assert ids is not None
        t = scene.frame.stream_s
        keys = [(int(ids[i]), scene.zones[z].name) for i, z in holding]
        since = self._clocks[kind].update(t, keys)
        min_dwell = getattr(self.settings, kind.value).min_dwell_s
        return [
            (i, z, since[key])
            for (i, z), key in zip(holding, keys, strict=True)
            if t - since[key] >= min_dwell
        ]

    def _zone_columns(self, scene: Scene, kind: ZoneKind) -> list[int]:
        return [z for z, zone in enumerate(scene.zones) if kind in zone.kinds]

    def _hit(
        self, kind: EventType, scene: Scene, z: int, since: float, confidence: float,
        rows: Iterable[int],
    ) -> RuleHit:
        return RuleHit(
            type=kind,
            zone=scene.zones[z].name,
            severity=getattr(self.settings, kind.value).severity,
            since_s=since,
            confidence=confidence,
            boxes=_evidence(scene.detections, rows),
        )

    def _angling(
        self, scene: Scene, people: np.ndarray, rods: np.ndarray, links: np.ndarray
    ) -> list[RuleHit]:
        conf = scene.detections.confidence
        row = {int(p): k for k, p in enumerate(people)}
        holding = [
            (int(p), z)
            for z in self._zone_columns(scene, ZoneKind.NO_FISHING)
            for k, p in enumerate(people)
            if scene.present[p, z] and links[k].any()
        ]
        hits = []
        for p, z, since in self._dwelling(EventType.ANGLING, scene, holding):
            mine = rods[links[row[p]]]
            confidence = min(float(conf[p]), float(conf[mine].max()))
            hits.append(self._hit(EventType.ANGLING, scene, z, since, confidence, [p, *mine]))
        return hits

    def _net_fishing(
        self, scene: Scene, nets: np.ndarray, people: np.ndarray, boats: np.ndarray
    ) -> list[RuleHit]:
        d = scene.detections
        near = self.settings.net_fishing.near_distance
        others = np.concatenate([people, boats])
        holding = [
            (int(n), z)
            for z in self._zone_columns(scene, ZoneKind.WATER)
            for n in nets
            if scene.present[n, z]
        ]
        hits = []
        for n, z, since in self._dwelling(EventType.NET_FISHING, scene, holding):
            gap = _gap(d.xyxy[[n]], d.xyxy[others])[0]
            close = others[gap <= near * _heights(d.xyxy[others])]
            hits.append(self._hit(
                EventType.NET_FISHING, scene, z, since, float(d.confidence[n]), [n, *close]))
        return hits

    def _boat_intrusion(
        self, scene: Scene, boats: np.ndarray, people: np.ndarray
    ) -> list[RuleHit]:
        d = scene.detections
        holding = [
            (int(b), z)
            for z in self._zone_columns(scene, ZoneKind.NO_BOAT)
            for b in boats
            if scene.present[b, z]
        ]
        hits = []
        for b, z, since in self._dwelling(EventType.BOAT_INTRUSION, scene, holding):
            crew = people[_inside_boxes(d.bottom_center()[people], d.xyxy[[b]])[:, 0]]
            hits.append(self._hit(
                EventType.BOAT_INTRUSION, scene, z, since, float(d.confidence[b]), [b, *crew]))
        return hits

    def _loitering(self, scene: Scene, people: np.ndarray, aboard: np.ndarray) -> list[RuleHit]:
        d = scene.detections
        assert d.tracker_id is not None
        holding = [
            (int(p), z)
            for z in self._zone_columns(scene, ZoneKind.NO_FISHING)
            for k, p in enumerate(people)
            if scene.present[p, z] and not aboard[k] and int(d.tracker_id[p]) not in self._has_gear
        ]
        return [
            self._hit(EventType.LOITERING, scene, z, since, float(d.confidence[p]), [p])
            for p, z, since in self._dwelling(EventType.LOITERING, scene, holding)
        ]
