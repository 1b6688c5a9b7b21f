from __future__ import annotations

import numpy as np
import pytest

from detector.nms import nms

A = [0, 0, 10, 10]
A_SHIFTED = [1, 0, 11, 10]  # IoU with A = 90/110 = 0.82
A_HALF = [0, 0, 10, 5]  # IoU with A = exactly 0.5
FAR = [100, 100, 110, 110]


@pytest.mark.parametrize(
    ("boxes", "scores", "classes", "iou", "max_det", "expected"),
    [
        ([], [], [], 0.5, None, []),
        ([A], [0.3], [0], 0.5, None, [0]),
        ([A, A_SHIFTED], [0.6, 0.9], [0, 0], 0.5, None, [1]),  # lower score suppressed
        ([A, A_SHIFTED], [0.6, 0.9], [0, 1], 0.5, None, [1, 0]),  # other class survives
        ([A, A_SHIFTED], [0.6, 0.9], [2, 2], 0.9, None, [1, 0]),  # below the threshold
        ([A, A_HALF], [0.9, 0.8], [0, 0], 0.5, None, [0, 1]),  # IoU == threshold is kept
        ([A, A_HALF], [0.9, 0.8], [0, 0], 0.49, None, [0]),
        ([A, FAR, A_SHIFTED], [0.2, 0.5, 0.9], [0, 0, 0], 0.5, None, [2, 1]),
        ([A, FAR, A_SHIFTED], [0.2, 0.5, 0.9], [0, 1, 2], 0.5, 2, [2, 1]),  # max detections
        ([[-50, -50, -40, -40], [-49, -50, -39, -40]], [0.9, 0.8], [0, 1], 0.1, None, [0, 1]),
    ],
)
def test_nms_table(
    boxes: list, scores: list, classes: list, iou: float, max_det: int | None, expected: list
) -> None:
    keep = nms(
        np.array(boxes, np.float32).reshape(-1, 4),
        np.array(scores, np.float32),
        np.array(classes, np.int64),
        iou,
        max_det,
    )
    assert keep.tolist() == expected


def _reference_nms(xyxy: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou: float) -> list:
    """Plain greedy NMS, one box at a time, as the spec reads."""
    kept: list[int] = []
    for i in np.argsort(-scores, kind="stable"):
        for k in kept:
            if classes[k] != classes[i]:
                continue
            w = min(xyxy[i, 2], xyxy[k, 2]) - max(xyxy[i, 0], xyxy[k, 0])
            h = min(xyxy[i, 3], xyxy[k, 3]) - max(xyxy[i, 1], xyxy[k, 1])
            inter = max(w, 0) * max(h, 0)
            area = lambda b: (b[2] - b[0]) * (b[3] - b[1])  # noqa: E731
            if inter / (area(xyxy[i]) + area(xyxy[k]) - inter) > iou:
                break
        else:
            kept.append(int(i))
    return kept


@pytest.mark.parametrize("seed", range(5))
def test_matches_reference_on_clustered_boxes(seed: int) -> None:
    rng = np.random.default_rng(seed)
    centres = np.repeat(rng.uniform(0, 1000, (10, 2)), 20, axis=0)
    centres += rng.normal(0, 8, centres.shape)
    sizes = np.repeat(rng.uniform(20, 150, (10, 2)), 20, axis=0) * rng.uniform(0.8, 1.2, (200, 2))
    xyxy = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1).astype(np.float32)
    scores = rng.uniform(0.05, 1, 200).astype(np.float32)
    classes = rng.integers(0, 4, 200)
    assert nms(xyxy, scores, classes, 0.45).tolist() == _reference_nms(xyxy, scores, classes, 0.45)
