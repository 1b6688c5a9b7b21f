from __future__ import annotations

import numpy as np
import pytest

from detector.detections import Detections
from detector.tracking import ByteTracker, box_iou, greedy_match

PERSON, BOAT = 0, 3


def _boxes(*xyxy: tuple[float, float, float, float], conf: float = 0.9, cls: int = PERSON
           ) -> Detections:
    return Detections(np.array(xyxy, float).reshape(-1, 4), [conf] * len(xyxy), [cls] * len(xyxy))


def _walker(x: float, y: float = 100) -> tuple[float, float, float, float]:
    """A 30x90 person standing at ``x``."""
    return (x, y, x + 30, y + 90)


def test_empty_frames() -> None:
    tracker = ByteTracker()
    out = tracker.update(Detections.empty(), 0.0)
    assert len(out) == 0 and out.tracker_id is not None and out.tracker_id.shape == (0,)
    assert tracker.alive_ids == frozenset()


def test_tracks_are_confirmed_after_min_hits_and_keep_data() -> None:
    tracker = ByteTracker(min_hits=2)
    d = Detections([_walker(0)], [0.9], [PERSON], data={"k": np.array([5])})
    assert len(tracker.update(d, 0.0)) == 0
    out = tracker.update(d, 0.5)
    assert out.tracker_id.tolist() == [1] and out.data["k"].tolist() == [5]


@pytest.mark.parametrize("fps", [1, 2])
@pytest.mark.parametrize(
    ("speed", "label"),
    [
        (45.0, "walker: one and a half widths a second, no overlap at 1 fps"),
        (200.0, "cyclist: about two diagonals a second"),
        (0.0, "standing"),
    ],
)
def test_ids_survive_low_frame_rates(fps: int, speed: float, label: str) -> None:
    tracker = ByteTracker(min_hits=1)
    ids = []
    for k in range(10):
        t = k / fps
        ids += tracker.update(_boxes(_walker(10 + speed * t)), t).tracker_id.tolist()
    assert ids == [1] * 10, label


def test_two_people_passing_keep_their_ids() -> None:
    tracker = ByteTracker(min_hits=1)
    for t in range(8):
        out = tracker.update(_boxes(_walker(40 * t, 100), _walker(400 - 40 * t, 300)), float(t))
        assert out.tracker_id.tolist() == [1, 2]


def test_association_is_per_class() -> None:
    tracker = ByteTracker(min_hits=1)
    tracker.update(_boxes(_walker(0)), 0.0)
    out = tracker.update(_boxes(_walker(0), cls=BOAT), 1.0)
    assert out.tracker_id.tolist() == [2]


def test_weak_detections_extend_tracks_but_never_start_them() -> None:
    tracker = ByteTracker(min_hits=1)
    tracker.update(_boxes(_walker(0)), 0.0)
    assert tracker.update(_boxes(_walker(5), conf=0.3), 1.0).tracker_id.tolist() == [1]
    assert len(tracker.update(_boxes(_walker(500), conf=0.3), 2.0)) == 0
    assert len(tracker.update(_boxes(_walker(600), conf=0.05), 3.0)) == 0


@pytest.mark.parametrize(("gap_s", "same_id"), [(3.0, True), (7.0, False)])
def test_lost_buffer_in_seconds(gap_s: float, same_id: bool) -> None:
    tracker = ByteTracker(min_hits=1, lost_time_s=5.0)
    tracker.update(_boxes(_walker(100)), 0.0)
    tracker.update(Detections.empty(), 1.0)
    assert tracker.alive_ids == {1}
    back = tracker.update(_boxes(_walker(100)), gap_s)
    assert (back.tracker_id.tolist() == [1]) is same_id


def test_a_track_that_left_the_frame_is_not_given_to_the_next_arrival() -> None:
    tracker = ByteTracker(min_hits=1, frame_size=(400, 300))
    for t in range(4):  # walks out to the right
        tracker.update(_boxes(_walker(250 + 60 * t)), float(t))
    tracker.update(Detections.empty(), 4.0)
    tracker.update(Detections.empty(), 5.0)
    assert tracker.alive_ids == frozenset()
    assert tracker.update(_boxes(_walker(370)), 6.0).tracker_id.tolist() == [2]


def test_unconfirmed_tracks_die_silently_and_ids_stay_dense() -> None:
    tracker = ByteTracker(min_hits=2)
    tracker.update(_boxes(_walker(0)), 0.0)  # a one-frame false positive
    tracker.update(Detections.empty(), 1.0)
    tracker.update(_boxes(_walker(300)), 2.0)
    assert tracker.update(_boxes(_walker(300)), 3.0).tracker_id.tolist() == [1]


def test_time_must_not_go_backwards_until_reset() -> None:
    tracker = ByteTracker(min_hits=1)
    tracker.update(_boxes(_walker(0)), 5.0)
    with pytest.raises(ValueError, match="went backwards"):
        tracker.update(_boxes(_walker(0)), 4.0)
    tracker.reset()
    assert tracker.update(_boxes(_walker(0)), 0.0).tracker_id.tolist() == [1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"low_threshold": 0.6, "high_threshold": 0.5}, "low_threshold"),
        ({"min_hits": 0}, "min_hits"),
        ({"gate_slack": 0}, "gate_slack"),
    ],
)
def test_invalid_settings(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ByteTracker(**kwargs)


@pytest.mark.parametrize(
    ("similarity", "pairs"),
    [
        ([[0.9, 0.8], [0.85, 0.1]], [(0, 0)]),  # 0.1 is under the threshold
        ([[0.9, 0.8], [0.85, 0.3]], [(0, 0), (1, 1)]),
        ([[0.1]], []),
        (np.zeros((0, 3)), []),
    ],
)
def test_greedy_match(similarity: list, pairs: list) -> None:
    rows, cols = greedy_match(np.array(similarity, float).reshape(-1, 3 if not len(similarity)
                                                                  else len(similarity[0])), 0.2)
    assert sorted(zip(rows.tolist(), cols.tolist(), strict=True)) == pairs


def test_box_iou() -> None:
    a = np.array([[0, 0, 10, 10]], float)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 0, 0]], float)
    np.testing.assert_allclose(box_iou(a, b), [[1.0, 1 / 3, 0.0, 0.0]])
