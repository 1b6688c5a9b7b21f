from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from detector.class_map import ClassMapError
from detector.classes import FishwatchClass
from detector.detections import Detections
from detector.model import Detector, ModelLoadError
from detector.output_formats import ModelFormatError, OutputFormat

REPO_ROOT = Path(__file__).resolve().parents[2]
YOLOX = REPO_ROOT.parent / "shared/testdata/yolox_nano_coco.onnx"
YOLOX_SHA256 = "d39bee73564e338080378b0ad567fbb40e818b55bbfaf971de82a0267ed16b8a"

needs_yolox = pytest.mark.skipif(
    not YOLOX.is_file(), reason=f"YOLOX test model not found at {YOLOX} (shared testdata absent)"
)


def _bgr(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_GRAY2BGR if rgb.ndim == 2 else cv2.COLOR_RGB2BGR)


@pytest.fixture(scope="module")
def yolox() -> Detector:
    if not YOLOX.is_file():
        pytest.skip(f"YOLOX test model not found at {YOLOX} (shared testdata absent)")
    return Detector(YOLOX, class_map="coco")


def _single_person(found: Detections) -> np.ndarray:
    assert len(found) == 1, found
    assert found.class_id[0] == FishwatchClass.PERSON and found.confidence[0] > 0.5
    return found.xyxy[0]


def test_loads_format_names_and_identity_from_the_file(yolox: Detector) -> None:
    assert yolox.output_format is OutputFormat.YOLOX  # auto-detected from the output shape
    assert len(yolox.class_names) == 80 and yolox.class_names[8] == "boat"
    assert yolox.sha256 == YOLOX_SHA256
    assert yolox.name == "yolox_nano_coco" and yolox.version == YOLOX_SHA256[:12]


def test_finds_the_astronaut(yolox: Detector) -> None:
    x1, y1, x2, y2 = _single_person(yolox.detect([_bgr(data.astronaut())])[0])
    # The astronaut fills the left two thirds of the 512x512 photo, head near the top.
    assert x1 < 40 and y1 < 60 and 330 < x2 < 420 and y2 > 470


def test_box_lands_in_frame_pixels_of_a_720p_frame(yolox: Detector) -> None:
    frame = np.full((720, 1280, 3), 90, np.uint8)
    frame[100:612, 600:1112] = _bgr(data.astronaut())
    x1, y1, x2, y2 = _single_person(yolox.detect([frame])[0])
    assert 590 < x1 < 640 and 90 < y1 < 160 and 930 < x2 < 1020 and 570 < y2 <= 612


def test_batch_gives_one_result_per_frame_in_order(yolox: Detector) -> None:
    frames = [_bgr(data.coffee()), _bgr(data.camera()), _bgr(data.astronaut())]
    batch = yolox.detect(frames)
    assert [len(d) for d in batch] == [0, 1, 1]
    for frame, found in zip(frames, batch, strict=True):
        assert found.xyxy.tolist() == yolox.detect([frame])[0].xyxy.tolist()
    assert yolox.detect([]) == []


def test_explicit_class_map_and_session_options() -> None:
    if not YOLOX.is_file():
        pytest.skip(f"YOLOX test model not found at {YOLOX} (shared testdata absent)")
    cats_as_boats = Detector(
        YOLOX, class_map={"cat": "boat"}, intra_op_num_threads=1, allow_spinning=True
    )
    (found,) = cats_as_boats.detect([_bgr(data.chelsea())])
    assert found.class_id.tolist() == [FishwatchClass.BOAT]
    assert cats_as_boats.detect([_bgr(data.astronaut())])[0].class_id.tolist() == []


@needs_yolox
def test_model_card_names_the_model(tmp_path: Path) -> None:
    model = tmp_path / "river_v2.onnx"
    model.symlink_to(YOLOX)
    model.with_suffix(".json").write_text(json.dumps({"name": "river", "version": "2.0.1"}))
    detector = Detector(model, class_map="coco")
    assert (detector.name, detector.version, detector.sha256) == ("river", "2.0.1", YOLOX_SHA256)

    model.with_suffix(".json").write_text(json.dumps({"classes": ["person", "boat"]}))
    with pytest.raises(ModelLoadError, match="outputs 80 classes but names 2"):
        Detector(model, class_map="coco")
    model.with_suffix(".json").write_text("{not json")
    with pytest.raises(ModelLoadError, match=r"model card .*river_v2\.json is not JSON"):
        Detector(model, class_map="coco")


@needs_yolox
def test_format_and_size_mistakes_are_explained() -> None:
    with pytest.raises(ModelLoadError, match="no class names in its metadata; add a model card"):
        Detector(YOLOX, output_format="yolov5", class_map="coco")
    with pytest.raises(ModelFormatError, match="does not fit the ultralytics layout"):
        Detector(YOLOX, output_format="ultralytics")
    with pytest.raises(ModelLoadError, match=r"fixed at 416x416, not input_size=\(640, 640\)"):
        Detector(YOLOX, input_size=(640, 640))
    with pytest.raises(ClassMapError, match="'identity': model class 'bicycle'"):
        Detector(YOLOX)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (np.zeros((720, 1280, 3), np.float32), r"shape \(720, 1280, 3\) dtype float32"),
        (np.zeros((720, 1280), np.uint8), r"shape \(720, 1280\) dtype uint8"),
        (np.zeros((720, 1280, 4), np.uint8), r"shape \(720, 1280, 4\)"),
        (np.zeros((0, 1280, 3), np.uint8), r"shape \(0, 1280, 3\)"),
        ([[0, 0, 0]], "list"),
    ],
)
def test_bad_frames_are_rejected(yolox: Detector, frame: object, message: str) -> None:
    with pytest.raises(
        ValueError, match=f"frame 1 must be an HxWx3 uint8 BGR array, got {message}"
    ):
        yolox.detect([np.zeros((10, 10, 3), np.uint8), frame])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.onnx", None, "no such file"),
        ("garbage.onnx", b"\x00not a model\xff" * 100, "not a readable ONNX model"),
        ("empty.onnx", b"", "not a readable ONNX model"),
        ("weights.tflite", b"TFL3", "unsupported file type, use .onnx or .pt"),
    ],
)
def test_unusable_model_files(
    tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelLoadError, match=message) as info:
        Detector(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_pt_without_ultralytics_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "best.pt"
    path.write_bytes(b"weights")
    monkeypatch.setitem(sys.modules, "ultralytics", None)  # import fails as if not installed
    with pytest.raises(ModelLoadError, match=r"need ultralytics; install the train extra"):
        Detector(path)
