from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import numpy as np
import pytest

from detector.classes import CLASS_NAMES
from detector.detections import Detections
from detector.events import Event, EventType, FrameRef, UpdateKind
from detector.pipeline import CameraAnalyzer, build_zones
from detector.settings import AnalysisSettings
from detector.zones import FrameSizeError, ZoneKind
from fishwatch.common.vocabulary import RULE_TYPES

T0 = datetime(2024, 5, 1, 0, 0, tzinfo=UTC)
BOAT = (100.0, 100.0, 300.0, 160.0)
SAMPLES = Path(__file__).resolve().parents[2] / "sample_videos"
SAMPLE_FILES = sorted(SAMPLES.glob("*.json"))


def _frame(t: float, index: int | None = None) -> FrameRef:
    return FrameRef(int(t) if index is None else index, t, T0 + timedelta(seconds=t))


def _analyzer(**settings: Any) -> CameraAnalyzer:
    ids = itertools.count(1)
    return CameraAnalyzer("pier-3", AnalysisSettings(**{"frame_size": (640, 360), **settings}),
                          model_name="fishwatch-yolo11n", model_version="0.1",
                          id_factory=lambda: UUID(int=next(ids)))


def _boats(*boxes: tuple[float, ...], conf: float = 0.9) -> Detections:
    return Detections(np.array(boxes, float).reshape(-1, 4), [conf] * len(boxes), [3] * len(boxes))


def _feed(analyzer: CameraAnalyzer, detections: Detections, seconds: int) -> list:
    return [u for t in range(seconds) for u in analyzer.update(_frame(t), detections)]


def test_nothing_seen_nothing_sent() -> None:
    analyzer = _analyzer()
    assert _feed(analyzer, Detections.empty(), 30) == []
    assert analyzer.close(_frame(30)) == []


def test_a_boat_in_the_default_zone_makes_one_event() -> None:
    analyzer = _analyzer()
    updates = _feed(analyzer, _boats(BOAT), 30)
    assert [(u.kind, u.at.stream_s) for u in updates] == [(UpdateKind.OPENED, 11.0)]
    event = updates[0].event
    assert (event.id, event.camera, event.type, event.zone) == (
        UUID(int=1), "pier-3", EventType.BOAT_INTRUSION, "frame")
    assert (event.model_name, event.model_version, event.track_ids) == (
        "fishwatch-yolo11n", "0.1", (1,))
    assert analyzer.open_events == (event,)
    (closed,) = analyzer.close(_frame(30))
    assert (closed.kind, closed.event.id, closed.event.end_s) == (UpdateKind.CLOSED, event.id, 29.0)
    assert analyzer.open_events == ()


@pytest.mark.parametrize(
    ("settings", "detections", "label"),
    [
        ({"zones": {"jetty": {"coordinates": [[90, 90], [310, 90], [310, 170], [90, 170]],
                              "kinds": ["ignore"]}}}, _boats(BOAT), "in an ignore zone"),
        ({"filters": {"boat": {"min_area": 20_000}}}, _boats(BOAT), "too small for a boat"),
        ({"filters": {"boat": {"threshold": 0.95}}}, _boats(BOAT), "median score too low"),
        ({}, _boats(BOAT, conf=0.55), "never confident enough to start a track"),
        ({"rules": {"boat_intrusion": {"enabled": False}}}, _boats(BOAT), "rule off"),
        ({"zones": {"bank": {"coordinates": [[0, 200], [640, 200], [640, 360], [0, 360]],
                             "kinds": ["no_fishing"]}}}, _boats(BOAT), "no no-boat zone"),
    ],
)
def test_what_never_becomes_an_event(settings: dict, detections: Detections, label: str) -> None:
    assert _feed(_analyzer(**settings), detections, 30) == [], label


def test_zone_inertia_delays_entry() -> None:
    river = {"coordinates": [[0, 0], [640, 0], [640, 200], [0, 200]], "kinds": ["no_boat"],
             "inertia": 3}
    (update,) = _feed(_analyzer(zones={"river": river}), _boats(BOAT), 30)
    assert (update.event.zone, update.event.start_s, update.at.stream_s) == ("river", 3.0, 13.0)


