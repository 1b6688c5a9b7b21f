"""Writes a rendered YOLO-format dataset: images, labels, data.yaml and the recipe that made it."""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from detector.classes import CLASS_NAMES
from models.dataset import write_data_yaml
from models.synth.scene import SCENE_MIXES, render_still

RENDERER_VERSION = 2


@dataclass(frozen=True)
class DatasetRecipe:
    """Everything needed to render the same dataset again, byte for byte."""

    seed: int
    train: int
    val: int
    width: int
    height: int
    renderer_version: int = RENDERER_VERSION
    mix: str = "standard"  # a name in models.synth.scene.SCENE_MIXES

    def __post_init__(self) -> None:
        if self.mix not in SCENE_MIXES:
            raise ValueError(f"unknown scene mix {self.mix!r}; known: {', '.join(SCENE_MIXES)}")


def image_seed(seed: int, split: str, index: int) -> np.random.Generator:
    """Independent stream per image, so any worker count gives the same dataset."""
    return np.random.default_rng([seed, 0 if split == "train" else 1, index])


def _render_one(args: tuple[Path, DatasetRecipe, str, int]) -> int:
    root, recipe, split, index = args
    rendered = render_still(
        image_seed(recipe.seed, split, index), recipe.width, recipe.height, SCENE_MIXES[recipe.mix]
    )
    stem = f"{split}_{index:06d}"
    cv2.imwrite(
        str(root / "images" / split / f"{stem}.jpg"), rendered.image, [cv2.IMWRITE_JPEG_QUALITY, 92]
    )
    lines = [label.to_yolo(recipe.width, recipe.height) for label in rendered.labels]
    (root / "labels" / split / f"{stem}.txt").write_text("\n".join(lines) + ("\n" if lines else ""))
    return len(lines)


def write_dataset(root: Path, recipe: DatasetRecipe, workers: int = 2) -> Path:
    """Render ``recipe`` into ``root``; returns the path of its ``data.yaml``."""
    root = Path(root)
    jobs = []
    for split, count in (("train", recipe.train), ("val", recipe.val)):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        jobs += [(root, recipe, split, i) for i in range(count)]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(_render_one, jobs, chunksize=16))
    else:
        for job in jobs:
            _render_one(job)
    data_yaml = write_data_yaml(root, CLASS_NAMES)
    (root / "recipe.json").write_text(json.dumps(asdict(recipe), indent=2) + "\n")
    return data_yaml
