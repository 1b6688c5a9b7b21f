"""Bad input on the command line: one line naming the file and the problem, exit code 2."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from fishwatch.cli import app

YOLOX = Path(__file__).resolve().parents[2].parent / "shared" / "testdata" / "yolox_nano_coco.onnx"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_garbage_model_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    code, out = run("eval", "--model", str(bad), "--synthetic", "1")
    assert code == 2
    assert out.startswith("error: ") and "bad.onnx" in out and len(out.strip().splitlines()) == 1


def test_unknown_model_file_type(tmp_path: Path) -> None:
    bad = tmp_path / "model.tflite"
    bad.write_bytes(b"\0" * 16)
    code, out = run("eval", "--model", str(bad), "--synthetic", "1")
    assert code == 2 and "unsupported file type" in out


def test_malformed_dataset_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "images" / "val").mkdir(parents=True)
    (tmp_path / "labels" / "val").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "images" / "val" / "a.png"), np.zeros((32, 32, 3), np.uint8))
    (tmp_path / "labels" / "val" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n1 0.5 0.5\n")
    (tmp_path / "data.yaml").write_text(
        "train: images/val\nval: images/val\nnames: [person, fishing_rod]\n"
    )
    if not YOLOX.exists():
        pytest.skip("needs ../shared/testdata/yolox_nano_coco.onnx")
    code, out = run(
        "eval", "--model", str(YOLOX), "--class-map", "coco", "--data", str(tmp_path / "data.yaml")
    )
    assert code == 2 and "a.txt:2" in out


@pytest.mark.skipif(not YOLOX.exists(), reason="needs ../shared/testdata/yolox_nano_coco.onnx")
def test_wrong_class_map() -> None:
    code, out = run("eval", "--model", str(YOLOX), "--class-map", "identity", "--synthetic", "1")
    assert code == 2 and "error:" in out


@pytest.mark.skipif(not YOLOX.exists(), reason="needs ../shared/testdata/yolox_nano_coco.onnx")
def test_coco_model_scores_persons_and_boats_on_synthetic_scenes() -> None:
    """A public COCO model, mapped to fishwatch classes, finds some of the rendered people."""
    code, out = run(
        "eval", "--model", str(YOLOX), "--class-map", "coco", "--synthetic", "12", "--seed", "7"
    )
    assert code == 0, out
    person_line = next(line for line in out.splitlines() if line.startswith("person"))
    assert float(person_line.split()[1]) > 0.0


def test_eval_needs_exactly_one_source() -> None:
    code, out = run("eval", "--model", "whatever.onnx")
    assert code == 2 and "exactly one of" in out


def test_unknown_scenario(tmp_path: Path) -> None:
    code, out = run("synth", "video", str(tmp_path / "x.mp4"), "--scenario", "nope")
    assert code == 2 and "nope" in out


def test_unknown_scene_mix(tmp_path: Path) -> None:
    code, out = run("synth", "dataset", str(tmp_path / "d"), "--train", "1", "--mix", "fish")
    assert code == 2 and "unknown scene mix 'fish'" in out and "nets-boats" in out
    assert not (tmp_path / "d").exists()