def test_only_ignore_zones_leave_the_rest_of_the_frame_watched() -> None:
    settings = AnalysisSettings(frame_size=(640, 360), zones={
        "road": {"coordinates": [[0, 300], [640, 300], [640, 360], [0, 360]], "kinds": ["ignore"]}})
    zones = build_zones(settings)
    assert [z.name for z in zones] == ["frame", "road"]
    assert zones[0].kinds == {ZoneKind.NO_FISHING, ZoneKind.WATER, ZoneKind.NO_BOAT}


def test_frame_size_is_checked_when_given() -> None:
    analyzer = _analyzer()
    analyzer.update(_frame(0), Detections.empty(), frame_size=(640, 360))
    with pytest.raises(FrameSizeError, match="640x360 frames, got 1280x720"):
        analyzer.update(_frame(1), Detections.empty(), frame_size=(1280, 720))


# --- ground truth of the rendered scenario clips --------------------------------------------------
def _analyse_clip(path: Path, fps: float) -> tuple[list[dict], list[Event]]:
    """Ground-truth boxes sampled at ``fps`` through a CameraAnalyzer; (truth, closed events)."""
    clip = json.loads(path.read_text())
    zones = {
        "bank": {"coordinates": clip["zones"]["bank"], "kinds": ["no_fishing"]},
        "water": {"coordinates": clip["zones"]["water"], "kinds": ["water", "no_boat"]},
    }
    analyzer = CameraAnalyzer(
        "sample", AnalysisSettings(frame_size=(clip["width"], clip["height"]), zones=zones),
        model_name="ground-truth", model_version="0")
    step = max(1, round(clip["fps"] / fps))
    updates = []
    for index in range(0, clip["frames"], step):
        boxes = clip["frames_boxes"][index]
        detections = Detections(
            np.array([b["xyxy"] for b in boxes], float).reshape(-1, 4), [0.9] * len(boxes),
            [CLASS_NAMES.index(b["class"]) for b in boxes])
        updates += analyzer.update(_frame(index / clip["fps"], index), detections,
                                   frame_size=(clip["width"], clip["height"]))
    updates += analyzer.close(_frame(clip["duration_s"], clip["frames"]))
    truth = [e for e in clip["events"] if e["type"] in RULE_TYPES]
    return truth, [u.event for u in updates if u.kind is UpdateKind.CLOSED]


def _score(truth: list[dict], events: list[Event]) -> tuple[int, int, int]:
    """(true positives, false positives, missed): same type and overlapping in time."""
    found = set()
    tp = fp = 0
    for event in events:
        assert event.end_s is not None
        match = [k for k, g in enumerate(truth) if g["type"] == event.type
                 and event.start_s < g["end_s"] and g["start_s"] < event.end_s]
        tp, fp = tp + bool(match), fp + (not match)
        found.update(match)
    return tp, fp, len(truth) - len(found)


@pytest.mark.skipif(not SAMPLE_FILES, reason="no sample_videos/*.json rendered yet")
@pytest.mark.parametrize("fps", [1.0, 2.0])
def test_sample_videos_ground_truth_gives_their_events(fps: float) -> None:
    """Event-level precision and recall of the rules on exact boxes: both must be 1."""
    tp = fp = missed = 0
    wrong = []
    for path in SAMPLE_FILES:
        truth, events = _analyse_clip(path, fps)
        clip_tp, clip_fp, clip_missed = _score(truth, events)
        tp, fp, missed = tp + clip_tp, fp + clip_fp, missed + clip_missed
        if clip_fp or clip_missed:
            expected = [(g["type"], g["start_s"], g["end_s"]) for g in truth]
            got = [(e.type.value, e.start_s, e.end_s) for e in events]
            wrong.append(f"{path.name}: truth {expected} got {got}")
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + missed) if tp + missed else 1.0
    assert (precision, recall) == (1.0, 1.0), "\n".join(
        [f"precision {precision:.2f} recall {recall:.2f} at {fps} fps", *wrong])
