from __future__ import annotations

import numpy as np
import pytest

from detector.detections import Detections
from detector.filters import BoxSizeFilter, MedianScoreGate, SizeLimits, ZoneInertia


@pytest.mark.parametrize(
    ("box", "class_id", "kept"),
    [
        ((0, 0, 10, 30), 0, True),
        ((0, 0, 3, 30), 0, False),  # too narrow for a person
        ((0, 0, 10, 10), 0, False),  # too low
        ((0, 0, 40, 2), 1, True),  # a thin rod: only its area counts
        ((0, 0, 4, 4), 1, False),
        ((0, 0, 1, 1), 3, True),  # boats are not limited here
        ((0, 0, 1, 1), 9, True),  # nor are ids beyond the table
    ],
)
def test_box_size_filter(box: tuple, class_id: int, kept: bool) -> None:
    keep = BoxSizeFilter({0: SizeLimits(min_width=5, min_height=20), 1: SizeLimits(min_area=24)})
    assert len(keep(Detections([box], [0.9], [class_id]))) == int(kept)


def test_box_size_filter_empty_cases() -> None:
    assert len(BoxSizeFilter({0: SizeLimits(min_area=10)})(Detections.empty())) == 0
    d = Detections([[0, 0, 1, 1]], [0.9], [0])
    assert BoxSizeFilter({})(d) is d


def test_median_gate_latches_and_forgets() -> None:
    gate = MedianScoreGate({3: 0.7}, history=3)

    def seen(track: int, score: float, class_id: int = 3) -> bool:
        return bool(len(gate(Detections([[0, 0, 9, 9]], [score], [class_id], tracker_id=[track]))))

    assert [seen(1, s) for s in (0.9, 0.2, 0.1)] == [True, True, True]  # passed once: stays
    assert [seen(2, s) for s in (0.6, 0.75, 0.6, 0.9, 0.9)] == [False, False, False, True, True]
    assert seen(5, 0.05, class_id=0)  # no threshold for the class
    gate.forget({2})
    assert not seen(1, 0.2)  # forgotten, starts again
    assert len(gate(Detections(np.zeros((0, 4)), [], [], tracker_id=[]))) == 0
    with pytest.raises(ValueError, match="tracker_id"):
        gate(Detections.empty())
    with pytest.raises(ValueError, match="history"):
        MedianScoreGate({}, history=0)


def test_zone_inertia_is_symmetric_hysteresis() -> None:
    inertia = ZoneInertia([2, 1])
    ids = np.array([7])
    frames = [[1, 1], [1, 0], [0, 1], [1, 1], [0, 0], [0, 0]]
    got = [inertia(ids, np.array([f], bool))[0].tolist() for f in frames]
    assert got == [
        [False, True],
        [True, False],  # zone 0: two frames inside; zone 1 reacts at once
        [True, True],  # one frame outside is not leaving
        [True, True],
        [True, False],
        [False, False],  # two frames outside: gone
    ]


def test_zone_inertia_per_track_and_forget() -> None:
    inertia = ZoneInertia([2])
    inertia(np.array([1, 2]), np.array([[True], [False]]))
    assert inertia(np.array([1, 2]), np.array([[True], [True]])).tolist() == [[True], [False]]
    inertia.forget({2})
    assert inertia(np.array([1]), np.array([[True]])).tolist() == [[False]]
    assert inertia(np.zeros(0, np.int64), np.zeros((0, 1), bool)).shape == (0, 1)
    with pytest.raises(ValueError, match="inertia"):
        ZoneInertia([0])
