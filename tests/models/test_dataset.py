from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from models.dataset import (
    DatasetError,
    iter_split,
    label_path_for,
    list_split_images,
    load_data_yaml,
    read_label_file,
    write_data_yaml,
)

NAMES = ["person", "fishing_rod", "net", "boat"]


def write_image(path: Path, width: int = 40, height: int = 20) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.zeros((height, width, 3), np.uint8))
    return path


def write_labels(image: Path, text: str) -> Path:
    label = label_path_for(image)
    label.parent.mkdir(parents=True, exist_ok=True)
    label.write_text(text)
    return label


def make_dataset(root: Path) -> Path:
    """Two train images (one negative without a label file), one val image with an empty file."""
    write_labels(write_image(root / "images/train/a.png"), "0 0.5 0.5 0.5 0.5\n3 0.25 0.5 0.5 1\n")
    write_image(root / "images/train/b.png")
    write_labels(write_image(root / "images/val/c.png"), "")
    return write_data_yaml(root, NAMES)


def write_yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "data.yaml"
    path.write_text(text)
    return path


def error_of(call, *args) -> DatasetError:
    with pytest.raises(DatasetError) as info:
        call(*args)
    message = str(info.value)
    assert "\n" not in message
    return info.value


def test_round_trip_reads_boxes_in_pixels(tmp_path: Path) -> None:
    spec = load_data_yaml(make_dataset(tmp_path))
    assert spec.names == tuple(NAMES)
    assert spec.nc == 4
    assert spec.root == tmp_path.resolve()
    train = list(iter_split(spec, "train"))
    assert [i.image_path.name for i in train] == ["a.png", "b.png"]
    a, b = train
    assert (a.width, a.height) == (40, 20)
    np.testing.assert_allclose(a.boxes_xyxy, [[10, 5, 30, 15], [0, 0, 20, 20]])
    np.testing.assert_array_equal(a.class_id, [0, 3])
    assert b.boxes_xyxy.shape == (0, 4) and b.class_id.shape == (0,)
    (c,) = iter_split(spec, "val")
    assert c.boxes_xyxy.shape == (0, 4)


def test_relative_path_resolves_against_yaml_folder(tmp_path: Path, monkeypatch) -> None:
    make_dataset(tmp_path / "ds")
    yaml_path = write_yaml(tmp_path, "path: ds\ntrain: images/train\nval: images/val\nnames: [a]\n")
    monkeypatch.chdir(tmp_path / "ds" / "images")
    spec = load_data_yaml(yaml_path)
    assert spec.root == (tmp_path / "ds").resolve()
    assert len(list_split_images(spec, "train")) == 2


def test_names_as_mapping_and_matching_nc(tmp_path: Path) -> None:
    make_dataset(tmp_path)
    path = write_yaml(
        tmp_path, "train: images/train\nval: images/val\nnc: 2\nnames: {1: net, '0': person}\n"
    )
    assert load_data_yaml(path).names == ("person", "net")


def test_nc_alone_names_classes(tmp_path: Path) -> None:
    make_dataset(tmp_path)
    path = write_yaml(tmp_path, "train: images/train\nval: images/val\nnc: 2\n")
    assert load_data_yaml(path).names == ("class_0", "class_1")


def test_split_from_list_file_and_list_of_sources(tmp_path: Path) -> None:
    make_dataset(tmp_path)
    (tmp_path / "train.txt").write_text("./images/train/a.png\n\nimages/val/c.png\n")
    path = write_yaml(
        tmp_path,
        "train: train.txt\nval: [images/val, images/train]\ntest: images/val\nnames: [a]\n",
    )
    spec = load_data_yaml(path)
    assert [p.name for p in list_split_images(spec, "train")] == ["a.png", "c.png"]
    assert [p.name for p in list_split_images(spec, "val")] == ["c.png", "a.png", "b.png"]
    assert [i.image_path.name for i in iter_split(spec, "test")] == ["c.png"]


def test_folder_search_is_recursive_and_skips_hidden_and_non_images(tmp_path: Path) -> None:
    make_dataset(tmp_path)
    write_image(tmp_path / "images/train/sub/d.jpg")
    write_image(tmp_path / "images/train/._a.png")  # macOS resource-fork litter
    (tmp_path / "images/train/notes.md").write_text("x")
    spec = load_data_yaml(tmp_path / "data.yaml")
    names = [
        p.relative_to(tmp_path / "images/train").as_posix()
        for p in list_split_images(spec, "train")
    ]
    assert names == ["a.png", "b.png", "sub/d.jpg"]


