"""int8 models for the edge: ONNX Runtime static quantisation of an Ultralytics export.

On the 2-core boxes inference is a third of the work per camera; an int8 model does it in about
two thirds of the time (yolo11n at 256x416: 16 ms instead of 24 ms on one AVX2 core) for a
small loss of accuracy, which the new model card records by evaluation rather than by claim.

How: QDQ format, int8 weights per output channel, uint8 activations whose ranges come from real
frames (``calibration``: the frames the model will see, letterboxed exactly as the run time does),
99.99th-percentile ranges so that a few bright glints do not waste the 256 levels. The detect
head's box decoding (the DFL softmax, the grid arithmetic and the final concatenation) stays in
float: it mixes pixel coordinates with 0..1 scores in one tensor, and one uint8 range for both
turns every class score into zero.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from detector.letterbox import LetterboxSpec, preprocess
from detector.model_card import ModelCard, sha256_of
from models.training import TrainingUnavailable

CALIBRATION_PERCENTILE = 99.99


class QuantizationError(ValueError):
    """The model cannot be quantised this way; ``str()`` names the file and the problem."""


def _onnx_tools() -> tuple[Any, Any]:
    try:
        import onnx
        from onnxruntime import quantization
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise TrainingUnavailable(
            "quantisation needs the 'train' extra (onnx): pip install -e '.[train]'"
        ) from exc
    return onnx, quantization


def float_head_nodes(node_names: Iterable[str]) -> list[str]:
    """The nodes of an Ultralytics detect head that must stay float (box decoding, concat).

    The head is the last numbered module (``/model.23/`` in YOLO11n); its convolution branches
    (``cv2`` boxes, ``cv3`` classes; ``one2one_`` in YOLO26) are quantised like the backbone.
    """
    names = list(node_names)
    modules = [int(m.group(1)) for n in names if (m := re.match(r"/model\.(\d+)/", n))]
    if not modules:
        raise QuantizationError("not an Ultralytics export: no /model.N/ node names")
    head = f"/model.{max(modules)}/"
    branch = re.compile(re.escape(head) + r"(one2one_)?cv[23]\.")
    return [n for n in names if n.startswith(head) and not branch.match(n)]


class _Calibration:
    """Feeds letterboxed frames to ONNX Runtime's calibrator, one at a time."""

    def __init__(self, frames: Iterator[np.ndarray], spec: LetterboxSpec, input_name: str) -> None:
        self._frames = frames
        self._spec = spec
        self._input_name = input_name
        self.count = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        frame = next(self._frames, None)
        if frame is None:
            return None
        self.count += 1
        return {self._input_name: preprocess([frame], self._spec)[0]}


def quantize_int8(
    model_path: Path, out_path: Path, calibration: Iterable[np.ndarray], *, source: str
) -> Path:
    """Write an int8 copy of ``model_path`` (an Ultralytics ONNX export) and its model card.

    ``calibration`` yields BGR frames (a few hundred like the cameras' are plenty); ``source``
    says in the card where they came from. The card starts as a copy of the float model's,
    without its metrics: score the new file with ``fishwatch eval ... --update-card``.
    """
    onnx, quantization = _onnx_tools()
    model_path, out_path = Path(model_path), Path(out_path)
    if model_path.resolve() == out_path.resolve():
        raise QuantizationError(f"{out_path}: would overwrite the model it quantises")
    try:
        graph = onnx.load(str(model_path))
    except Exception as exc:  # onnx raises DecodeError, OSError...
        raise QuantizationError(f"{model_path}: cannot read ONNX model: {exc}") from None
    card = ModelCard.beside(model_path)
    if card.output_format not in (None, "ultralytics"):
        raise QuantizationError(
            f"{model_path}: only Ultralytics exports can be quantised, not {card.output_format}"
        )
    (tensor,) = graph.graph.input
    dims = [d.dim_value for d in tensor.type.tensor_type.shape.dim]
    if len(dims) != 4 or not all(dims[2:]):
        raise QuantizationError(f"{model_path}: needs a fixed NCHW input size, got {dims}")
    try:
        keep_float = float_head_nodes(n.name for n in graph.graph.node)
    except QuantizationError as exc:
        raise QuantizationError(f"{model_path}: {exc}") from None
    feed = _Calibration(iter(calibration), LetterboxSpec((dims[2], dims[3])), tensor.name)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        prepared = Path(scratch) / "prepared.onnx"
        quantization.quant_pre_process(str(model_path), str(prepared), skip_symbolic_shape=True)
        quantization.quantize_static(
            str(prepared),
            str(out_path),
            feed,
            quant_format=quantization.QuantFormat.QDQ,
            activation_type=quantization.QuantType.QUInt8,
            weight_type=quantization.QuantType.QInt8,
            per_channel=True,
            calibrate_method=quantization.CalibrationMethod.Percentile,
            extra_options={"CalibPercentile": CALIBRATION_PERCENTILE},
            nodes_to_exclude=keep_float,
        )
    if feed.count == 0:
        out_path.unlink(missing_ok=True)
        raise QuantizationError(f"{source}: no calibration images")
    card.name = out_path.stem
    card.file = out_path.name
    card.sha256 = sha256_of(out_path)
    card.metrics = {}
    extra = dict(card.model_extra or {})
    extra["quantization"] = {
        "from": {"file": model_path.name, "sha256": sha256_of(model_path)},
        "method": "ONNX Runtime static quantisation, QDQ: int8 weights per channel, uint8 "
        f"activations, {CALIBRATION_PERCENTILE}th-percentile ranges",
        "calibration": {"images": feed.count, "source": source},
        "float_nodes": "the detect head's box decoding (DFL, grid arithmetic, final concat)",
    }
    for key, value in extra.items():
        setattr(card, key, value)
    card.write(out_path)
    return out_path
