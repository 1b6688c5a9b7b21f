from __future__ import annotations

import math

import numpy as np
import pytest

from detector.letterbox import Placement
from detector.output_formats import (
    DECODERS,
    ModelFormatError,
    OutputFormat,
    grid_cells,
    resolve_format,
)

ULTRALYTICS_META = {
    "author": "Ultralytics",
    "names": "{0: 'a'}",
    "imgsz": "[64, 64]",
    "stride": "32",
}


def test_ultralytics_decoder() -> None:
    out = np.zeros((1, 4 + 3, 5), np.float32)  # (B, 4+nc, N)
    out[0, :4, 1] = [50, 40, 20, 10]  # cx, cy, w, h
    out[0, 4:, 1] = [0.1, 0.2, 0.8]
    out[0, :4, 3] = [10, 10, 4, 4]
    out[0, 4:, 3] = [0.3, 0.1, 0.0]
    out[0, 4:, 4] = [0.2, 0.1, 0.1]  # below threshold
    (found,) = DECODERS[OutputFormat.ULTRALYTICS].decode(out, (64, 64), 0.25)
    assert found.xyxy.tolist() == [[40, 35, 60, 45], [8, 8, 12, 12]]
    assert found.score.tolist() == pytest.approx([0.8, 0.3])
    assert found.class_id.tolist() == [2, 0]


def test_yolov5_decoder_multiplies_objectness() -> None:
    out = np.zeros((2, 4, 5 + 2), np.float32)  # (B, N, 5+nc)
    out[0, 0] = [50, 40, 20, 10, 0.9, 0.2, 0.5]  # score 0.45, class 1
    out[0, 1] = [50, 40, 20, 10, 0.3, 0.9, 0.1]  # score 0.27, class 0
    out[0, 2] = [50, 40, 20, 10, 0.2, 1.0, 1.0]  # objectness below threshold
    out[1, 3] = [10, 10, 2, 2, 0.9, 0.25, 0.0]  # 0.225 < 0.25
    first, second = DECODERS[OutputFormat.YOLOV5].decode(out, (64, 64), 0.25)
    assert first.xyxy.tolist() == [[40, 35, 60, 45], [40, 35, 60, 45]]
    assert first.score.tolist() == pytest.approx([0.45, 0.27])
    assert first.class_id.tolist() == [1, 0]
    assert len(second.score) == 0 and second.xyxy.shape == (0, 4)


@pytest.mark.parametrize(
    ("input_hw", "stride", "row", "col"),
    [((64, 64), 16, 1, 2), ((64, 96), 8, 3, 10), ((64, 96), 32, 1, 2)],
)
def test_yolox_decoder_uses_grid_and_stride(
    input_hw: tuple[int, int], stride: int, row: int, col: int
) -> None:
    h, w = input_hw
    before = sum((h // s) * (w // s) for s in (8, 16, 32) if s < stride)
    index = before + row * (w // stride) + col  # row-major per stride, strides in order
    out = np.zeros((1, grid_cells(input_hw), 5 + 3), np.float32)
    out[0, index] = [0.5, 0.25, math.log(2), math.log(3), 0.8, 0.1, 0.9, 0.2]
    (found,) = DECODERS[OutputFormat.YOLOX].decode(out, input_hw, 0.25)
    cx, cy = (0.5 + col) * stride, (0.25 + row) * stride
    bw, bh = 2 * stride, 3 * stride
    assert found.xyxy[0] == pytest.approx([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2])
    assert found.score.tolist() == pytest.approx([0.72])
    assert found.class_id.tolist() == [1]


def test_input_conventions() -> None:
    yolox = DECODERS[OutputFormat.YOLOX].letterbox_spec((416, 416))
    assert (yolox.placement, yolox.rgb, yolox.unit_range) == (Placement.TOP_LEFT, False, False)
    for fmt in (OutputFormat.ULTRALYTICS, OutputFormat.YOLOV5):
        spec = DECODERS[fmt].letterbox_spec((384, 640))
        assert (spec.placement, spec.rgb, spec.unit_range) == (Placement.CENTER, True, True)
        assert spec.input_hw == (384, 640)


@pytest.mark.parametrize(
    ("shape", "input_hw", "metadata", "expected"),
    [
        ((1, 84, 8400), (640, 640), ULTRALYTICS_META, OutputFormat.ULTRALYTICS),
        ((1, 3549, 85), (416, 416), {}, OutputFormat.YOLOX),
        ((1, 3 * 3549, 85), (416, 416), {}, OutputFormat.YOLOV5),
        ((1, 5040, 6), (384, 640), {"names": "{0: 'boat'}"}, OutputFormat.YOLOX),
    ],
)
def test_auto_detection(
    shape: tuple, input_hw: tuple[int, int], metadata: dict, expected: OutputFormat
) -> None:
    assert resolve_format(None, shape, input_hw, metadata).format is expected


def test_explicit_format_wins_but_must_fit() -> None:
    assert resolve_format("yolov5", (1, 3549, 85), (416, 416), {}).format is OutputFormat.YOLOV5
    with pytest.raises(ModelFormatError, match=r"does not fit the yolox layout \(B, 3549, 5\+nc\)"):
        resolve_format("yolox", (1, 8400, 85), (416, 416), {})
    with pytest.raises(ModelFormatError, match="unknown output format 'yolov9'"):
        resolve_format("yolov9", (1, 3549, 85), (416, 416), {})


@pytest.mark.parametrize(
    ("shape", "metadata", "message"),
    [
        ((1, 100, 85), {}, "set the format explicitly"),
        ((1, 84, 8400), {}, "set the format explicitly"),
        ((1, 84, 8400), {**ULTRALYTICS_META, "task": "segment"}, "task 'segment'"),
        ((1, 300, 6), {**ULTRALYTICS_META, "end2end": "True"}, "end2end"),
    ],
)
def test_unknown_or_unsupported_layouts(shape: tuple, metadata: dict, message: str) -> None:
    with pytest.raises(ModelFormatError, match=message):
        resolve_format(None, shape, (416, 416), metadata)
