from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from detector.annotate import CLASS_COLOURS, EvidenceAnnotator
from detector.classes import FishwatchClass
from detector.detections import Detections
from detector.zones import PolygonZone, ZoneKind

T = datetime(2024, 5, 1, 8, 30, tzinfo=UTC)


def _frame() -> np.ndarray:
    frame = np.full((360, 640, 3), 90, np.uint8)
    frame.flags.writeable = False  # as frames from the cameras are
    return frame


def test_draws_on_a_copy_and_leaves_the_frame_alone() -> None:
    frame = _frame()
    boat = Detections([[100, 100, 300, 160]], [0.9], [FishwatchClass.BOAT], tracker_id=[7])
    out = EvidenceAnnotator().annotate(frame, boat, camera="pier-3", time=T, caption="boat")
    assert out.shape == frame.shape and out.dtype == np.uint8 and out is not frame
    assert (frame == 90).all()
    # The box outline is drawn in the boat colour (left edge, away from the label).
    assert tuple(out[130, 100]) == CLASS_COLOURS[FishwatchClass.BOAT]
    assert (out[130, 200] == 90).all()  # inside the box: untouched
    assert (out[:15, :200] != 90).any()  # the header band


def test_zones_are_shaded_and_outlined() -> None:
    bank = PolygonZone(
        "bank",
        np.array([[0, 200], [640, 200], [640, 360], [0, 360]]),
        (640, 360),
        frozenset({ZoneKind.NO_FISHING}),
    )
    out = EvidenceAnnotator(zone_opacity=0.5).annotate(
        _frame(), Detections.empty(), [bank], camera="pier-3", time=T
    )
    assert (out[300, 320] != 90).any() and (out[100, 320] == 90).all()


def test_non_ascii_camera_names_and_empty_detections() -> None:
    out = EvidenceAnnotator().annotate(_frame(), Detections.empty(), camera="望江亭", time=T)
    assert out.shape == (360, 640, 3)


def test_rejects_what_is_not_a_bgr_frame() -> None:
    with pytest.raises(ValueError, match="BGR uint8"):
        EvidenceAnnotator().annotate(
            np.zeros((10, 10), np.uint8), Detections.empty(), camera="x", time=T
        )
