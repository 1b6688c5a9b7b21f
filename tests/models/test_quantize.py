"""int8 quantisation of the shipped model: a real calibration, a card, the same objects found."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from detector.model import Detector
from detector.model_card import sha256_of
from fishwatch.cli import app
from models.evaluation import synthetic_frames
from models.quantize import QuantizationError, float_head_nodes, quantize_int8

pytest.importorskip("onnx", reason="quantisation needs onnx (train extra)")

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "fishwatch-yolo11n.onnx"


def test_only_the_heads_box_decoding_stays_float() -> None:
    names = [
        "/model.0/conv/Conv",
        "/model.23/cv2.0/cv2.0.0/conv/Conv",
        "/model.23/cv3.2/cv3.2.1/cv3.2.1.1/act/Mul",
        "/model.23/dfl/Softmax",
        "/model.23/Concat_3",
        "/model.9/m/Add",
    ]
    assert float_head_nodes(names) == ["/model.23/dfl/Softmax", "/model.23/Concat_3"]
    with pytest.raises(QuantizationError, match="not an Ultralytics export"):
        float_head_nodes(["conv1", "head"])


@pytest.fixture(scope="module")
def int8_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("int8") / "fishwatch-int8.onnx"
    calibration = (frame.image for frame in synthetic_frames(12, seed=5))
    return quantize_int8(SHIPPED, out, calibration, source="12 synthetic images, seed 5")


def test_the_int8_model_has_its_own_card(int8_model: Path) -> None:
    card = json.loads(int8_model.with_suffix(".json").read_text())
    float_card = json.loads(SHIPPED.with_suffix(".json").read_text())
    assert card["file"] == int8_model.name and card["sha256"] == sha256_of(int8_model)
    assert card["classes"] == float_card["classes"] and card["metrics"] == {}
    assert card["quantization"]["from"] == {"file": SHIPPED.name, "sha256": sha256_of(SHIPPED)}
    assert card["quantization"]["calibration"]["images"] == 12
    assert int8_model.stat().st_size < SHIPPED.stat().st_size / 2  # int8 weights


def test_int8_detections_match_the_float_models(int8_model: Path) -> None:
    frames = [f for f in synthetic_frames(6, seed=424242) if len(f.class_id)]
    # Quantisation moves scores a little: confident float detections, looser int8 ones.
    float_found = Detector(SHIPPED, conf_threshold=0.5).detect([f.image for f in frames])
    int8_found = Detector(int8_model, conf_threshold=0.25).detect([f.image for f in frames])
    pairs = list(zip(float_found, int8_found, strict=True))
    assert sum(len(a) for a, _ in pairs) >= 3  # the float model sees something to compare
    for reference, quantised in pairs:
        # Each confident float detection has an int8 one of its class on the same object.
        for box, cls in zip(reference.xyxy, reference.class_id, strict=True):
            same = quantised.xyxy[quantised.class_id == cls]
            assert len(same), f"class {cls} lost"
            ix = (same[:, 2:].clip(max=box[2:]) - same[:, :2].clip(min=box[:2])).clip(min=0)
            inter = ix.prod(axis=1)
            union = (box[2:] - box[:2]).prod() + (same[:, 2:] - same[:, :2]).prod(axis=1) - inter
            assert (inter / union).max() > 0.5


def _not_ultralytics(path: Path) -> Path:
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 32, 32])
    y = helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3, 32, 32])
    graph = helper.make_graph(
        [helper.make_node("Relu", ["images"], ["out"], "relu")], "g", [x], [y]
    )
    onnx.save(helper.make_model(graph), str(path))
    return path


def test_the_command_refuses_what_it_cannot_quantise(tmp_path: Path) -> None:
    runner = CliRunner()
    blank_model = _not_ultralytics(tmp_path / "other.onnx")
    result = runner.invoke(
        app, ["quantize", str(SHIPPED), "--out", str(SHIPPED), "--synthetic", "2"]
    )
    assert result.exit_code == 2 and "would overwrite" in result.output
    result = runner.invoke(app, ["quantize", str(blank_model), "--synthetic", "2"])
    assert result.exit_code == 2 and "not an Ultralytics export" in result.output
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a model")
    result = runner.invoke(app, ["quantize", str(garbage), "--synthetic", "2"])
    assert result.exit_code == 2 and "cannot read ONNX model" in result.output
    copy = tmp_path / "m.onnx"
    shutil.copyfile(SHIPPED, copy)
    result = runner.invoke(app, ["quantize", str(copy)])
    assert result.exit_code == 2 and "exactly one of --data" in result.output
