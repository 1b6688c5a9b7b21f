from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from detector.detections import Detections
from detector.events import EventType, FrameRef, RuleHit
from detector.rules import DwellClock, RuleEngine, Scene
from detector.settings import RulesSettings
from detector.zones import PolygonZone, ZoneKind

PERSON, ROD, NET, BOAT = 0, 1, 2, 3
SHANGHAI = timezone(timedelta(hours=8))
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=SHANGHAI)
SIZE = (640, 360)
# The river above y=180, the bank below it.
ZONES = (
    PolygonZone("water", np.array([(0, 0), (640, 0), (640, 180), (0, 180)]), SIZE,
                frozenset({ZoneKind.WATER, ZoneKind.NO_BOAT})),
    PolygonZone("bank", np.array([(0, 180), (640, 180), (640, 360), (0, 360)]), SIZE,
                frozenset({ZoneKind.NO_FISHING})),
)
ANGLER = (300, 200, 330, 290)  # 90 px tall, standing on the bank
Box = tuple[float, float, float, float]
Objects = list[tuple[int, int, Box]]  # (track id, class, box)


def _detections(objects: Objects) -> Detections:
    if not objects:
        return Detections(np.zeros((0, 4)), [], [], tracker_id=[])
    ids, classes, boxes = zip(*objects, strict=True)
    return Detections(np.array(boxes, float), [0.9] * len(objects), classes, tracker_id=ids)


def _run(engine: RuleEngine, scene_at: Callable[[int], Objects], seconds: int = 40,
         start: datetime = T0) -> dict[int, list[RuleHit]]:
    """Hits per second of a scene sampled at 1 fps; zone presence without inertia."""
    hits = {}
    for t in range(seconds):
        d = _detections(scene_at(t))
        frame = FrameRef(t, float(t), start + timedelta(seconds=t))
        hits[t] = engine.evaluate(Scene(frame, d, ZONES, engine.locate(d, ZONES)))
    return hits


def _first(hits: dict[int, list[RuleHit]], kind: EventType) -> int | None:
    return next((t for t, found in hits.items() if any(h.type is kind for h in found)), None)


def _moving(box: Box, dx_per_s: float) -> Callable[[int], Box]:
    return lambda t: (box[0] + dx_per_s * t, box[1], box[2] + dx_per_s * t, box[3])


@pytest.mark.parametrize(
    ("rod", "first_hit", "label"),
    [
        (lambda t: (325, 150, 420, 230), 10, "rod overlaps the person's box"),
        (lambda t: (340, 180, 440, 240), 10, "rod butt within the hands' reach"),
        (lambda t: (400, 120, 500, 230), 13, "rod on a stand 70 px away: static after 3 s"),
        (_moving((400, 120, 500, 230), 30), None, "rod 70 px away but moving: not on a stand"),
        (lambda t: (560, 120, 640, 230), None, "rod on a stand 2.6 heights away"),
        (None, None, "no rod"),
    ],
)
def test_angling(rod: Callable[[int], Box] | None, first_hit: int | None, label: str) -> None:
    def scene(t: int) -> Objects:
        return [(1, PERSON, ANGLER)] + ([(2, ROD, rod(t))] if rod else [])

    hits = _run(RuleEngine(RulesSettings()), scene)
    assert _first(hits, EventType.ANGLING) == first_hit, label
    if first_hit is not None:
        (hit,) = hits[first_hit]
        assert (hit.zone, hit.since_s, hit.track_ids) == ("bank", first_hit - 10.0, (1, 2))


def test_angling_needs_the_person_in_a_no_fishing_zone() -> None:
    in_water = (300, 100, 330, 170)
    hits = _run(RuleEngine(RulesSettings()),
                lambda t: [(1, PERSON, in_water), (2, ROD, (325, 60, 420, 140))])
    assert _first(hits, EventType.ANGLING) is None


@pytest.mark.parametrize(
    ("extra", "first_hit", "label"),
    [
        (lambda t: [], 20, "alone"),
        (lambda t: [(2, ROD, (325, 150, 420, 230))] if t == 5 else [], None, "had a rod once"),
        (lambda t: [(3, NET, (340, 150, 420, 230))] if t == 8 else [], None, "had a net once"),
        (lambda t: [(4, ROD, (600, 100, 640, 150))], 20, "a rod far away is not theirs"),
        (lambda t: [(5, BOAT, (250, 180, 400, 300))], None, "aboard a boat"),
    ],
)
def test_loitering(extra: Callable[[int], Objects], first_hit: int | None, label: str) -> None:
    hits = _run(RuleEngine(RulesSettings()), lambda t: [(1, PERSON, ANGLER), *extra(t)])
    assert _first(hits, EventType.LOITERING) == first_hit, label


