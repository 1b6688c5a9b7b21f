"""The whole training path on a few images: render → train one epoch → ONNX + card → eval."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from detector.model import Detector
from detector.model_card import ModelCard
from fishwatch.cli import app
from models.training import train

pytestmark = [
    pytest.mark.train,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Converting a tensor to a Python boolean"),
]


@pytest.fixture(autouse=True)
def _offline_ultralytics(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YOLO_OFFLINE", "1")
    monkeypatch.setenv("YOLO_AUTOINSTALL", "0")
    monkeypatch.setenv("YOLO_CONFIG_DIR", str(tmp_path / "ultralytics-config"))
    pytest.importorskip("ultralytics", reason="needs the train extra")


def test_train_export_and_evaluate(tmp_path: Path) -> None:
    runner = CliRunner()
    data = tmp_path / "data"
    result = runner.invoke(
        app,
        [
            "synth",
            "dataset",
            str(data),
            "--train",
            "6",
            "--val",
            "3",
            "--width",
            "320",
            "--height",
            "192",
            "--workers",
            "1",
            "--mix",
            "nets-boats",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads((data / "recipe.json").read_text())["mix"] == "nets-boats"
    out = tmp_path / "run"
    result = runner.invoke(
        app,
        [
            "train",
            "--data",
            str(data / "data.yaml"),
            "--out",
            str(out),
            "--name",
            "smoke",
            "--imgsz",
            "96",
            "--export-size",
            "96x160",
            "--epochs",
            "1",
            "--batch",
            "4",
            "--warmup-epochs",
            "0.5",
            "--rect",
        ],
    )
    assert result.exit_code == 0, result.output
    run_args = (out / "train" / "args.yaml").read_text()
    assert {"warmup_epochs: 0.5", "rect: true"} <= set(run_args.splitlines())
    onnx_path = out / "smoke.onnx"
    card = ModelCard.beside(onnx_path)
    assert card.classes == ["person", "fishing_rod", "net", "boat"]
    assert (card.input_height, card.input_width, card.output_format) == (96, 160, "ultralytics")
    assert card.training["data"]["seed"] == 1 and card.training["epochs"] == 1
    assert card.training["warmup_epochs"] == 0.5 and card.training["rect"] is True
    # Ultralytics keeps a core free for CPU training; fishwatch trains on all of them.
    assert card.training["torch_threads"] == os.cpu_count()
    assert Detector(onnx_path).input_hw == (96, 160)

    # Exporting again leaves whatever lies beside the checkpoint alone (Ultralytics writes there).
    weights = out / "train" / "weights" / "best.pt"
    beside = weights.with_suffix(".onnx")
    beside.write_bytes(b"keep me")
    again = tmp_path / "again.onnx"
    result = runner.invoke(app, ["export", str(weights), "--out", str(again), "--size", "96x160"])
    assert result.exit_code == 0, result.output
    assert beside.read_bytes() == b"keep me" and again.stat().st_size > 0

    result = runner.invoke(
        app,
        [
            "eval",
            "--model",
            str(onnx_path),
            "--data",
            str(data / "data.yaml"),
            "--json",
            "--update-card",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report["per_class"]) == {"person", "fishing_rod", "net", "boat"}
    assert 0.0 <= report["map50"] <= 1.0
    assert ModelCard.beside(onnx_path).metrics["evaluated_on"]["split"] == "val"

    # Fine-tuning from a .pt starts from its weights (one tiny warm-up step moves them little);
    # a fresh random start would share nothing with them.
    tuned = train(data / "data.yaml", tmp_path / "tuned", architecture=str(weights), imgsz=96,
                  epochs=1, batch=4, cache=False)
    before, after = flat_weights(weights), flat_weights(tuned.weights)
    cosine = float(before @ after / (np.linalg.norm(before) * np.linalg.norm(after)))
    assert cosine > 0.99, f"fine-tuned weights are not the checkpoint's (cosine {cosine:.3f})"


def flat_weights(checkpoint: Path) -> np.ndarray:
    import torch

    saved = torch.load(checkpoint, map_location="cpu", weights_only=False)
    model = saved.get("ema") or saved["model"]
    tensors = [v.float().flatten() for k, v in model.state_dict().items() if "conv.weight" in k]
    return torch.cat(tensors).numpy()


def test_train_refuses_a_malformed_dataset(tmp_path: Path) -> None:
    (tmp_path / "data.yaml").write_text("train: images/train\nval: images/val\nnames: [person]\n")
    result = CliRunner().invoke(
        app, ["train", "--data", str(tmp_path / "data.yaml"), "--out", str(tmp_path / "run")]
    )
    assert result.exit_code == 2
    assert "data.yaml" in result.output and "does not exist" in result.output
