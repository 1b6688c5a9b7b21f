"""Map a model's own classes onto fishwatch's, so any detector can feed the same rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from detector.classes import CLASS_NAMES

COCO_NAMES: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)  # fmt: skip

# COCO has no rods or nets: a COCO model only ever finds people and boats.
COCO_TO_FISHWATCH: Mapping[str, str] = {"person": "person", "boat": "boat"}

ClassMapSpec = Literal["identity", "coco"] | Mapping[str, str]


class ClassMapError(ValueError):
    """A class map names a class that the model or fishwatch does not have."""


@dataclass(frozen=True, eq=False)
class ClassMap:
    """Lookup from model class id to fishwatch class id; -1 marks classes to drop."""

    lookup: np.ndarray

    def apply(self, model_class_ids: np.ndarray) -> np.ndarray:
        """Fishwatch ids for model ids, -1 where the model class is not mapped."""
        return self.lookup[model_class_ids]


def _names_hint(names: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def build_class_map(spec: ClassMapSpec, model_names: Sequence[str]) -> ClassMap:
    """Check ``spec`` against the model's class names and build the lookup.

    ``"identity"``: every model class is a fishwatch class of the same name. ``"coco"``:
    COCO person and boat, everything else dropped. A dict maps model class names to fishwatch
    class names; model classes not in it are dropped.
    """
    if spec == "identity":
        for name in model_names:
            if name not in CLASS_NAMES:
                raise ClassMapError(
                    f"class map 'identity': model class {name!r} is not a fishwatch class "
                    f"({', '.join(CLASS_NAMES)}); use 'coco' or an explicit mapping"
                )
        pairs: Mapping[str, str] = {n: n for n in model_names}
        label = "identity"
    elif spec == "coco":
        pairs, label = COCO_TO_FISHWATCH, "coco"
    elif isinstance(spec, Mapping):
        pairs, label = spec, "entry"
    else:
        raise ClassMapError(f"unknown class map {spec!r}; use 'identity', 'coco' or a dict")

    names = np.asarray(model_names, dtype=object)
    lookup = np.full(len(names), -1, np.int64)
    for model_name, fishwatch_name in pairs.items():
        if fishwatch_name not in CLASS_NAMES:
            raise ClassMapError(
                f"class map {label} {model_name!r}: {fishwatch_name!r} is not a fishwatch class "
                f"({', '.join(CLASS_NAMES)})"
            )
        if model_name not in model_names:
            raise ClassMapError(
                f"class map {label} {model_name!r}: the model has no such class "
                f"(it has {_names_hint(model_names)})"
            )
        lookup[names == model_name] = CLASS_NAMES.index(fishwatch_name)
    lookup.flags.writeable = False
    return ClassMap(lookup)
