"""Detections: the one container that model run time, trackers, zones and rules pass around."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

Index = int | slice | Sequence[int] | np.ndarray


def _frozen(name: str, value: Any, dtype: type, shape: tuple[int | None, ...]) -> np.ndarray:
    """Copy ``value`` to a read-only array of ``dtype``, checking its shape (None = any size)."""
    array = np.array(value, dtype=dtype)
    if array.ndim != len(shape) or any(
        want is not None and got != want for got, want in zip(array.shape, shape, strict=True)
    ):
        dims = ["N" if d is None else str(d) for d in shape]
        expected = f"({', '.join(dims)}{',' if len(dims) == 1 else ''})"
        raise ValueError(f"Detections.{name} must have shape {expected}, got {array.shape}")
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class Detections:
    """N boxes in original frame pixels with scores, fishwatch class ids and optional extras.

    Arrays are copied and made read-only, so a Detections can be shared between threads and
    stages without anyone changing it under another's feet; build a new one with
    ``dataclasses.replace`` (e.g. to add ``tracker_id``).
    """

    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray
    tracker_id: np.ndarray | None = None
    data: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        xyxy = _frozen("xyxy", self.xyxy, np.float32, (None, 4))
        n = len(xyxy)
        set_ = object.__setattr__
        set_(self, "xyxy", xyxy)
        set_(self, "confidence", _frozen("confidence", self.confidence, np.float32, (n,)))
        set_(self, "class_id", _frozen("class_id", self.class_id, np.int64, (n,)))
        if self.tracker_id is not None:
            set_(self, "tracker_id", _frozen("tracker_id", self.tracker_id, np.int64, (n,)))
        data = {}
        for key, value in self.data.items():
            array = np.array(value)
            if array.ndim == 0 or len(array) != n:
                raise ValueError(
                    f"Detections.data[{key!r}] must have shape (N, ...) with N={n}, "
                    f"got {array.shape}"
                )
            array.flags.writeable = False
            data[key] = array
        set_(self, "data", MappingProxyType(data))

    @classmethod
    def empty(cls) -> Detections:
        """No detections: what a frame without anything of interest yields."""
        return cls(np.empty((0, 4), np.float32), np.empty(0, np.float32), np.empty(0, np.int64))

    @classmethod
    def merge(cls, items: Sequence[Detections]) -> Detections:
        """Concatenate detections (e.g. from several tiles or models); empty ones are skipped."""
        items = [d for d in items if len(d)]
        if not items:
            return cls.empty()
        has_ids = {d.tracker_id is not None for d in items}
        if len(has_ids) > 1:
            raise ValueError("cannot merge Detections with and without tracker_id")
        keys = {frozenset(d.data) for d in items}
        if len(keys) > 1:
            raise ValueError(
                f"cannot merge Detections with different data keys: {sorted(map(sorted, keys))}"
            )
        return cls(
            xyxy=np.concatenate([d.xyxy for d in items]),
            confidence=np.concatenate([d.confidence for d in items]),
            class_id=np.concatenate([d.class_id for d in items]),
            tracker_id=np.concatenate([d.tracker_id for d in items]) if has_ids == {True} else None,
            data={k: np.concatenate([d.data[k] for d in items]) for k in items[0].data},
        )

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: Index) -> Detections:
        """Select by int, slice, index list or boolean mask; always returns Detections."""
        if isinstance(index, int | np.integer):
            index = [int(index)]
        return Detections(
            xyxy=self.xyxy[index],
            confidence=self.confidence[index],
            class_id=self.class_id[index],
            tracker_id=None if self.tracker_id is None else self.tracker_id[index],
            data={k: v[index] for k, v in self.data.items()},
        )

    def bottom_center(self) -> np.ndarray:
        """(N, 2) points where objects touch the ground/water: the anchor for zone tests."""
        x1, _, x2, y2 = self.xyxy.T
        return np.stack([(x1 + x2) / 2, y2], axis=1)

    @property
    def area(self) -> np.ndarray:
        """(N,) box areas in square pixels."""
        return (self.xyxy[:, 2] - self.xyxy[:, 0]) * (self.xyxy[:, 3] - self.xyxy[:, 1])
