from __future__ import annotations

import threading

import numpy as np

from streams.batching import FrameBatcher
from streams.slot import FrameSlot
from streams.source import SampledFrame


class _Camera:
    def __init__(self, name: str) -> None:
        self.name = name
        self.slot: FrameSlot[SampledFrame] = FrameSlot()
        self.count = 0

    def offer(self) -> None:
        self.slot.put(
            SampledFrame(
                self.name, np.zeros((2, 2, 3), np.uint8), float(self.count), 0.0, True, self.count
            )
        )
        self.count += 1

    def next_frame(self, timeout: float | None = None) -> SampledFrame | None:
        return self.slot.get(timeout)


def test_freshest_frame_of_each_camera_and_stale_ones_counted() -> None:
    a, b = _Camera("a"), _Camera("b")
    for _ in range(3):
        a.offer()
    b.offer()
    frames = FrameBatcher([a, b], max_batch=4).collect()
    assert [(f.camera, f.index) for f in frames] == [("a", 2), ("b", 0)]
    assert a.slot.dropped == 2 and b.slot.dropped == 0


def test_round_robin_when_more_cameras_are_ready_than_fit() -> None:
    cameras = [_Camera(name) for name in "abc"]
    batcher = FrameBatcher(cameras, max_batch=2)
    served = []
    for _ in range(3):
        for camera in cameras:
            camera.offer()
        served.append("".join(f.camera for f in batcher.collect()))
    assert served == ["ab", "ca", "bc"]  # nobody waits two rounds


def test_waits_for_a_frame_and_stops_on_request() -> None:
    a = _Camera("a")
    batcher = FrameBatcher([a], idle_wait_s=0.005)
    stop = threading.Event()
    assert batcher.next_batch(stop, timeout=0.02) == []
    threading.Timer(0.05, a.offer).start()
    assert [f.camera for f in batcher.next_batch(stop, timeout=2)] == ["a"]
    stop.set()
    assert batcher.next_batch(stop) == []


def test_removed_cameras_are_no_longer_visited() -> None:
    a, b = _Camera("a"), _Camera("b")
    batcher = FrameBatcher([a, b])
    batcher.remove(a)
    a.offer()
    b.offer()
    assert [f.camera for f in batcher.collect()] == ["b"] and batcher.sources == (b,)