def test_loitering_is_timed_per_person() -> None:
    # A new walker every 12 s: someone is always there, nobody stays 20 s.
    def scene(t: int) -> Objects:
        return [(1 + t // 12, PERSON, (40 * (t % 12), 200, 40 * (t % 12) + 30, 290))]

    assert _first(_run(RuleEngine(RulesSettings()), scene, 60), EventType.LOITERING) is None


@pytest.mark.parametrize(
    ("net", "first_hit", "named"),
    [
        ((340, 100, 440, 160), 2, (1, 3)),  # on the water, its thrower beside it
        ((340, 120, 440, 260), 2, (1, 3)),  # half over the water
        ((500, 20, 600, 60), 2, (3,)),  # far out: nobody near, still a net in the water
        ((340, 250, 440, 300), None, ()),  # drying on the bank
    ],
)
def test_net_fishing(net: Box, first_hit: int | None, named: tuple[int, ...]) -> None:
    hits = _run(RuleEngine(RulesSettings()), lambda t: [(1, PERSON, ANGLER), (3, NET, net)])
    assert _first(hits, EventType.NET_FISHING) == first_hit
    if first_hit is not None:
        net_hits = [h for h in hits[first_hit] if h.type is EventType.NET_FISHING]
        assert net_hits[0].track_ids == named and net_hits[0].zone == "water"


@pytest.mark.parametrize(
    ("boat", "first_hit"),
    [((100, 100, 300, 170), 10), ((100, 250, 300, 340), None)],
)
def test_boat_intrusion_names_the_crew(boat: Box, first_hit: int | None) -> None:
    crew = (150, 90, 170, 150)
    hits = _run(RuleEngine(RulesSettings()), lambda t: [(7, BOAT, boat), (8, PERSON, crew)])
    assert _first(hits, EventType.BOAT_INTRUSION) == first_hit
    if first_hit is not None:
        assert hits[first_hit][0].track_ids == (7, 8)


def test_calendar_gates_hits_but_not_dwell() -> None:
    settings = RulesSettings(angling={"calendar": {"hours": [{"start": "08:00", "end": "09:00"}]}})
    start = datetime(2024, 5, 1, 7, 59, 45, tzinfo=SHANGHAI)
    rod = (325, 150, 420, 230)
    hits = _run(RuleEngine(settings), lambda t: [(1, PERSON, ANGLER), (2, ROD, rod)], start=start)
    assert _first(hits, EventType.ANGLING) == 15  # the ban begins at 08:00:00
    assert hits[15][0].since_s == 0.0


def test_disabled_rules_are_silent() -> None:
    settings = RulesSettings(boat_intrusion={"enabled": False})
    hits = _run(RuleEngine(settings), lambda t: [(7, BOAT, (100, 100, 300, 170))])
    assert _first(hits, EventType.BOAT_INTRUSION) is None


def test_empty_scene_and_forget() -> None:
    engine = RuleEngine(RulesSettings())
    assert _run(engine, lambda t: [], 3) == {0: [], 1: [], 2: []}
    _run(engine, lambda t: [(2, ROD, (325, 150, 420, 230)), (1, PERSON, ANGLER)], 2)
    engine.forget(set())  # person 1 ended: a new person 1 is not known to have gear
    hits = _run(engine, lambda t: [(1, PERSON, ANGLER)], 25, start=T0 + timedelta(minutes=1))
    assert _first(hits, EventType.LOITERING) == 20


def test_scene_checks_its_shapes() -> None:
    frame = FrameRef(0, 0.0, T0)
    with pytest.raises(ValueError, match="tracker_id"):
        Scene(frame, Detections.empty(), ZONES, np.zeros((0, 2), bool))
    with pytest.raises(ValueError, match=r"shape \(0, 2\)"):
        Scene(frame, _detections([]), ZONES, np.zeros((0, 1), bool))


@pytest.mark.parametrize(
    ("timeline", "expected"),
    [
        ([(0, "a"), (1, "a"), (2, "a")], {0: 0, 1: 0, 2: 0}),
        ([(0, "a"), (1, None), (3, "a")], {0: 0, 3: 0}),  # 3 s gap: forgiven
        ([(0, "a"), (4, "a")], {0: 0, 4: 4}),  # 4 s gap: restarts
        ([(0, None)], {}),
    ],
)
def test_dwell_clock(timeline: list[tuple[int, str | None]], expected: dict[int, int]) -> None:
    clock = DwellClock(max_gap_s=3.0)
    got = {}
    for t, key in timeline:
        since = clock.update(float(t), [key] if key else [])
        if key:
            got[t] = since[key]
    assert got == expected
