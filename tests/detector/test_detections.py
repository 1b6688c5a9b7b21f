from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from detector.detections import Detections


def _three() -> Detections:
    return Detections(
        xyxy=[[0, 0, 10, 20], [5, 5, 15, 15], [100, 50, 140, 150]],
        confidence=[0.9, 0.5, 0.7],
        class_id=[0, 3, 0],
        data={"track_age": np.array([1, 2, 3])},
    )


def test_arrays_are_typed_copied_and_read_only() -> None:
    xyxy = np.array([[0, 0, 10, 20]], np.float64)
    d = Detections(xyxy, [0.9], [2])
    assert d.xyxy.dtype == np.float32 and d.confidence.dtype == np.float32
    assert d.class_id.dtype == np.int64 and d.tracker_id is None
    xyxy[0, 0] = 99
    assert d.xyxy[0, 0] == 0
    with pytest.raises(ValueError, match="read-only"):
        d.xyxy[0, 0] = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.xyxy = xyxy  # type: ignore[misc]
    with pytest.raises(TypeError):
        d.data["x"] = np.zeros(1)  # type: ignore[index]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"xyxy": np.zeros((3, 5))}, r"xyxy must have shape \(N, 4\), got \(3, 5\)"),
        ({"xyxy": np.zeros(4)}, r"xyxy must have shape \(N, 4\), got \(4,\)"),
        ({"confidence": np.zeros(2)}, r"confidence must have shape \(3,\), got \(2,\)"),
        ({"class_id": np.zeros((3, 1))}, r"class_id must have shape \(3,\), got \(3, 1\)"),
        ({"tracker_id": np.zeros(4)}, r"tracker_id must have shape \(3,\), got \(4,\)"),
        ({"data": {"x": np.zeros(2)}}, r"data\['x'\] must have shape \(N, \.\.\.\) with N=3"),
    ],
)
def test_shape_errors_name_expected_and_actual(kwargs: dict, message: str) -> None:
    base = {"xyxy": np.zeros((3, 4)), "confidence": np.zeros(3), "class_id": np.zeros(3)}
    with pytest.raises(ValueError, match=message):
        Detections(**{**base, **kwargs})


def test_empty_and_len() -> None:
    assert len(Detections.empty()) == 0
    assert Detections.empty().xyxy.shape == (0, 4)
    assert len(_three()) == 3


def test_indexing_by_mask_int_slice_and_list() -> None:
    d = dataclasses.replace(_three(), tracker_id=[7, 8, 9])
    by_mask = d[d.class_id == 0]
    assert by_mask.tracker_id.tolist() == [7, 9]
    assert by_mask.data["track_age"].tolist() == [1, 3]
    assert len(d[1]) == 1 and d[1].class_id.tolist() == [3]
    assert d[1:].confidence.tolist() == pytest.approx([0.5, 0.7])
    assert d[[2, 0]].xyxy[0].tolist() == [100, 50, 140, 150]
    assert len(d[np.zeros(3, bool)]) == 0


def test_merge_concatenates_and_skips_empty() -> None:
    merged = Detections.merge([_three(), Detections.empty(), _three()[:1]])
    assert len(merged) == 4
    assert merged.class_id.tolist() == [0, 3, 0, 0]
    assert merged.data["track_age"].tolist() == [1, 2, 3, 1]
    assert len(Detections.merge([])) == 0
    assert len(Detections.merge([Detections.empty()])) == 0


def test_merge_rejects_inconsistent_parts() -> None:
    tracked = dataclasses.replace(_three(), tracker_id=[1, 2, 3])
    with pytest.raises(ValueError, match="tracker_id"):
        Detections.merge([tracked, _three()])
    with pytest.raises(ValueError, match="data keys"):
        Detections.merge([_three(), dataclasses.replace(_three(), data={})])
    assert Detections.merge([tracked, tracked]).tracker_id.tolist() == [1, 2, 3, 1, 2, 3]


def test_anchors_and_area() -> None:
    d = _three()
    assert d.bottom_center().tolist() == [[5, 20], [10, 15], [120, 150]]
    assert d.area.tolist() == [200, 100, 4000]
    assert Detections.empty().bottom_center().shape == (0, 2)