def test_label_path_rule() -> None:
    root = Path("/d/images/x/images/train")
    assert label_path_for(root / "a.b.jpg") == Path("/d/images/x/labels/train/a.b.txt")
    assert label_path_for(Path("/d/flat/a.png")) == Path("/d/flat/a.txt")


def test_slack_is_tolerated_and_clipped(tmp_path: Path) -> None:
    label = tmp_path / "l.txt"
    label.write_text("1 0.5 0.5 1.0005 1.0005\n")
    boxes, classes = read_label_file(label, 100, 50, num_classes=2)
    np.testing.assert_allclose(boxes, [[0, 0, 100, 50]])
    np.testing.assert_array_equal(classes, [1])


def test_missing_label_file_is_negative(tmp_path: Path) -> None:
    boxes, classes = read_label_file(tmp_path / "none.txt", 10, 10)
    assert boxes.shape == (0, 4) and classes.shape == (0,)


# ---- data.yaml errors


def test_missing_data_yaml(tmp_path: Path) -> None:
    err = error_of(load_data_yaml, tmp_path / "data.yaml")
    assert str(err) == f"{tmp_path / 'data.yaml'}: data.yaml not found"


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = write_yaml(tmp_path, "train: images/train\nval: [images/val\nnames: [a]\n")
    err = error_of(load_data_yaml, path)
    assert str(err).startswith(f"{path}:3: YAML syntax error")


def test_top_level_must_be_mapping(tmp_path: Path) -> None:
    assert "mapping" in str(error_of(load_data_yaml, write_yaml(tmp_path, "- a\n- b\n")))
    assert "empty" in str(error_of(load_data_yaml, write_yaml(tmp_path, "")))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("val: images/val\nnames: [a]\n", "missing or empty key 'train'"),
        ("train: images/train\nnames: [a]\n", "missing or empty key 'val'"),
        ("train: images/train\nval: images/val\n", "missing key 'names' (or 'nc')"),
    ],
)
def test_missing_keys(tmp_path: Path, text: str, problem: str) -> None:
    make_dataset(tmp_path)
    path = write_yaml(tmp_path, text)
    assert str(error_of(load_data_yaml, path)) == f"{path}: {problem}"


@pytest.mark.parametrize(
    ("names_and_nc", "line", "problem"),
    [
        ("nc: 3\nnames: [a, b]\n", 3, "'nc: 3' does not match the 2 entries of 'names'"),
        ("nc: two\nnames: [a, b]\n", 3, "'nc' must be a positive integer"),
        ("names: {0: a, 2: b}\n", 3, "'names' ids must be 0..1"),
        ("names: []\n", 3, "'names' must be a non-empty list"),
        ("names: [a, null]\n", 3, "'names' entries must be non-empty"),
    ],
)
def test_bad_names(tmp_path: Path, names_and_nc: str, line: int, problem: str) -> None:
    make_dataset(tmp_path)
    path = write_yaml(tmp_path, "train: images/train\nval: images/val\n" + names_and_nc)
    assert str(error_of(load_data_yaml, path)).startswith(f"{path}:{line}: {problem}")


def test_split_path_that_does_not_exist(tmp_path: Path) -> None:
    make_dataset(tmp_path)
    path = write_yaml(tmp_path, "train: images/train\nval: images/nope\nnames: [a]\n")
    missing = tmp_path.resolve() / "images/nope"
    assert str(error_of(load_data_yaml, path)) == f"{path}:2: 'val' path {missing} does not exist"


def test_root_path_that_does_not_exist(tmp_path: Path) -> None:
    path = write_yaml(tmp_path, "path: gone\ntrain: a\nval: b\nnames: [a]\n")
    assert str(error_of(load_data_yaml, path)).startswith(f"{path}:1: 'path' ")


def test_undefined_split(tmp_path: Path) -> None:
    spec = load_data_yaml(make_dataset(tmp_path))
    err = error_of(iter_split, spec, "test")
    assert str(err) == f"{spec.yaml_path}: no 'test' split defined"


# ---- image listing errors


def test_no_images_found(tmp_path: Path) -> None:
    make_dataset(tmp_path)
    (tmp_path / "images/empty").mkdir()
    (tmp_path / "images/empty/readme.txt").write_text("x")
    spec = load_data_yaml(
        write_yaml(tmp_path, "train: images/empty\nval: images/val\nnames: [a]\n")
    )
    err = error_of(iter_split, spec, "train")
    assert str(err).startswith(f"{tmp_path.resolve() / 'images/empty'}: no images found")


