from __future__ import annotations

import numpy as np
import pytest

from detector.class_map import COCO_NAMES, ClassMapError, build_class_map
from detector.classes import CLASS_NAMES, FishwatchClass


def test_fishwatch_classes() -> None:
    assert CLASS_NAMES == ("person", "fishing_rod", "net", "boat")
    assert FishwatchClass.from_name("net") is FishwatchClass.NET
    assert FishwatchClass.BOAT.label == "boat" and FishwatchClass.BOAT == 3
    with pytest.raises(ValueError, match="unknown fishwatch class 'fish'"):
        FishwatchClass.from_name("fish")


def test_identity_maps_by_name_in_any_order() -> None:
    cmap = build_class_map("identity", ["boat", "person"])
    assert cmap.apply(np.array([0, 1, 1])).tolist() == [3, 0, 0]


def test_coco_keeps_person_and_boat_only() -> None:
    cmap = build_class_map("coco", COCO_NAMES)
    assert len(COCO_NAMES) == 80
    assert cmap.apply(np.array([0, 8, 2, 37])).tolist() == [0, 3, -1, -1]
    assert (cmap.lookup >= 0).sum() == 2


def test_explicit_dict_may_merge_classes() -> None:
    spec = {"canoe": "boat", "kayak": "boat", "angler": "person"}
    cmap = build_class_map(spec, ["angler", "canoe", "kayak", "dog"])
    assert cmap.lookup.tolist() == [0, 3, 3, -1]


@pytest.mark.parametrize(
    ("spec", "names", "message"),
    [
        ("identity", COCO_NAMES, "'identity': model class 'bicycle' is not a fishwatch class"),
        ("coco", ["person", "car"], "'boat': the model has no such class"),
        ({"dog": "person"}, ["person", "boat"], "entry 'dog': the model has no such class"),
        ({"person": "human"}, ["person"], "entry 'person': 'human' is not a fishwatch class"),
        ("voc", ["person"], "unknown class map 'voc'"),
    ],
)
def test_bad_maps_give_one_line_errors(spec: object, names: list, message: str) -> None:
    with pytest.raises(ClassMapError, match=message) as info:
        build_class_map(spec, names)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)
