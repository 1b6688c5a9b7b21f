"""Models and videos for the edge tests.

``blank_model`` is a real ONNX file in the Ultralytics layout that never detects anything: the
edge plumbing (cameras, faults, evidence, metrics, signals) is tested with it on any machine.
``trained_model`` is the shipped model, else the development one; tests needing it skip without.
"""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "sample_videos"
SHIPPED_MODEL = REPO / "models" / "fishwatch-yolo11n.onnx"
DEV_MODEL = REPO / "data" / "dev-model" / "fishwatch-dev.onnx"


def trained_model_path() -> Path | None:
    """$FISHWATCH_TEST_MODEL, the shipped model or the development model, whichever exists."""
    chosen = os.environ.get("FISHWATCH_TEST_MODEL")
    candidates = [Path(chosen)] if chosen else [SHIPPED_MODEL, DEV_MODEL]
    return next((p for p in candidates if p.is_file()), None)


@pytest.fixture(scope="session")
def trained_model() -> Path:
    path = trained_model_path()
    if path is None:
        pytest.skip(f"no trained model: neither {SHIPPED_MODEL} nor {DEV_MODEL} exists")
    return path


@pytest.fixture(scope="session")
def is_dev_model(trained_model: Path) -> bool:
    """Whether ``trained_model`` is the partly trained development model."""
    return trained_model.resolve() == DEV_MODEL.resolve()


@pytest.fixture(scope="session")
def blank_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 256x416 Ultralytics-layout detector for the four classes whose scores are all 0."""
    onnx = pytest.importorskip("onnx", reason="building the test model needs onnx (train extra)")
    from onnx import TensorProto, helper

    anchors = sum((256 // s) * (416 // s) for s in (8, 16, 32))
    zeros = helper.make_tensor(
        "zeros",
        TensorProto.FLOAT,
        [1, 8, anchors],
        np.zeros(8 * anchors, np.float32).tobytes(),
        raw=True,
    )
    nothing = helper.make_tensor("nothing", TensorProto.FLOAT, [], [0.0])
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMax", ["images"], ["peak"], keepdims=0),
            helper.make_node("Mul", ["peak", "nothing"], ["none"]),
            helper.make_node("Add", ["zeros", "none"], ["output0"]),
        ],
        "blank",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 256, 416])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 8, anchors])],
        initializer=[zeros, nothing],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    for key, value in {
        "author": "Ultralytics",
        "task": "detect",
        "imgsz": "[256, 416]",
        "names": "{0: 'person', 1: 'fishing_rod', 2: 'net', 3: 'boat'}",
    }.items():
        model.metadata_props.add(key=key, value=value)
    path = tmp_path_factory.mktemp("model") / "blank.onnx"
    onnx.save(model, str(path))
    return path


def write_scene(path: Path, seconds: int, *, fps: int = 25, gop: int = 25) -> Path:
    """A 320x240 H.264 clip of a textured, noisy scene (not black, frozen or covered)."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:240, 0:320]
    checker = (x // 16 + y // 16) % 2 * 80
    base = np.stack([x * 0.2 + 40, y * 0.3 + 30, x * 0.1 + 50], -1) + checker[..., None]
    with av.open(str(path), "w") as out:
        stream = out.add_stream(
            "libx264",
            rate=fps,
            options={
                "preset": "ultrafast",
                "bf": "0",
                "g": str(gop),
                "keyint_min": str(gop),
                "sc_threshold": "0",
            },
        )
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for index in range(seconds * fps):
            noisy = base + rng.integers(-6, 7, base.shape)
            frame = av.VideoFrame.from_ndarray(
                np.clip(noisy, 0, 255).astype(np.uint8), format="bgr24"
            )
            frame.pts = index
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


@pytest.fixture(scope="session")
def scene20s(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 s at 25 fps with a keyframe every second."""
    return write_scene(tmp_path_factory.mktemp("video") / "scene20s.mp4", 20)
