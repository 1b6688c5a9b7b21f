"""Scoring a detector with fishwatch's own run time (not Ultralytics): what the edge box will see.

Two sources of labelled images: a YOLO-format dataset (a user's own footage), or a held-out set
rendered on the fly by the synthetic renderer with a seed that training never used.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from detector.classes import CLASS_NAMES
from detector.model import Detector
from models.dataset import DatasetError, iter_split, load_data_yaml
from models.metrics import GroundTruth, MetricsReport, Predictions, evaluate_detections
from models.synth.scene import render_still

#: Scores down to this are kept when measuring mAP: the precision-recall curve needs the tail.
EVAL_CONF_THRESHOLD = 0.001
EVAL_MAX_DETECTIONS = 300
#: The seed stream used for held-out synthetic images; training sets use streams 0 and 1.
HELD_OUT_STREAM = 2


@dataclass(frozen=True)
class LabelledFrame:
    image: np.ndarray  # BGR uint8
    boxes_xyxy: np.ndarray  # (N, 4) pixels
    class_id: np.ndarray  # (N,) fishwatch class ids


def synthetic_frames(
    count: int, seed: int, width: int = 640, height: int = 360
) -> Iterator[LabelledFrame]:
    """Freshly rendered frames; the renderer labels them exactly."""
    for index in range(count):
        rendered = render_still(
            np.random.default_rng([seed, HELD_OUT_STREAM, index]), width, height
        )
        boxes = np.array([label.xyxy for label in rendered.labels], np.float32).reshape(-1, 4)
        classes = np.array([label.class_id for label in rendered.labels], np.int64)
        yield LabelledFrame(rendered.image, boxes, classes)


def dataset_frames(data_yaml: Path, split: str = "val") -> Iterator[LabelledFrame]:
    """A YOLO dataset's split, its class ids translated to fishwatch's by name."""
    spec = load_data_yaml(data_yaml)
    unknown = [name for name in spec.names if name not in CLASS_NAMES]
    if unknown:
        raise DatasetError(
            spec.yaml_path,
            f"class {unknown[0]!r} is not a fishwatch class ({', '.join(CLASS_NAMES)})",
        )
    to_fishwatch = np.array([CLASS_NAMES.index(name) for name in spec.names], np.int64)
    for item in iter_split(spec, split):
        image = cv2.imread(str(item.image_path), cv2.IMREAD_COLOR)
        if image is None:
            raise DatasetError(item.image_path, "cannot read image")
        yield LabelledFrame(image, item.boxes_xyxy.astype(np.float32), to_fishwatch[item.class_id])


def load_for_evaluation(model: Path, class_map: str = "identity") -> Detector:
    return Detector(
        model,
        class_map=class_map,
        conf_threshold=EVAL_CONF_THRESHOLD,
        max_detections=EVAL_MAX_DETECTIONS,
    )


def evaluate(detector: Detector, frames: Iterator[LabelledFrame], batch: int = 1) -> MetricsReport:
    """mAP50, mAP50-95 and per-class figures of ``detector`` over ``frames``.

    Load the detector with :func:`load_for_evaluation` (or equally low thresholds): mAP needs
    the low-confidence tail of the precision-recall curve.
    """
    predictions: list[Predictions] = []
    truths: list[GroundTruth] = []
    pending: list[LabelledFrame] = []

    def flush() -> None:
        for frame, found in zip(pending, detector.detect([f.image for f in pending]), strict=True):
            predictions.append(Predictions(found.xyxy, found.confidence, found.class_id))
            truths.append(GroundTruth(frame.boxes_xyxy, frame.class_id))
        pending.clear()

    for frame in frames:
        pending.append(frame)
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    return evaluate_detections(predictions, truths, len(CLASS_NAMES), names=CLASS_NAMES)
