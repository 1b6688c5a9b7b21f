"""Filters between the tracker and the rules: they decide which objects are believed, and where.

Three kinds of false alarm are cheap to stop before any rule sees them: boxes too small to be what
the model says (a 6-pixel "person" on the far bank), tracks whose scores are mostly low (a buoy
that looks like a boat one frame in four), and objects whose ground point flickers across a zone
edge. Each filter is one small class; those that keep per-track state drop it with ``forget``.
"""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass

import numpy as np

from detector.detections import Detections


@dataclass(frozen=True)
class SizeLimits:
    """Smallest box, in pixels, that a class is believed at."""

    min_width: float = 0.0
    min_height: float = 0.0
    min_area: float = 0.0


class BoxSizeFilter:
    """Drops boxes below their class's :class:`SizeLimits`; classes not listed are kept.

    Example:
        >>> keep = BoxSizeFilter({0: SizeLimits(min_height=20)})
        >>> len(keep(Detections([[0, 0, 10, 10], [0, 0, 10, 30]], [0.9, 0.9], [0, 0])))
        1
    """

    def __init__(self, limits: Mapping[int, SizeLimits]) -> None:
        size = max(limits, default=-1) + 1
        self._table = np.zeros((size, 3))
        for class_id, limit in limits.items():
            self._table[class_id] = (limit.min_width, limit.min_height, limit.min_area)

    def __call__(self, detections: Detections) -> Detections:
        if not len(self._table) or not len(detections):
            return detections
        known = detections.class_id < len(self._table)
        limits = self._table[np.where(known, detections.class_id, 0)]
        wh = detections.xyxy[:, 2:] - detections.xyxy[:, :2]
        big_enough = (wh >= limits[:, :2]).all(axis=1) & (detections.area >= limits[:, 2])
        return detections[~known | big_enough]


class MedianScoreGate:
    """Passes a track once the median of its recent scores reaches its class's threshold.

    As in Frigate, a track that has passed stays passed: its score may dip later (occlusion,
    night) without the object ceasing to be real.

    Example:
        >>> gate = MedianScoreGate({0: 0.6}, history=3)
        >>> def seen(score):
        ...     return len(gate(Detections([[0, 0, 10, 30]], [score], [0], tracker_id=[7])))
        >>> [seen(s) for s in (0.5, 0.4, 0.9, 0.9, 0.1)]  # passes at median(0.4, 0.9, 0.9)
        [0, 0, 0, 1, 1]
    """

    def __init__(self, thresholds: Mapping[int, float], history: int = 10) -> None:
        if history < 1:
            raise ValueError(f"history must be >= 1, got {history}")
        self._thresholds = dict(thresholds)
        self._history = history
        self._scores: dict[int, deque[float]] = {}
        self._passed: set[int] = set()

    def __call__(self, detections: Detections) -> Detections:
        if detections.tracker_id is None:
            raise ValueError("MedianScoreGate needs tracked detections (tracker_id set)")
        keep = np.zeros(len(detections), bool)
        for i, (track, class_id, score) in enumerate(
            zip(detections.tracker_id, detections.class_id, detections.confidence, strict=True)
        ):
            track = int(track)
            scores = self._scores.setdefault(track, deque(maxlen=self._history))
            scores.append(float(score))
            if track not in self._passed and statistics.median(scores) >= self._thresholds.get(
                int(class_id), 0.0
            ):
                self._passed.add(track)
            keep[i] = track in self._passed
        return detections[keep]

    def forget(self, alive_ids: Set[int]) -> None:
        """Drop the history of tracks the tracker no longer holds."""
        for track in set(self._scores) - alive_ids:
            del self._scores[track]
        self._passed &= alive_ids


class ZoneInertia:
    """Per-track zone presence with hysteresis: in after N frames inside, out after N outside.

    At one or two frames a second a box edge jittering across a zone border would otherwise
    restart every dwell timer. ``inertia[z]`` is N for zone column ``z``; Frigate counts frames
    the same way, but only on entry.
    """

    def __init__(self, inertia: Sequence[int]) -> None:
        if any(n < 1 for n in inertia):
            raise ValueError(f"inertia must be >= 1 frame per zone, got {list(inertia)}")
        self._inertia = np.asarray(inertia, np.int64)
        self._present: dict[int, np.ndarray] = {}
        self._streak: dict[int, np.ndarray] = {}

    def __call__(self, tracker_id: np.ndarray, inside: np.ndarray) -> np.ndarray:
        """(N, Z) presence for tracks ``tracker_id`` given this frame's (N, Z) ``inside``."""
        inside = np.asarray(inside, bool).reshape(len(tracker_id), len(self._inertia))
        present = np.zeros_like(inside)
        for i, track in enumerate(int(t) for t in tracker_id):
            was = self._present.get(track)
            if was is None:
                was = np.zeros(len(self._inertia), bool)
                self._streak[track] = np.zeros(len(self._inertia), np.int64)
            streak = np.where(inside[i] != was, self._streak[track] + 1, 0)
            flip = streak >= self._inertia
            now = np.where(flip, ~was, was)
            self._present[track] = now
            self._streak[track] = np.where(flip, 0, streak)
            present[i] = now
        return present

    def forget(self, alive_ids: Set[int]) -> None:
        """Drop the state of tracks the tracker no longer holds."""
        for track in set(self._present) - alive_ids:
            del self._present[track], self._streak[track]
