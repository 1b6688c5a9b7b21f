"""Ultralytics exports and checkpoints, built from a randomly initialised yolo11n.yaml."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from detector.detections import Detections
from detector.model import Detector
from detector.output_formats import OutputFormat

pytestmark = [
    pytest.mark.train,
    # Noise from torch's ONNX exporter, not from fishwatch.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Converting a tensor to a Python boolean"),
]

INPUT_HW = (192, 256)  # small and rectangular: fast, and catches H/W mix-ups


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(onnx, pt) of an untrained yolo11n, made without touching the network."""
    work = tmp_path_factory.mktemp("ultralytics")
    with pytest.MonkeyPatch.context() as mp:
        # Read when ultralytics is first imported: no online checks, no pip installs, and a
        # settings file in tmp instead of the user's config directory.
        mp.setenv("YOLO_OFFLINE", "1")
        mp.setenv("YOLO_AUTOINSTALL", "0")
        mp.setenv("YOLO_CONFIG_DIR", str(work / "config"))
        ultralytics = pytest.importorskip("ultralytics", reason="needs the train extra")
        mp.chdir(work)  # export writes next to the (relative) yaml name
        model = ultralytics.YOLO("yolo11n.yaml")
        onnx_path = Path(model.export(format="onnx", imgsz=INPUT_HW, simplify=False)).resolve()
        pt_path = work / "tiny.pt"
        model.save(pt_path)
        yield onnx_path, pt_path


def _frame() -> np.ndarray:
    frame = np.full((720, 1280, 3), 90, np.uint8)
    frame[100:612, 600:1112] = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    return frame


def _assert_well_formed(found: list[Detections], frames: int, max_detections: int) -> None:
    assert len(found) == frames
    for d in found:
        assert isinstance(d, Detections) and len(d) <= max_detections
        assert set(d.class_id.tolist()) <= {0}  # only the mapped model class
        assert ((d.xyxy >= 0) & (d.xyxy[:, [2, 3, 2, 3]] <= [1280, 720, 1280, 720])).all()
        assert ((d.confidence >= 0.01) & (d.confidence <= 1)).all()


def test_onnx_export_is_detected_and_runs(tiny_model: tuple[Path, Path]) -> None:
    onnx_path, _ = tiny_model
    detector = Detector(onnx_path, class_map={"0": "person"}, conf_threshold=0.01)
    assert detector.output_format is OutputFormat.ULTRALYTICS  # from metadata, not a hint
    assert detector.class_names == tuple(str(i) for i in range(80))
    _assert_well_formed(detector.detect([_frame(), _frame()]), 2, detector.max_detections)


def test_pt_checkpoint_runs_through_ultralytics(tiny_model: tuple[Path, Path]) -> None:
    _, pt_path = tiny_model
    detector = Detector(
        pt_path, class_map={"0": "person"}, input_size=INPUT_HW, conf_threshold=0.01
    )
    assert detector.output_format is OutputFormat.ULTRALYTICS
    assert len(detector.class_names) == 80
    _assert_well_formed(detector.detect([_frame()]), 1, detector.max_detections)
