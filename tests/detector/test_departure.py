"""The loudspeaker's outcome, judged on the analyzer's own tracks over synthetic sequences."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from detector.departure import DepartureWatch
from detector.detections import Detections
from detector.events import FrameRef, UpdateKind
from detector.pipeline import CameraAnalyzer
from detector.settings import AnalysisSettings
from fishwatch.common.vocabulary import EventType, WarningOutcome

PERSON, ROD, NET, BOAT = 0, 1, 2, 3
T0 = datetime(2024, 5, 1, 8, tzinfo=UTC)
SIZE = (640, 360)
ZONES = {
    "water": {"coordinates": [[0, 0], [640, 0], [640, 180], [0, 180]],
              "kinds": ["water", "no_boat"]},
    "bank": {"coordinates": [[0, 180], [640, 180], [640, 360], [0, 360]],
             "kinds": ["no_fishing"]},
}
ANGLER = (300, 200, 330, 290)
ROD_IN_HAND = (325, 150, 420, 230)
WALKER = (100, 220, 128, 305)  # stands on the bank, never near any gear
BOAT_BOX = (200, 60, 360, 120)
LEAVE_WITHIN_S = 8
Box = tuple[float, float, float, float]
Objects = list[tuple[int, Box]]  # (class, box)


def _detections(objects: Objects) -> Detections:
    if not objects:
        return Detections.empty()
    classes, boxes = zip(*objects, strict=True)
    return Detections(np.array(boxes, float), [0.9] * len(objects), classes)


def _warned(scene_at: Callable[[float], Objects], seconds: int = 45,
            fps: float = 1.0) -> tuple[EventType, WarningOutcome | None]:
    """Run a scene through an analyzer; the first event to open is warned at once, and its
    watch is fed every frame while the event stays open. Returns its type and outcome."""
    analyzer = CameraAnalyzer("pier", AnalysisSettings(frame_size=SIZE, zones=ZONES),
                              model_name="m", model_version="1")
    watch, warned = None, None
    for index in range(int(seconds * fps)):
        t = index / fps
        updates = analyzer.update(FrameRef(index, t, T0 + timedelta(seconds=t)),
                                  _detections(scene_at(t)))
        for update in updates:
            if update.kind is UpdateKind.OPENED and warned is None:
                warned = update.event
                watch = DepartureWatch(warned.zone, deadline_s=t + LEAVE_WITHIN_S,
                                       max_gap_s=analyzer.settings.rules.max_gap_s)
        event = next((e for e in analyzer.open_events if warned and e.id == warned.id), None)
        if watch is not None and event is not None:
            watch.observe(analyzer.scene, event.track_ids)
    assert warned is not None and watch is not None, "no event opened"
    return warned.type, watch.outcome


def _until(t_end: float, objects: Objects) -> Callable[[float], Objects]:
    return lambda t: objects if t < t_end else []


def _walking_off(objects: Objects, from_s: float, px_per_s: float) -> Callable[[float], Objects]:
    """The objects walk right from ``from_s`` and are not seen once past the frame's edge."""
    def scene_at(t: float) -> Objects:
        dx = px_per_s * max(0.0, t - from_s)
        moved = [(c, (x0 + dx, y0, x1 + dx, y1)) for c, (x0, y0, x1, y1) in objects]
        return [(c, box) for c, box in moved if box[0] < SIZE[0]]
    return scene_at


@pytest.mark.parametrize(("scene_at", "expected", "label"), [
    (_until(1e9, [(PERSON, ANGLER), (ROD, ROD_IN_HAND)]),
     (EventType.ANGLING, WarningOutcome.STAYED), "the angler fishes on"),
    (_until(14, [(PERSON, ANGLER), (ROD, ROD_IN_HAND)]),
     (EventType.ANGLING, WarningOutcome.DISPERSED), "the angler packs up and goes"),
    (lambda t: [(PERSON, WALKER)] + ([(PERSON, ANGLER), (ROD, ROD_IN_HAND)] if t < 14 else []),
     (EventType.ANGLING, WarningOutcome.DISPERSED), "the angler goes; a walker stays behind"),
    (_walking_off([(PERSON, ANGLER), (ROD, ROD_IN_HAND)], from_s=12, px_per_s=80),
     (EventType.ANGLING, WarningOutcome.DISPERSED), "the angler walks off the frame with the rod"),
    (lambda t: [(PERSON, ANGLER), (ROD, ROD_IN_HAND)] if t < 14 or t >= 17 else [],
     (EventType.ANGLING, WarningOutcome.STAYED), "out of sight for 3 s, back before the deadline"),
    (_until(1e9, [(BOAT, BOAT_BOX)]),
     (EventType.BOAT_INTRUSION, WarningOutcome.STAYED), "an empty boat stays: judged on the boat"),
    (_until(14, [(BOAT, BOAT_BOX)]),
     (EventType.BOAT_INTRUSION, WarningOutcome.DISPERSED), "the boat leaves"),
])
def test_outcome(scene_at: Callable[[float], Objects], expected: tuple[EventType, WarningOutcome],
                 label: str) -> None:
    assert _warned(scene_at) == expected, label


def test_a_missed_frame_at_the_deadline_is_not_a_departure() -> None:
    """Sampled twice a second, the angler is missed at the deadline and the frame before it."""
    deadline = {}

    def scene_at(t: float) -> Objects:
        missed = deadline and deadline["t"] - 1 <= t <= deadline["t"]
        return [] if missed else [(PERSON, ANGLER), (ROD, ROD_IN_HAND)]

    analyzer = CameraAnalyzer("pier", AnalysisSettings(frame_size=SIZE, zones=ZONES),
                              model_name="m", model_version="1")
    watch = None
    outcomes = []
    for index in range(80):
        t = index / 2
        updates = analyzer.update(FrameRef(index, t, T0 + timedelta(seconds=t)),
                                  _detections(scene_at(t)))
        if any(u.kind is UpdateKind.OPENED for u in updates):
            watch = DepartureWatch("bank", deadline_s=t + LEAVE_WITHIN_S, max_gap_s=3.0)
            deadline["t"] = t + LEAVE_WITHIN_S
        if watch is not None:
            (event,) = analyzer.open_events
            outcomes.append(watch.observe(analyzer.scene, event.track_ids))
    assert [o for o in outcomes if o is not None] == [WarningOutcome.STAYED]


def test_no_scene_before_the_first_frame_and_an_empty_one_after() -> None:
    analyzer = CameraAnalyzer("pier", AnalysisSettings(frame_size=SIZE), model_name="m",
                              model_version="1")
    assert analyzer.scene is None
    analyzer.update(FrameRef(0, 0.0, T0), Detections.empty())
    assert analyzer.scene is not None and len(analyzer.scene.detections) == 0
    watch = DepartureWatch("frame", deadline_s=0.0, max_gap_s=3.0)
    assert watch.observe(analyzer.scene, ()) is WarningOutcome.DISPERSED
    assert watch.observe(analyzer.scene, ()) is None  # given once