def test_list_file_errors_name_the_line(tmp_path: Path) -> None:
    make_dataset(tmp_path)
    lst = tmp_path / "train.txt"
    lst.write_text("images/train/a.png\n")
    spec = load_data_yaml(write_yaml(tmp_path, "train: train.txt\nval: images/val\nnames: [a]\n"))
    lst.write_text("images/train/a.png\nimages/train/zzz.png\n")
    err = error_of(list_split_images, spec, "train")
    assert str(err).startswith(f"{lst.resolve()}:2: listed image 'images/train/zzz.png'")
    lst.write_text("images/train/a.png\nlabels/train/a.txt\n")
    assert "not a supported image" in str(error_of(list_split_images, spec, "train"))
    lst.write_text("\n")
    assert "no images found" in str(error_of(list_split_images, spec, "train"))


def test_unreadable_image(tmp_path: Path) -> None:
    spec = load_data_yaml(make_dataset(tmp_path))
    broken = tmp_path / "images/train/b.png"
    broken.write_bytes(b"not a png")
    images = iter_split(spec, "train")
    next(images)
    err = error_of(next, images)
    assert str(err) == f"{broken.resolve()}: unreadable image (cv2.imread failed)"


# ---- label file errors


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("0 0.5 0.5 0.5", "expected 5 fields 'class cx cy w h', got 4"),
        ("0 0.5 0.5 0.5 0.5 0.1", "expected 5 fields 'class cx cy w h', got 6"),
        ("person 0.5 0.5 0.5 0.5", "class id 'person' is not a number"),
        ("0 0.5 half 0.5 0.5", "cy 'half' is not a number"),
        ("0 0.5 0.5 nan 0.5", "w 'nan' is not finite"),
        ("1.5 0.5 0.5 0.5 0.5", "class id '1.5' is not an integer"),
        ("4 0.5 0.5 0.5 0.5", "class id 4 out of range 0..3"),
        ("-1 0.5 0.5 0.5 0.5", "class id -1 out of range 0..3"),
        ("0 1.2 0.5 0.1 0.1", "cx=1.2 outside [0, 1]"),
        ("0 0.5 -0.01 0.1 0.1", "cy=-0.01 outside [0, 1]"),
        ("0 0.5 0.5 0 0.1", "zero-size box (w=0, h=0.1)"),
        ("0 0.5 0.5 0.1 -0.0001", "zero-size box (w=0.1, h=-0.0001)"),
        ("0 0.95 0.5 0.2 0.1", "box corners (0.85, 0.45, 1.05, 0.55) extend outside the image"),
    ],
)
def test_bad_label_line(tmp_path: Path, line: str, problem: str) -> None:
    spec = load_data_yaml(make_dataset(tmp_path))
    label = write_labels(tmp_path / "images/train/a.png", f"0 0.5 0.5 0.5 0.5\n\n{line}\n")
    err = error_of(lambda: list(iter_split(spec, "train")))
    assert str(err) == f"{label.resolve()}:3: {problem}"
    assert (err.path, err.line) == (label.resolve(), 3)


def test_class_range_unchecked_without_num_classes(tmp_path: Path) -> None:
    label = tmp_path / "l.txt"
    label.write_text("7 0.5 0.5 0.5 0.5\n")
    assert read_label_file(label, 10, 10)[1].tolist() == [7]


# ---- writer


def test_write_data_yaml_content(tmp_path: Path) -> None:
    path = write_data_yaml(tmp_path, NAMES)
    assert path.read_text() == (
        "train: images/train\nval: images/val\nnames:\n- person\n- fishing_rod\n- net\n- boat\n"
    )


@pytest.mark.train
def test_ultralytics_resolves_written_yaml_to_its_folder(tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("ultralytics")
    from ultralytics.data import utils as ul_data

    monkeypatch.setattr(ul_data, "check_font", lambda *a, **k: None)  # avoids a download
    path = make_dataset(tmp_path / "ds")
    monkeypatch.chdir(tmp_path)
    data = ul_data.check_det_dataset(os.path.relpath(path))
    assert Path(data["train"]).resolve() == (tmp_path / "ds/images/train").resolve()
    assert data["names"] == dict(enumerate(NAMES))
