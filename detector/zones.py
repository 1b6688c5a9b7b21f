"""Polygon zones: where on the picture a rule applies, tested on the point an object stands on.

A zone is a pixel polygon drawn for one frame size, the kinds of ground it marks, and its mask
rasterised once, so testing N objects is N array lookups rather than N point-in-polygon tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import cv2
import numpy as np

from detector.detections import Detections


class ZoneKind(StrEnum):
    """What a zone marks; one polygon may mark several (a river is both water and no-boat)."""

    NO_FISHING = "no_fishing"  # bank where angling and loitering are watched
    WATER = "water"  # where nets are looked for
    NO_BOAT = "no_boat"  # water that boats must not enter
    IGNORE = "ignore"  # detections standing here are dropped (a road, a poster, a reflection)


class FrameSizeError(ValueError):
    """Frames are not the size the zones were drawn for: every zone test would be wrong."""


def _segments_cross(p1: np.ndarray, p2: np.ndarray, q1: np.ndarray, q2: np.ndarray) -> bool:
    """Whether segments p1-p2 and q1-q2 intersect, touching included."""

    def orient(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
        return float((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))

    def on_segment(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> bool:
        return bool(min(a[0], b[0]) <= c[0] <= max(a[0], b[0])
                    and min(a[1], b[1]) <= c[1] <= max(a[1], b[1]))

    d1, d2 = orient(q1, q2, p1), orient(q1, q2, p2)
    d3, d4 = orient(p1, p2, q1), orient(p1, p2, q2)
    if ((d1 > 0) != (d2 > 0)) and d1 and d2 and ((d3 > 0) != (d4 > 0)) and d3 and d4:
        return True
    return ((d1 == 0 and on_segment(q1, q2, p1)) or (d2 == 0 and on_segment(q1, q2, p2))
            or (d3 == 0 and on_segment(p1, p2, q1)) or (d4 == 0 and on_segment(p1, p2, q2)))


def is_simple_polygon(points: Sequence[Sequence[float]] | np.ndarray) -> bool:
    """True when no two non-neighbouring edges meet: a figure-eight zone is a drawing mistake.

    O(K²) in the number of corners, which is a handful for a hand-drawn zone.

    Example:
        >>> is_simple_polygon([(0, 0), (10, 0), (10, 10), (0, 10)])
        True
        >>> is_simple_polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
        False
    """
    pts = np.asarray(points, dtype=np.float64)
    k = len(pts)
    if k < 3:
        return False
    edges = [(pts[i], pts[(i + 1) % k]) for i in range(k)]
    for i in range(k):
        for j in range(i + 1, k):
            if j == i + 1 or (i == 0 and j == k - 1):
                continue  # neighbours share a corner by construction
            if _segments_cross(*edges[i], *edges[j]):
                return False
    return True


@dataclass(frozen=True, eq=False)
class PolygonZone:
    """A named polygon of ``kinds`` on ``frame_size`` (width, height) frames, mask precomputed.

    Example:
        >>> bank = PolygonZone("bank", [(0, 50), (100, 50), (100, 100), (0, 100)], (100, 100),
        ...                    frozenset({ZoneKind.NO_FISHING}))
        >>> bank.contains(np.array([[50.0, 99.0], [50.0, 10.0]])).tolist()
        [True, False]
    """

    name: str
    polygon: np.ndarray
    frame_size: tuple[int, int]
    kinds: frozenset[ZoneKind]
    mask: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        polygon = np.array(self.polygon, dtype=np.float32)
        if polygon.ndim != 2 or polygon.shape[1] != 2 or len(polygon) < 3:
            raise ValueError(
                f"zone {self.name!r}: polygon must have shape (K >= 3, 2), got {polygon.shape}"
            )
        width, height = (int(v) for v in self.frame_size)
        if width < 1 or height < 1:
            raise ValueError(
                f"zone {self.name!r}: frame size must be positive, got {width}x{height}"
            )
        if ((polygon < 0) | (polygon > (width, height))).any():
            raise ValueError(
                f"zone {self.name!r}: polygon leaves the {width}x{height} frame it was drawn for"
            )
        if not self.kinds:
            raise ValueError(f"zone {self.name!r}: needs at least one kind")
        mask = np.zeros((height, width), np.uint8)
        cv2.fillPoly(mask, [np.round(polygon).astype(np.int32)], 1)
        polygon.flags.writeable = False
        mask = mask.astype(bool)
        mask.flags.writeable = False
        set_ = object.__setattr__
        set_(self, "polygon", polygon)
        set_(self, "frame_size", (width, height))
        set_(self, "kinds", frozenset(ZoneKind(k) for k in self.kinds))
        set_(self, "mask", mask)

    def contains(self, points: np.ndarray) -> np.ndarray:
        """(N,) bool: which (N, 2) pixel points lie in the zone; points off the frame do not."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        width, height = self.frame_size
        x, y = points[:, 0], points[:, 1]
        on_frame = (x >= 0) & (x <= width) & (y >= 0) & (y <= height)
        # A box edge may lie exactly on the frame's right/bottom border: that is the last pixel.
        col = np.clip(x, 0, width - 1).astype(np.intp)
        row = np.clip(y, 0, height - 1).astype(np.intp)
        return on_frame & self.mask[row, col]

    def trigger(self, detections: Detections) -> np.ndarray:
        """(N,) bool: which detections stand in the zone, judged by their bottom-centre."""
        return self.contains(detections.bottom_center())

    def coverage(self, xyxy: np.ndarray, samples: int = 5) -> np.ndarray:
        """(N,) fraction of each box over the zone, from a ``samples``² grid of points.

        For objects that lie *on* a surface rather than stand on it (a net spread on the water),
        where the bottom-centre may still be on the bank.
        """
        xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
        if not len(xyxy):
            return np.zeros(0)
        steps = (np.arange(samples) + 0.5) / samples
        xs = xyxy[:, [0]] + (xyxy[:, [2]] - xyxy[:, [0]]) * steps  # (N, S)
        ys = xyxy[:, [1]] + (xyxy[:, [3]] - xyxy[:, [1]]) * steps
        grid = np.stack(np.broadcast_arrays(xs[:, None, :], ys[:, :, None]), axis=-1)
        inside = self.contains(grid.reshape(-1, 2)).reshape(len(xyxy), -1)
        return inside.mean(axis=1)

    def check_frame_size(self, width: int, height: int) -> None:
        """Raise :class:`FrameSizeError` if frames are not the size this zone was drawn on."""
        if (width, height) != self.frame_size:
            w, h = self.frame_size
            raise FrameSizeError(
                f"zone {self.name!r} was drawn for {w}x{h} frames, got {width}x{height}: "
                "redraw the zones or set the camera's frame size"
            )


def default_zones(width: int, height: int) -> tuple[PolygonZone, ...]:
    """With no zones configured, the whole frame is one zone where every rule applies."""
    corners = [(0, 0), (width, 0), (width, height), (0, height)]
    kinds = frozenset({ZoneKind.NO_FISHING, ZoneKind.WATER, ZoneKind.NO_BOAT})
    return (PolygonZone("frame", np.array(corners), (width, height), kinds),)
