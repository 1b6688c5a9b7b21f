"""Frames from many cameras for one detector: freshest frame of each, taken in turn.

One ONNX session serves every camera (two sessions on two cores run at half speed), so one
worker takes frames for it. Each camera leaves only its newest frame in its slot; a frame the
worker has not taken by the time the next one arrives is replaced and counted as dropped by that
camera, so a slow detector never builds a backlog and always sees the present. Cameras are visited
round-robin, starting after the last one served, so with more cameras ready than fit in a batch
none of them is starved.

The worker polls the slots (every ``idle_wait_s`` when none has a frame) rather than waiting on
each: visiting a handful of slots a hundred times a second costs nothing measurable, and it needs
no hook inside the camera threads.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol

from streams.source import SampledFrame


class FrameSource(Protocol):
    """What the batcher needs of a camera (:class:`streams.camera.Camera` is one)."""

    name: str

    def next_frame(self, timeout: float | None = None) -> SampledFrame | None: ...


class FrameBatcher:
    """Takes up to ``max_batch`` ready frames, one per camera at most, round-robin.

    Example:
        >>> batcher = FrameBatcher([bridge, pier], max_batch=2)
        >>> while not stop.is_set():
        ...     frames = batcher.next_batch(stop)
        ...     for frame, found in zip(frames, detector.detect([f.frame for f in frames])):
        ...         ...
    """

    def __init__(
        self, sources: Sequence[FrameSource], *, max_batch: int = 1, idle_wait_s: float = 0.01
    ) -> None:
        if max_batch < 1 or idle_wait_s <= 0:
            raise ValueError("need max_batch >= 1 and idle_wait_s > 0")
        self.max_batch = max_batch
        self.idle_wait_s = idle_wait_s
        self._sources = list(sources)
        self._next = 0
        self.last_batch = 0  # frames taken by the latest collection

    @property
    def sources(self) -> tuple[FrameSource, ...]:
        return tuple(self._sources)

    def remove(self, source: FrameSource) -> None:
        """Stop visiting ``source`` (its camera has ended or failed)."""
        index = self._sources.index(source)
        del self._sources[index]
        if index < self._next:
            self._next -= 1
        if self._next >= len(self._sources):
            self._next = 0

    def collect(self) -> list[SampledFrame]:
        """The frames ready now (maybe none), without waiting."""
        frames: list[SampledFrame] = []
        count = len(self._sources)
        for step in range(count):
            index = (self._next + step) % count
            frame = self._sources[index].next_frame(timeout=0)
            if frame is not None:
                frames.append(frame)
                if len(frames) == self.max_batch:
                    self._next = (index + 1) % count
                    break
        else:
            self._next = (self._next + 1) % count if count else 0
        self.last_batch = len(frames)
        return frames

    def next_batch(self, stop: threading.Event, timeout: float | None = None) -> list[SampledFrame]:
        """Ready frames, waiting for some until ``stop`` is set or ``timeout`` passes."""
        waited = 0.0
        while not stop.is_set():
            frames = self.collect()
            if frames or (timeout is not None and waited >= timeout):
                return frames
            stop.wait(self.idle_wait_s)
            waited += self.idle_wait_s
        return []
