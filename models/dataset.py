"""Read and validate YOLO-format detection datasets (Ultralytics ``data.yaml`` conventions).

Training silently drops or mangles bad labels, so every problem found here is raised as a
``DatasetError`` whose message is one line naming the file, the line and what is wrong.
"""

from __future__ import annotations

import glob
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

SPLITS = ("train", "val", "test")
REQUIRED_SPLITS = ("train", "val")
# Formats cv2.imread can decode; Ultralytics also lists avif/heic/dng, which cv2 cannot read.
IMAGE_SUFFIXES = frozenset({".bmp", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp"})
# Normalised coordinates may overshoot [0, 1] by float rounding in annotation tools.
COORD_SLACK = 1e-3


class DatasetError(ValueError):
    """A problem with a dataset file; ``str()`` is a single ``file:line: problem`` line."""

    def __init__(self, path: str | os.PathLike[str], problem: str, line: int | None = None):
        self.path = Path(path)
        self.line = line
        self.problem = " ".join(problem.split())  # keep the message on one line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else str(self.path)
        return f"{where}: {self.problem}"


@dataclass(frozen=True)
class DatasetSpec:
    """A parsed ``data.yaml``: class names and, per split, the image sources (folders or lists)."""

    yaml_path: Path
    root: Path
    names: tuple[str, ...]
    splits: dict[str, tuple[Path, ...]]

    @property
    def nc(self) -> int:
        return len(self.names)


@dataclass(frozen=True, eq=False)
class LabelledImage:
    """One image with its boxes in pixel xyxy; no boxes means a negative (background) image."""

    image_path: Path
    label_path: Path
    width: int
    height: int
    boxes_xyxy: np.ndarray  # (N, 4) float64, pixels
    class_id: np.ndarray  # (N,) int64


def _parse_yaml(path: Path) -> tuple[Any, dict[str, int]]:
    """Parse YAML keeping the line of each top-level key, so key errors can point at it."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(path, f"not valid UTF-8 ({exc.reason})") from exc
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
        raise DatasetError(path, f"YAML syntax error: {exc.problem or exc.context}", line) from exc
    except yaml.YAMLError as exc:
        raise DatasetError(path, f"YAML syntax error: {exc}") from exc
    finally:
        loader.dispose()
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, _ in node.value:
            lines[str(key_node.value)] = key_node.start_mark.line + 1
    return data, lines


def _parse_names(path: Path, data: dict[str, Any], lines: dict[str, int]) -> tuple[str, ...]:
    """Names as a list or ``{id: name}`` with ids 0..n-1; ``nc`` alone yields ``class_i``."""
    names = data.get("names")
    nc = data.get("nc")
    if nc is not None and (isinstance(nc, bool) or not isinstance(nc, int) or nc < 1):
        raise DatasetError(path, f"'nc' must be a positive integer, got {nc!r}", lines.get("nc"))
    if names is None:
        if nc is None:
            raise DatasetError(path, "missing key 'names' (or 'nc')")
        return tuple(f"class_{i}" for i in range(nc))
    line = lines.get("names")
    if isinstance(names, dict):
        try:
            by_id = {int(k): v for k, v in names.items()}
        except (TypeError, ValueError) as exc:
            raise DatasetError(path, "'names' keys must be integer class ids", line) from exc
        if sorted(by_id) != list(range(len(by_id))):
            raise DatasetError(
                path, f"'names' ids must be 0..{len(by_id) - 1}, got {sorted(by_id)}", line
            )
        names = [by_id[i] for i in range(len(by_id))]
    if not isinstance(names, list) or not names:
        raise DatasetError(path, "'names' must be a non-empty list or {id: name} mapping", line)
    if any(n is None or isinstance(n, (dict, list)) or str(n) == "" for n in names):
        raise DatasetError(path, "'names' entries must be non-empty scalars", line)
    if nc is not None and nc != len(names):
        raise DatasetError(
            path, f"'nc: {nc}' does not match the {len(names)} entries of 'names'", lines.get("nc")
        )
    return tuple(str(n) for n in names)


def load_data_yaml(path: str | os.PathLike[str]) -> DatasetSpec:
    """Parse and check a ``data.yaml``; split paths must exist (images are listed lazily)."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(path, "data.yaml not found")
    if not path.is_file():
        raise DatasetError(path, "expected a data.yaml file, found a directory")
    data, lines = _parse_yaml(path)
    if data is None:
        raise DatasetError(path, "data.yaml is empty")
    if not isinstance(data, dict):
        raise DatasetError(path, f"expected a YAML mapping at top level, got {type(data).__name__}")
    for key in REQUIRED_SPLITS:
        if not data.get(key):
            raise DatasetError(path, f"missing or empty key '{key}'", lines.get(key))
    names = _parse_names(path, data, lines)

    # Relative 'path' resolves against the yaml's folder so datasets stay relocatable.
    root_value = data.get("path")
    if root_value is not None and not isinstance(root_value, str):
        raise DatasetError(path, "'path' must be a string", lines.get("path"))
    root = (path.parent / (root_value or ".")).resolve()
    if not root.is_dir():
        raise DatasetError(path, f"'path' {root} is not a directory", lines.get("path"))

    splits: dict[str, tuple[Path, ...]] = {}
    for key in SPLITS:
        value = data.get(key)
        if not value:
            continue
        entries = value if isinstance(value, list) else [value]
        if not all(isinstance(e, str) and e for e in entries):
            raise DatasetError(path, f"'{key}' must be a path or a list of paths", lines.get(key))
        sources = tuple((root / e).resolve() for e in entries)
        for source in sources:
            if not source.exists():
                raise DatasetError(path, f"'{key}' path {source} does not exist", lines.get(key))
        splits[key] = sources
    return DatasetSpec(yaml_path=path.resolve(), root=root, names=names, splits=splits)


def _is_image(path: str | Path) -> bool:
    return os.path.splitext(path)[1].lower() in IMAGE_SUFFIXES


def _images_in_list(list_path: Path) -> list[Path]:
    """Image paths from a list file; relative entries resolve against the list's folder."""
    try:
        text = list_path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(list_path, f"image list is not valid UTF-8 ({exc.reason})") from exc
    images = []
    for number, raw in enumerate(text.splitlines(), start=1):
        entry = raw.strip()
        if not entry:
            continue
        image = (list_path.parent / entry).resolve()
        if not _is_image(image):
            raise DatasetError(list_path, f"listed file {entry!r} is not a supported image", number)
        if not image.is_file():
            raise DatasetError(list_path, f"listed image {entry!r} does not exist", number)
        images.append(image)
    return images


def list_split_images(spec: DatasetSpec, split: str) -> list[Path]:
    """A split's image paths; folders searched recursively, hidden files skipped as glob does."""
    if split not in spec.splits:
        raise DatasetError(spec.yaml_path, f"no '{split}' split defined")
    images: list[Path] = []
    for source in spec.splits[split]:
        if source.is_dir():
            pattern = os.path.join(glob.escape(str(source)), "**", "*.*")
            found = sorted(Path(p) for p in glob.glob(pattern, recursive=True) if _is_image(p))
        else:
            found = _images_in_list(source)
        if not found:
            kinds = ", ".join(sorted(IMAGE_SUFFIXES))
            raise DatasetError(source, f"no images found for split '{split}' (looked for {kinds})")
        images.extend(found)
    return images


def label_path_for(image_path: str | os.PathLike[str]) -> Path:
    """The Ultralytics rule: last ``/images/`` becomes ``/labels/``, extension becomes ``.txt``."""
    text = os.fspath(image_path)
    images_dir, labels_dir = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
    return Path(labels_dir.join(text.rsplit(images_dir, 1))).with_suffix(".txt")


def _label_number(path: Path, line: int, field: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise DatasetError(path, f"{field} {text!r} is not a number", line) from exc
    if not math.isfinite(value):
        raise DatasetError(path, f"{field} {text!r} is not finite", line)
    return value


def read_label_file(
    path: str | os.PathLike[str], width: int, height: int, num_classes: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Parse ``cls cx cy w h`` lines (normalised) into pixel xyxy boxes and class ids.

    A missing or empty file means the image has no objects.
    """
    path = Path(path)
    if not path.exists():
        return np.zeros((0, 4), np.float64), np.zeros(0, np.int64)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(path, f"label file is not valid UTF-8 ({exc.reason})") from exc
    except IsADirectoryError as exc:
        raise DatasetError(path, "label path is a directory") from exc
    rows: list[tuple[float, float, float, float]] = []
    classes: list[int] = []
    low, high = -COORD_SLACK, 1 + COORD_SLACK
    for number, raw in enumerate(text.splitlines(), start=1):
        fields = raw.split()
        if not fields:
            continue
        if len(fields) != 5:
            raise DatasetError(
                path, f"expected 5 fields 'class cx cy w h', got {len(fields)}", number
            )
        cls_value = _label_number(path, number, "class id", fields[0])
        if cls_value != int(cls_value):
            raise DatasetError(path, f"class id {fields[0]!r} is not an integer", number)
        cls = int(cls_value)
        if cls < 0 or (num_classes is not None and cls >= num_classes):
            limit = f"0..{num_classes - 1}" if num_classes is not None else ">= 0"
            raise DatasetError(path, f"class id {cls} out of range {limit}", number)
        cx, cy, w, h = (
            _label_number(path, number, name, text)
            for name, text in zip(("cx", "cy", "w", "h"), fields[1:], strict=True)
        )
        for name, value in (("cx", cx), ("cy", cy), ("w", w), ("h", h)):
            if not low <= value <= high:
                raise DatasetError(path, f"{name}={value:g} outside [0, 1]", number)
        if w <= 0 or h <= 0:
            raise DatasetError(path, f"zero-size box (w={w:g}, h={h:g})", number)
        x1, y1, x2, y2 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
        if min(x1, y1) < low or max(x2, y2) > high:
            raise DatasetError(
                path,
                f"box corners ({x1:g}, {y1:g}, {x2:g}, {y2:g}) extend outside the image",
                number,
            )
        rows.append((x1 * width, y1 * height, x2 * width, y2 * height))
        classes.append(cls)
    boxes = np.array(rows, np.float64).reshape(-1, 4)
    # Clip the tolerated float slack so pixel boxes stay inside the image.
    np.clip(boxes[:, 0::2], 0, width, out=boxes[:, 0::2])
    np.clip(boxes[:, 1::2], 0, height, out=boxes[:, 1::2])
    return boxes, np.array(classes, np.int64)


def read_labelled_image(image_path: str | os.PathLike[str], num_classes: int) -> LabelledImage:
    """Read an image's size (decoding as training will, EXIF orientation applied) and its labels."""
    image_path = Path(image_path)
    image = cv2.imread(str(image_path))
    if image is None:
        raise DatasetError(image_path, "unreadable image (cv2.imread failed)")
    height, width = image.shape[:2]
    label_path = label_path_for(image_path)
    boxes, class_id = read_label_file(label_path, width, height, num_classes)
    return LabelledImage(image_path, label_path, width, height, boxes, class_id)


def iter_split(spec: DatasetSpec, split: str) -> Iterator[LabelledImage]:
    """Yield a split's images with labels; listing errors raise now, per-image errors on reach."""
    images = list_split_images(spec, split)
    return (read_labelled_image(p, spec.nc) for p in images)


def write_data_yaml(root: str | os.PathLike[str], names: Sequence[str]) -> Path:
    """Write ``root/data.yaml`` for the standard ``images/{train,val}`` layout.

    No ``path`` key is written: Ultralytics resolves a relative ``path`` (even ``.``) against the
    working directory, but with ``path`` absent it uses the yaml's own folder, which is what
    keeps the dataset relocatable for both Ultralytics and ``load_data_yaml``.
    """
    if not names:
        raise ValueError("names must not be empty")
    root = Path(root)
    content = {"train": "images/train", "val": "images/val", "names": [str(n) for n in names]}
    out = root / "data.yaml"
    out.write_text(yaml.safe_dump(content, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return out
