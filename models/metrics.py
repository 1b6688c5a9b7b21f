"""COCO-style detection metrics (mAP50, mAP50-95, precision/recall) in plain numpy.

Lets edge builds and CI score a detector without torch or Ultralytics installed. Matching is
greedy by descending confidence, AP uses COCO's 101-point interpolated precision envelope.
Unlike pycocotools there is no per-image detection cap and no crowd/ignore handling.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
RECALL_POINTS = np.linspace(0.0, 1.0, 101)


class Predictions(NamedTuple):
    """One image's predictions; a plain ``(boxes_xyxy, confidence, class_id)`` tuple also works."""

    boxes_xyxy: np.ndarray  # (N, 4)
    confidence: np.ndarray  # (N,)
    class_id: np.ndarray  # (N,)


class GroundTruth(NamedTuple):
    """One image's labelled boxes; a plain ``(boxes_xyxy, class_id)`` tuple also works."""

    boxes_xyxy: np.ndarray  # (M, 4)
    class_id: np.ndarray  # (M,)


@dataclass(frozen=True, eq=False)
class MetricsReport:
    """Per-class results; NaN marks values that are undefined (no GT, or no predictions)."""

    names: tuple[str, ...]
    ap: np.ndarray  # (num_classes, len(IOU_THRESHOLDS)); NaN rows for classes without GT
    precision: np.ndarray  # (num_classes,) at conf_threshold, IoU 0.5
    recall: np.ndarray  # (num_classes,) at conf_threshold, IoU 0.5
    instances: np.ndarray  # (num_classes,) GT boxes per class
    conf_threshold: float

    @property
    def map50_per_class(self) -> np.ndarray:
        return self.ap[:, 0]

    @property
    def map50_95_per_class(self) -> np.ndarray:
        return self.ap.mean(axis=1)

    @property
    def map50(self) -> float:
        """Mean over classes with GT; NaN if no class has any."""
        return _mean_over_labelled(self.map50_per_class, self.instances)

    @property
    def map50_95(self) -> float:
        return _mean_over_labelled(self.map50_95_per_class, self.instances)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary; undefined values become ``None``."""
        per_class = {
            name: {
                "map50": _json_float(self.map50_per_class[c]),
                "map50_95": _json_float(self.map50_95_per_class[c]),
                "precision": _json_float(self.precision[c]),
                "recall": _json_float(self.recall[c]),
                "instances": int(self.instances[c]),
            }
            for c, name in enumerate(self.names)
        }
        return {
            "map50": _json_float(self.map50),
            "map50_95": _json_float(self.map50_95),
            "per_class": per_class,
        }


def _mean_over_labelled(values: np.ndarray, instances: np.ndarray) -> float:
    labelled = instances > 0
    return float(values[labelled].mean()) if labelled.any() else math.nan


def _json_float(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of xyxy boxes, shape (len(a), len(b)); degenerate boxes give 0."""
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(bottom_right - top_left, 0, None).prod(axis=2)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _as_boxes(value: Any, what: str) -> np.ndarray:
    boxes = np.asarray(value, dtype=np.float64)
    if boxes.size == 0:
        return boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{what}: boxes must have shape (N, 4), got {boxes.shape}")
    if not np.isfinite(boxes).all():
        raise ValueError(f"{what}: boxes contain NaN or inf")
    return boxes


def _as_classes(value: Any, n: int, num_classes: int, what: str) -> np.ndarray:
    raw = np.asarray(value).reshape(-1)
    classes = raw.astype(np.int64)
    if len(classes) != n:
        raise ValueError(f"{what}: {len(classes)} class ids for {n} boxes")
    if not np.array_equal(classes, raw) or ((classes < 0) | (classes >= num_classes)).any():
        raise ValueError(f"{what}: class ids must be integers in 0..{num_classes - 1}")
    return classes


def _match_image(
    boxes: np.ndarray,
    confidence: np.ndarray,
    classes: np.ndarray,
    gt_boxes: np.ndarray,
    gt_classes: np.ndarray,
) -> np.ndarray:
    """Per-threshold TP flags (N, T) in input order: each detection, best first, takes the
    highest-IoU same-class GT still free at that threshold."""
    correct = np.zeros((len(boxes), len(IOU_THRESHOLDS)), dtype=bool)
    if len(boxes) == 0 or len(gt_boxes) == 0:
        return correct
    order = np.argsort(-confidence, kind="stable")
    iou = box_iou(boxes[order], gt_boxes) * (classes[order][:, None] == gt_classes[None, :])
    matched = np.zeros((len(gt_boxes), len(IOU_THRESHOLDS)), dtype=bool)
    columns = np.arange(len(IOU_THRESHOLDS))
    hits = np.zeros_like(correct)
    for j in np.flatnonzero((iou >= IOU_THRESHOLDS[0]).any(axis=1)):
        available = np.where(matched, -1.0, iou[j][:, None])
        best = available.argmax(axis=0)
        hit = available[best, columns] >= IOU_THRESHOLDS
        hits[j] = hit
        matched[best[hit], columns[hit]] = True
    correct[order] = hits
    return correct


