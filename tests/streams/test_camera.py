"""Camera threads on files and unreachable URLs; the freshest-frame slot; backoff."""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from streams.backoff import Backoff
from streams.camera import Camera, CameraState
from streams.clip import write_clip
from streams.health import CameraFault
from streams.settings import CameraSourceConfig
from streams.slot import FrameSlot


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_broken_file_fails_alone_while_another_camera_keeps_running(
    tmp_path: Path, clip1s: Path
) -> None:
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(random.Random(1).randbytes(30_000))
    good = Camera("good", CameraSourceConfig(path=clip1s, loop=True,
                                             sample={"mode": "every_n", "n": 5}))
    bad = Camera("bad", CameraSourceConfig(path=corrupt))
    with good, bad:
        wait_for(lambda: bad.status().state is CameraState.FAILED, 5, "the corrupt file to fail")
        status = bad.status()
        assert status.last_error == (
            f"{corrupt}: cannot open: Invalid data found when processing input")
        assert [c.state for c in status.history] == [CameraState.CONNECTING, CameraState.FAILED]
        assert bad.next_frame(timeout=0.1) is None and list(bad.frames()) == []
        seen = [good.next_frame(timeout=2) for _ in range(8)]  # > 1 s: it looped
        assert all(frame is not None for frame in seen)
        assert good.status().state is CameraState.ONLINE
    assert good.status().state is CameraState.STOPPED


def test_a_truncated_file_delivers_what_it_has_then_fails(
    tmp_path: Path, make_video: Callable[..., Path]
) -> None:
    whole = make_video("whole.mp4", 100, faststart=True)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with Camera("cut", CameraSourceConfig(path=cut, pace="fast")) as camera:
        frames = list(camera.frames())
        status = camera.status()
    assert [f.pts for f in frames][:1] == [0.0]
    assert status.state is CameraState.FAILED and "(truncated?)" in (status.last_error or "")


def test_fast_files_lose_nothing_to_a_slow_consumer(clip4s: Path) -> None:
    config = CameraSourceConfig(path=clip4s, pace="fast", sample={"mode": "every_n", "n": 4})
    with Camera("fast", config) as camera:
        indices = []
        for frame in camera.frames():
            indices.append(frame.index)
            time.sleep(0.005)
        status = camera.status()
    assert indices == list(range(0, 100, 4))
    assert status.state is CameraState.ENDED
    assert (status.frames_dropped, status.frames_delivered, status.packets) == (0, 25, 100)


def test_stop_releases_a_producer_waiting_for_a_consumer(clip4s: Path) -> None:
    camera = Camera("idle", CameraSourceConfig(path=clip4s, pace="fast", loop=True,
                                               sample={"mode": "every_n", "n": 1}))
    camera.start()
    wait_for(lambda: camera.status().frames_sampled >= 2, 3, "a frame waiting in the slot")
    started = time.monotonic()
    assert camera.stop(timeout=2)
    assert time.monotonic() - started < 1
    assert camera.status().state is CameraState.STOPPED and camera.status().frames_dropped == 0


def test_live_pace_drops_stale_frames_and_keeps_the_freshest(clip1s: Path) -> None:
    config = CameraSourceConfig(path=clip1s, sample={"mode": "every_n", "n": 1})
    with Camera("live", config) as camera:
        time.sleep(0.5)  # a consumer that fell behind
        frame = camera.next_frame(timeout=1)
        assert frame is not None and frame.index >= 8  # not the first frame: the newest one
        wait_for(lambda: camera.status().state is CameraState.ENDED, 3, "the file to end")
        status = camera.status()
    assert status.frames_dropped >= 8
    assert status.frames_sampled == 25 == status.frames_dropped + status.frames_delivered + (
        1 if camera.next_frame(0) else 0)


def test_status_measures_rates_and_buffers_for_clips(tmp_path: Path, clip1s: Path) -> None:
    config = CameraSourceConfig(path=clip1s, loop=True, pre_capture_s=1)
    with Camera("rates", config) as camera:
        time.sleep(1.5)
        status = camera.status()
        snap = camera.snapshot()
    assert status.input_fps == pytest.approx(25, rel=0.2)
    assert status.sampled_fps == pytest.approx(1, rel=0.3)  # one keyframe per 1 s loop
    assert status.bytes > 0 and status.packets >= 30
    assert snap is not None and snap.packets[0].is_keyframe
    info = write_clip(snap, tmp_path / "pre.mp4")
    assert info.remuxed and 1.0 <= info.duration <= 2.0


def test_faults_reach_the_callback(make_video: Callable[..., Path]) -> None:
    black = make_video("black.mp4", 150, lambda i: np.full((240, 320, 3), 4, np.uint8))
    faults: list[CameraFault] = []
    config = CameraSourceConfig(path=black, pace="fast", faults={"black_s": 2})
    with Camera("night", config, on_fault=faults.append) as camera:
        list(camera.frames())
    assert [(f.camera, f.kind, f.start, f.is_open) for f in faults] == [("night", "black", 0.0,
                                                                           True)]
    assert camera.status().faults == tuple(faults)


def test_an_unreachable_camera_retries_with_backoff_and_raises_offline() -> None:
    url = f"rtsp://127.0.0.1:{free_port()}/nothing"
    config = CameraSourceConfig(url=url, reconnect={"backoff_min_s": 0.1, "backoff_max_s": 0.4},
                                faults={"offline_s": 1})
    faults: list[CameraFault] = []
    with Camera("gone", config, on_fault=faults.append) as camera:
        wait_for(lambda: camera.status().attempts >= 4, 5, "four attempts")
        wait_for(lambda: bool(faults), 3, "the offline fault")
        status = camera.status()
        assert status.state in (CameraState.OFFLINE, CameraState.RECONNECTING)
        assert status.last_error == f"{url}: cannot open: Connection refused"
        assert CameraState.RECONNECTING in [c.state for c in status.history]
        started = time.monotonic()
    assert time.monotonic() - started < 2  # stop() does not wait out a backoff
    assert [(f.kind, f.is_open) for f in faults] == [("offline", True)]
    assert camera.status().state is CameraState.STOPPED


def test_slot_keeps_the_freshest_and_counts_drops() -> None:
    slot: FrameSlot[int] = FrameSlot()
    assert slot.get(timeout=0.01) is None
    for item in range(3):
        assert slot.put(item)
    assert (slot.get(0), slot.dropped, slot.delivered) == (2, 2, 1)
    slot.put(3)
    slot.close()
    assert slot.get(0) == 3 and slot.get(None) is None and not slot.put(4)


def test_lossless_slot_makes_the_producer_wait() -> None:
    slot: FrameSlot[int] = FrameSlot(lossless=True)
    produced: list[int] = []

    def produce() -> None:
        for item in range(5):
            slot.put(item)
            produced.append(item)

    thread = threading.Thread(target=produce)
    thread.start()
    taken = []
    for _ in range(5):
        time.sleep(0.01)
        taken.append(slot.get(timeout=1))
    thread.join(1)
    assert taken == list(range(5)) and slot.dropped == 0 and produced == list(range(5))


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    backoff = Backoff(0.5, 4, random.Random(7))
    delays = [backoff.next() for _ in range(6)]
    steps = [0.5, 1, 2, 4, 4, 4]
    assert all(step / 2 <= d <= step for d, step in zip(delays, steps, strict=True))
    assert len(set(delays)) == 6
    backoff.reset()
    assert backoff.next() <= 0.5
    with pytest.raises(ValueError, match="minimum <= maximum"):
        Backoff(5, 1)
