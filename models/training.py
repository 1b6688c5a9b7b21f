"""Training and ONNX export through Ultralytics (the ``train`` extra); the edge never imports this.

Ultralytics and torch are imported lazily so that the rest of fishwatch installs and runs without
them (Ultralytics is AGPL-3.0 and torch is large).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from detector.model_card import ModelCard, sha256_of


class TrainingUnavailable(RuntimeError):
    """The ``train`` extra (ultralytics + torch) is not installed."""


def _ultralytics() -> Any:
    os.environ.setdefault("YOLO_OFFLINE", "1")  # no online checks
    os.environ.setdefault("YOLO_AUTOINSTALL", "0")  # never pip-install at run time
    try:
        import ultralytics
        from ultralytics.utils import SETTINGS
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise TrainingUnavailable(
            "training needs the 'train' extra: pip install -e '.[train]'"
        ) from exc
    SETTINGS.update({"sync": False})  # no analytics: nothing leaves the box
    return ultralytics


@dataclass(frozen=True)
class TrainingRun:
    """The outcome of :func:`train`."""

    weights: Path
    epochs: int
    wall_time_s: float
    run_dir: Path
    torch_threads: int


def train(
    data_yaml: Path,
    out_dir: Path,
    *,
    architecture: str = "yolo11n.yaml",
    imgsz: int = 416,
    epochs: int = 30,
    hours: float | None = None,
    batch: int = 16,
    seed: int = 0,
    workers: int = 2,
    resume_from: Path | None = None,
    patience: int = 100,
    close_mosaic: int = 3,
    cache: bool = True,
    warmup_epochs: float | None = None,
    rect: bool = False,
    threads: int | None = None,
) -> TrainingRun:
    """Train a detector on a YOLO-format dataset.

    ``architecture`` is an Ultralytics model YAML (trained from scratch: no weights are downloaded)
    or a ``.pt`` checkpoint to fine-tune, e.g. the last run's ``best.pt``. ``hours`` caps the wall
    time instead of ``epochs`` (Ultralytics then fits the learning-rate schedule to the time).
    ``warmup_epochs`` overrides Ultralytics' 3-epoch learning-rate warm-up: a fine-tuning run of a
    few epochs would otherwise spend most of its time warming up. ``rect`` trains on whole frames
    letterboxed to their own aspect (no mosaic): 16:9 frames at ``imgsz=416`` are 256x416, the
    exported input, so training sees objects at the scale the edge box does, for the pixels a
    320x320 mosaic costs. ``threads`` is torch's thread count, all cores by default: Ultralytics
    keeps one core free for CPU training, which on a 2-core box halves the compute (measured:
    a batch of 16 at 256x416 takes 2.1 s forward and backward on one thread, 1.35 s on two).
    """
    ultralytics = _ultralytics()
    import torch

    start = time.monotonic()
    source = str(resume_from) if resume_from else architecture
    model = ultralytics.YOLO(source, task="detect")
    # Ultralytics sets the thread count while it builds the trainer; set ours once it has, and
    # note what the epochs really ran on.
    wanted = threads or os.cpu_count() or 1
    seen: list[int] = []
    model.add_callback("on_train_start", lambda _trainer: torch.set_num_threads(wanted))
    model.add_callback("on_train_epoch_end", lambda _trainer: seen.append(torch.get_num_threads()))
    args: dict[str, Any] = dict(
        data=str(Path(data_yaml).resolve()),
        imgsz=imgsz,
        epochs=epochs,
        batch=batch,
        seed=seed,
        workers=workers,
        device="cpu",
        project=str(Path(out_dir).resolve()),
        name="train",
        exist_ok=True,
        plots=False,
        # A .pt architecture is a checkpoint to start from; anything else trains from scratch
        # (nothing may be downloaded).
        pretrained=source.endswith(".pt"),
        amp=False,
        patience=patience,
        verbose=False,
        close_mosaic=close_mosaic,
        cache="ram" if cache else False,
        rect=rect,
    )
    if hours is not None:
        args["time"] = hours
    if warmup_epochs is not None:
        args["warmup_epochs"] = warmup_epochs
    model.train(**args)
    run_dir = Path(model.trainer.save_dir)
    best = run_dir / "weights" / "best.pt"
    return TrainingRun(
        weights=best if best.exists() else run_dir / "weights" / "last.pt",
        epochs=int(model.trainer.epoch) + 1,
        wall_time_s=time.monotonic() - start,
        run_dir=run_dir,
        torch_threads=min(seen, default=wanted),
    )


def export_onnx(
    weights: Path, out_path: Path, *, input_hw: tuple[int, int], opset: int = 17
) -> Path:
    """Export ``weights`` to a fixed-size ONNX file at ``out_path`` (batch 1, raw head + decode).

    ``input_hw`` may be rectangular: a 16:9 camera letterboxed into a square input wastes its
    extra rows on padding, so width goes further for thin rods (the shipped model runs at
    320x544; benchmarks/detector_input_size.py compares sizes). Ultralytics writes its export beside the
    weights, so the export runs on a copy in a scratch folder: a model already lying beside the
    checkpoint is never overwritten.
    """
    ultralytics = _ultralytics()
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / Path(weights).name
        shutil.copyfile(weights, copy)
        model = ultralytics.YOLO(str(copy), task="detect")
        exported = model.export(
            format="onnx",
            imgsz=list(input_hw),
            opset=opset,
            simplify=True,
            dynamic=False,
            batch=1,
            device="cpu",
            verbose=False,
        )
        shutil.move(str(exported), out_path)
    return out_path


def write_model_card(
    onnx_path: Path,
    *,
    classes: list[str],
    input_hw: tuple[int, int],
    architecture: str,
    training: dict[str, Any],
    metrics: dict[str, Any],
) -> Path:
    """Write ``<model>.json`` beside the ONNX file: what it is, how it was made, how good it is."""
    card = ModelCard(
        name=onnx_path.stem,
        file=onnx_path.name,
        sha256=sha256_of(onnx_path),
        classes=classes,
        input_height=input_hw[0],
        input_width=input_hw[1],
        output_format="ultralytics",
        architecture=architecture,
        training=training,
        metrics=metrics,
    )
    return card.write(onnx_path)