def _average_precision(correct: np.ndarray, n_gt: int) -> np.ndarray:
    """COCO AP per threshold from TP flags sorted by descending confidence."""
    if len(correct) == 0:
        return np.zeros(correct.shape[1])
    tp = np.cumsum(correct, axis=0)
    fp = np.cumsum(~correct, axis=0)
    recall = tp / n_gt
    precision = tp / (tp + fp)
    envelope = np.maximum.accumulate(precision[::-1], axis=0)[::-1]
    ap = np.empty(correct.shape[1])
    for t in range(correct.shape[1]):
        idx = np.searchsorted(recall[:, t], RECALL_POINTS, side="left")
        reached = idx < len(correct)
        ap[t] = envelope[idx[reached], t].sum() / len(RECALL_POINTS)
    return ap


def evaluate_detections(
    predictions: Sequence[Predictions | tuple[Any, Any, Any]],
    ground_truths: Sequence[GroundTruth | tuple[Any, Any]],
    num_classes: int,
    *,
    names: Sequence[str] | None = None,
    conf_threshold: float = 0.25,
) -> MetricsReport:
    """Score per-image predictions against per-image ground truth (same order, same length).

    Pass all predictions, not just those above ``conf_threshold``: AP integrates over every
    confidence, the threshold only sets the reported precision/recall.
    """
    if len(predictions) != len(ground_truths):
        raise ValueError(
            f"{len(predictions)} prediction entries for {len(ground_truths)} ground-truth images"
        )
    if num_classes < 1:
        raise ValueError("num_classes must be >= 1")
    names = tuple(names) if names is not None else tuple(str(c) for c in range(num_classes))
    if len(names) != num_classes or len(set(names)) != num_classes:
        raise ValueError(f"names must be {num_classes} distinct strings, got {names!r}")

    instances = np.zeros(num_classes, dtype=np.int64)
    confs, classes, corrects = [], [], []
    for i, ((boxes, conf, cls), (gt_boxes, gt_cls)) in enumerate(
        zip(predictions, ground_truths, strict=True)
    ):
        boxes = _as_boxes(boxes, f"predictions[{i}]")
        conf = np.asarray(conf, dtype=np.float64).reshape(-1)
        if len(conf) != len(boxes) or not np.isfinite(conf).all():
            raise ValueError(f"predictions[{i}]: need one finite confidence per box")
        cls = _as_classes(cls, len(boxes), num_classes, f"predictions[{i}]")
        gt_boxes = _as_boxes(gt_boxes, f"ground_truths[{i}]")
        gt_cls = _as_classes(gt_cls, len(gt_boxes), num_classes, f"ground_truths[{i}]")
        instances += np.bincount(gt_cls, minlength=num_classes)
        corrects.append(_match_image(boxes, conf, cls, gt_boxes, gt_cls))
        confs.append(conf)
        classes.append(cls)

    all_conf = np.concatenate(confs) if confs else np.zeros(0)
    all_cls = np.concatenate(classes) if classes else np.zeros(0, np.int64)
    all_correct = np.concatenate(corrects) if corrects else np.zeros((0, len(IOU_THRESHOLDS)), bool)
    ap = np.full((num_classes, len(IOU_THRESHOLDS)), np.nan)
    precision = np.full(num_classes, np.nan)
    recall = np.full(num_classes, np.nan)
    for c in range(num_classes):
        mine = all_cls == c
        order = np.argsort(-all_conf[mine], kind="stable")
        correct = all_correct[mine][order]
        n_gt = int(instances[c])
        if n_gt:
            ap[c] = _average_precision(correct, n_gt)
        kept = all_conf[mine] >= conf_threshold
        tp = int(all_correct[mine][kept, 0].sum())
        if kept.any():
            precision[c] = tp / int(kept.sum())
        if n_gt:
            recall[c] = tp / n_gt
    return MetricsReport(names, ap, precision, recall, instances, conf_threshold)
