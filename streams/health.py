"""Camera faults — offline, black, frozen, covered — from connection state and sampled frames.

Each check is a condition that must hold for a configured time before a fault opens, and be
false for ``recover_s`` before it closes, so a flickering threshold does not flood operators with
alerts. Frames are measured on a strided subsample (about 160 pixels wide) without averaging:
averaging would wash out the sensor noise that tells a still scene (noisy, not frozen) from a
stuck encoder (the same picture again, exactly or nearly).

Only keyframes are compared for freezing. An H.264 P-frame of a still scene copies its reference
and decodes to (nearly) the same pixels as a frozen one — measured: mean difference 0.00-0.3 —
while keyframes are coded afresh and carry new sensor noise (0.8 for noise of std 2), and a
stuck encoder settles to identical keyframes (0.00). MJPEG and raw frames are all keyframes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

import cv2
import numpy as np

from fishwatch.common.vocabulary import FaultKind
from streams.settings import FaultConfig

#: Sample about this many pixels across a frame for the statistics.
THUMB_WIDTH = 160
#: A luma step between neighbouring samples at least this big is an edge; sensor noise
#: (std ~3 levels) stays far below it, texture, horizons and objects do not.
EDGE_STEP = 24


@dataclass(frozen=True)
class CameraFault:
    """One fault of one camera: opened with ``end`` None, closed with ``end`` set (same ``id``).

    ``start``/``end`` are seconds on the camera's clock (the clock of ``SampledFrame.pts``);
    ``started_at``/``ended_at`` are Unix times, for operators. ``start`` is when the condition
    began, not when it had lasted long enough to be reported.
    """

    id: str
    camera: str
    kind: FaultKind
    start: float
    started_at: float
    detail: str
    end: float | None = None
    ended_at: float | None = None

    @property
    def is_open(self) -> bool:
        return self.end is None


@dataclass(frozen=True, eq=False)
class FrameStats:
    """What the checks need from a frame: mean luma, edge density and a luma subsample."""

    luma: float
    edges: float
    thumb: np.ndarray

    @classmethod
    def of(cls, image: np.ndarray) -> FrameStats:
        """Measure a BGR uint8 image (H, W, 3)."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected a BGR uint8 image (H, W, 3), got {image.dtype} "
                             f"{image.shape}")
        step = max(1, round(image.shape[1] / THUMB_WIDTH))
        thumb = cv2.cvtColor(np.ascontiguousarray(image[::step, ::step]), cv2.COLOR_BGR2GRAY)
        signed = thumb.astype(np.int16)
        edge = np.zeros(thumb.shape, bool)
        edge[:, 1:] |= np.abs(np.diff(signed, axis=1)) >= EDGE_STEP
        edge[1:, :] |= np.abs(np.diff(signed, axis=0)) >= EDGE_STEP
        return cls(float(thumb.mean()), float(edge.mean()), thumb)

    def difference(self, other: FrameStats) -> float:
        """Mean absolute luma difference (0-255); inf when the sizes differ."""
        if self.thumb.shape != other.thumb.shape:
            return float("inf")
        return float(cv2.absdiff(self.thumb, other.thumb).mean())


class _Condition:
    """Opens a fault after ``hold_s`` of its condition, closes it after ``recover_s`` without."""

    def __init__(self, camera: str, kind: FaultKind, hold_s: float | None,
                 recover_s: float) -> None:
        self.camera, self.kind, self.hold_s, self.recover_s = camera, kind, hold_s, recover_s
        self.since: tuple[float, float] | None = None  # (t, wall) the condition became true
        self.clear_since: tuple[float, float] | None = None
        self.fault: CameraFault | None = None

    def update(self, active: bool, t: float, wall: float, detail: str) -> CameraFault | None:
        """Feed the condition's value at ``t``; returns a fault that opened or closed."""
        if self.hold_s is None:
            return None
        if active:
            self.clear_since = None
            if self.since is None:
                self.since = (t, wall)
            if self.fault is None and t - self.since[0] >= self.hold_s:
                self.fault = CameraFault(str(uuid.uuid4()), self.camera, self.kind, self.since[0],
                                         self.since[1], detail)
                return self.fault
            return None
        self.since = None
        if self.fault is None:
            return None
        if self.clear_since is None:
            self.clear_since = (t, wall)
        if t - self.clear_since[0] < self.recover_s:
            return None
        closed = replace(self.fault, end=self.clear_since[0], ended_at=self.clear_since[1])
        self.fault = self.clear_since = None
        return closed


class FaultDetector:
    """Turns connection changes and sampled frames of one camera into fault open/close records.

    Feed it from the thread that reads the camera, with ``t`` on the camera's clock and
    ``wall`` the Unix time. Black wins over covered, covered over frozen, so a black frame is
    not also reported as a frozen or covered one.

    Example:
        >>> detector = FaultDetector("bridge", FaultConfig(black_s=5))
        >>> detector.set_online(True, t=0.0, wall=time.time())
        >>> for fault in detector.observe(frame.frame, frame.pts, frame.wall,
        ...                               keyframe=frame.is_keyframe):
        ...     publish(fault)   # opened: fault.end is None; closed: same id, end set
    """

    def __init__(self, camera: str, config: FaultConfig) -> None:
        self.config = config
        recover = config.recover_s
        self._offline = _Condition(camera, FaultKind.OFFLINE, config.offline_s, recover)
        self._black = _Condition(camera, FaultKind.BLACK, config.black_s, recover)
        self._covered = _Condition(camera, FaultKind.COVERED, config.covered_s, recover)
        self._frozen = _Condition(camera, FaultKind.FROZEN, config.freeze_s, recover)
        self._online = False
        self._previous: FrameStats | None = None

    @property
    def open_faults(self) -> tuple[CameraFault, ...]:
        conditions = (self._offline, self._black, self._covered, self._frozen)
        return tuple(c.fault for c in conditions if c.fault is not None)

    def set_online(self, online: bool, t: float, wall: float) -> list[CameraFault]:
        """The connection came up or went down."""
        self._online = online
        return self.tick(t, wall)

    def tick(self, t: float, wall: float) -> list[CameraFault]:
        """Let time pass without frames (an offline camera sends none)."""
        change = self._offline.update(not self._online, t, wall, "no connection")
        return [change] if change else []

    def observe(self, image: np.ndarray, t: float, wall: float, *,
                keyframe: bool = True) -> list[CameraFault]:
        """Check one sampled frame (BGR uint8); only keyframes count for freezing."""
        return self.observe_stats(FrameStats.of(image), t, wall, keyframe=keyframe)

    def observe_stats(self, stats: FrameStats, t: float, wall: float, *,
                      keyframe: bool = True) -> list[CameraFault]:
        """Check one sampled frame's statistics."""
        config = self.config
        black = stats.luma <= config.black_luma
        covered = not black and stats.edges <= config.covered_edges
        changes = [
            self._black.update(black, t, wall, f"mean luma {stats.luma:.1f}"),
            self._covered.update(covered, t, wall, f"edge pixels {stats.edges:.2%}"),
        ]
        if keyframe:
            difference = self._previous.difference(stats) if self._previous else float("inf")
            frozen = not black and not covered and difference <= config.freeze_diff
            self._previous = stats
            changes.append(self._frozen.update(frozen, t, wall,
                                               f"keyframe difference {difference:.2f}"))
        return [c for c in changes if c is not None]
