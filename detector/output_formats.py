"""Output decoders: each class here is the only code that knows one model's tensor layout."""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

import numpy as np

from detector.letterbox import LetterboxSpec, Placement

STRIDES = (8, 16, 32)  # YOLOv5/v8/11 and YOLOX heads


class ModelFormatError(ValueError):
    """The model's output layout is unknown, unsupported or inconsistent with its format."""


class OutputFormat(StrEnum):
    ULTRALYTICS = "ultralytics"  # YOLOv8 / YOLO11 exports: (B, 4+nc, N)
    YOLOV5 = "yolov5"  # (B, N, 5+nc), 3 anchors per cell, decoded boxes
    YOLOX = "yolox"  # (B, N, 5+nc), raw head, one prediction per cell


@dataclass(frozen=True)
class Candidates:
    """One image's boxes before NMS: xyxy (N, 4) float32, score (N,), model class_id (N,)."""

    xyxy: np.ndarray
    score: np.ndarray
    class_id: np.ndarray


def grid_cells(input_hw: tuple[int, int], strides: Sequence[int] = STRIDES) -> int:
    """Number of grid cells over all strides, which identifies anchor-free layouts."""
    h, w = input_hw
    return sum((h // s) * (w // s) for s in strides)


def _cxcywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    half = boxes[:, 2:4] / 2
    return np.concatenate([boxes[:, :2] - half, boxes[:, :2] + half], axis=1).astype(np.float32)


class Decoder(ABC):
    """Turns a (B, ...) output tensor into per-image Candidates above a score threshold."""

    format: ClassVar[OutputFormat]

    @abstractmethod
    def letterbox_spec(self, input_hw: tuple[int, int]) -> LetterboxSpec:
        """How this family letterboxes and encodes its input."""

    @abstractmethod
    def num_classes(self, output_shape: Sequence[int], input_hw: tuple[int, int]) -> int:
        """Class count implied by the output shape; ModelFormatError if the shape does not fit."""

    @abstractmethod
    def decode(
        self, output: np.ndarray, input_hw: tuple[int, int], conf_threshold: float
    ) -> list[Candidates]:
        """Boxes in letterboxed input pixels whose score is at least ``conf_threshold``."""

    def _shape_error(self, shape: Sequence[int], expected: str) -> ModelFormatError:
        return ModelFormatError(
            f"output shape {tuple(shape)} does not fit the {self.format} layout {expected}"
        )


class UltralyticsDecoder(Decoder):
    """(B, 4+nc, N): cx, cy, w, h then class scores (already sigmoid), no objectness."""

    format = OutputFormat.ULTRALYTICS

    def letterbox_spec(self, input_hw: tuple[int, int]) -> LetterboxSpec:
        return LetterboxSpec(input_hw, Placement.CENTER, rgb=True, unit_range=True)

    def num_classes(self, output_shape: Sequence[int], input_hw: tuple[int, int]) -> int:
        # One prediction per cell over strides 8-32, or 8-64 for P6 models.
        cells = (grid_cells(input_hw), grid_cells(input_hw, (*STRIDES, 64)))
        if len(output_shape) != 3 or output_shape[1] < 5 or output_shape[2] not in cells:
            raise self._shape_error(output_shape, f"(B, 4+nc, {cells[0]}) for input {input_hw}")
        return output_shape[1] - 4

    def decode(
        self, output: np.ndarray, input_hw: tuple[int, int], conf_threshold: float
    ) -> list[Candidates]:
        results = []
        for pred in output:
            scores = pred[4:]
            class_id = scores.argmax(axis=0)
            score = np.take_along_axis(scores, class_id[None], axis=0)[0]
            keep = np.flatnonzero(score >= conf_threshold)
            results.append(
                Candidates(_cxcywh_to_xyxy(pred[:4, keep].T), score[keep], class_id[keep])
            )
        return results


class YoloV5Decoder(Decoder):
    """(B, N, 5+nc): decoded cx, cy, w, h, objectness, class scores; score = obj * cls."""

    format = OutputFormat.YOLOV5

    def letterbox_spec(self, input_hw: tuple[int, int]) -> LetterboxSpec:
        return LetterboxSpec(input_hw, Placement.CENTER, rgb=True, unit_range=True)

    def num_classes(self, output_shape: Sequence[int], input_hw: tuple[int, int]) -> int:
        if len(output_shape) != 3 or output_shape[2] < 6:
            raise self._shape_error(output_shape, "(B, N, 5+nc)")
        return output_shape[2] - 5

    def decode(
        self, output: np.ndarray, input_hw: tuple[int, int], conf_threshold: float
    ) -> list[Candidates]:
        results = []
        for pred in output:
            pred = pred[pred[:, 4] >= conf_threshold]  # cheap pre-filter: score <= objectness
            scores = pred[:, 5:] * pred[:, 4:5]
            class_id = scores.argmax(axis=1)
            score = np.take_along_axis(scores, class_id[:, None], axis=1)[:, 0]
            keep = score >= conf_threshold
            results.append(Candidates(_cxcywh_to_xyxy(pred[keep, :4]), score[keep], class_id[keep]))
        return results


@functools.cache
def _yolox_grid(input_hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(N, 2) cell (col, row) and (N, 1) stride per output row, strides 8/16/32 row-major."""
    h, w = input_hw
    cells, strides = [], []
    for s in STRIDES:
        rows, cols = np.meshgrid(np.arange(h // s), np.arange(w // s), indexing="ij")
        cells.append(np.stack([cols.ravel(), rows.ravel()], axis=1))
        strides.append(np.full((cols.size, 1), s))
    return np.concatenate(cells).astype(np.float32), np.concatenate(strides).astype(np.float32)


class YoloxDecoder(Decoder):
    """(B, N, 5+nc) raw YOLOX head: xy offsets per cell, log wh, sigmoid obj and class scores."""

    format = OutputFormat.YOLOX

    def letterbox_spec(self, input_hw: tuple[int, int]) -> LetterboxSpec:
        return LetterboxSpec(input_hw, Placement.TOP_LEFT, rgb=False, unit_range=False)

    def num_classes(self, output_shape: Sequence[int], input_hw: tuple[int, int]) -> int:
        cells = grid_cells(input_hw)
        if len(output_shape) != 3 or output_shape[1] != cells or output_shape[2] < 6:
            raise self._shape_error(output_shape, f"(B, {cells}, 5+nc) for input {input_hw}")
        return output_shape[2] - 5

    def decode(
        self, output: np.ndarray, input_hw: tuple[int, int], conf_threshold: float
    ) -> list[Candidates]:
        cells, strides = _yolox_grid(input_hw)
        results = []
        for pred in output:
            rows = np.flatnonzero(pred[:, 4] >= conf_threshold)  # score <= objectness
            scores = pred[rows, 5:] * pred[rows, 4:5]
            class_id = scores.argmax(axis=1)
            score = np.take_along_axis(scores, class_id[:, None], axis=1)[:, 0]
            keep = score >= conf_threshold
            rows, stride = rows[keep], strides[rows[keep]]
            xy = (pred[rows, :2] + cells[rows]) * stride
            wh = np.exp(pred[rows, 2:4]) * stride
            boxes = _cxcywh_to_xyxy(np.concatenate([xy, wh], axis=1))
            results.append(Candidates(boxes, score[keep], class_id[keep]))
        return results


DECODERS: Mapping[OutputFormat, Decoder] = {
    d.format: d for d in (UltralyticsDecoder(), YoloV5Decoder(), YoloxDecoder())
}


def is_ultralytics(metadata: Mapping[str, str]) -> bool:
    """Ultralytics exports stamp their ONNX metadata; other exporters do not."""
    if metadata.get("author", "").startswith("Ultralytics"):
        return True
    return {"names", "imgsz", "stride"} <= metadata.keys()


def resolve_format(
    requested: str | None,
    output_shape: Sequence[int],
    input_hw: tuple[int, int],
    metadata: Mapping[str, str],
) -> Decoder:
    """The decoder for a model: the requested format, else one told by metadata or shape."""
    if is_ultralytics(metadata):
        task = metadata.get("task", "detect")
        if task != "detect":
            raise ModelFormatError(f"Ultralytics task {task!r} is not supported, only 'detect'")
        if metadata.get("end2end") == "True":
            raise ModelFormatError(
                "NMS-free (end2end) Ultralytics exports are not supported; "
                "export again without nms=False"
            )
    if requested is not None:
        try:
            decoder = DECODERS[OutputFormat(requested)]
        except ValueError:
            raise ModelFormatError(
                f"unknown output format {requested!r}; use one of {', '.join(OutputFormat)}"
            ) from None
    elif is_ultralytics(metadata):
        decoder = DECODERS[OutputFormat.ULTRALYTICS]
    elif len(output_shape) == 3 and output_shape[1] == grid_cells(input_hw):
        decoder = DECODERS[OutputFormat.YOLOX]
    elif len(output_shape) == 3 and output_shape[1] == 3 * grid_cells(input_hw):
        decoder = DECODERS[OutputFormat.YOLOV5]
    else:
        raise ModelFormatError(
            f"cannot tell the output layout of shape {tuple(output_shape)} for input "
            f"{input_hw[0]}x{input_hw[1]}; set the format explicitly "
            f"(one of {', '.join(OutputFormat)})"
        )
    decoder.num_classes(output_shape, input_hw)  # the shape must fit the layout
    return decoder
