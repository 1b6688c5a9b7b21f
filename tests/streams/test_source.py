"""Reading files through Source: sampling modes, pacing, looping, and broken files."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from streams.packets import EncodedPacket
from streams.sampling import Sampler
from streams.settings import CameraSourceConfig, SamplingConfig
from streams.source import SampledFrame, Source, SourceError, Timeline


def read(path: Path, **fields: Any) -> tuple[list[SampledFrame], Source, list[EncodedPacket]]:
    fields.setdefault("pace", "fast")
    ring: list[EncodedPacket] = []
    with Source(CameraSourceConfig(path=path, **fields), camera="cam",
                on_packet=ring.append) as source:
        frames = list(source.frames())
    return frames, source, ring


def test_keyframe_sampling_decodes_only_keyframes(clip4s: Path) -> None:
    frames, source, ring = read(clip4s)
    assert [(f.index, f.pts, f.is_keyframe) for f in frames] == [(0, 0.0, True), (50, 2.0, True)]
    assert source.frames_decoded == 2
    assert len(ring) == source.packets == 100  # every packet still reaches the ring
    assert [p.pts for p in ring if p.is_keyframe] == [0, 25600]
    frame = frames[0]
    assert frame.camera == "cam" and frame.frame.shape == (240, 320, 3)
    assert frame.frame.dtype == np.uint8 and not frame.frame.flags.writeable


def test_every_nth_sampling_decodes_everything_but_hands_over_every_nth(clip4s: Path) -> None:
    frames, source, _ = read(clip4s, sample={"mode": "every_n", "n": 10})
    assert [f.index for f in frames] == list(range(0, 100, 10))
    assert [f.pts for f in frames] == pytest.approx([i * 0.04 for i in range(0, 100, 10)])
    assert [f.is_keyframe for f in frames] == [i % 50 == 0 for i in range(0, 100, 10)]
    assert source.frames_decoded == 100  # H.264: the frames in between are references


def test_fps_sampling_keeps_the_rate(clip4s: Path) -> None:
    frames, _, _ = read(clip4s, sample={"mode": "fps", "fps": 5})
    assert len(frames) == 20
    assert np.diff([f.pts for f in frames]) == pytest.approx(0.2, abs=0.041)


def test_intra_only_sources_skip_decoding_unsampled_frames(mjpeg2s: Path) -> None:
    frames, source, ring = read(mjpeg2s, sample={"mode": "every_n", "n": 5})
    assert [f.index for f in frames] == list(range(0, 50, 5))
    assert source.frames_decoded == 10 and source.packets == 50 == len(ring)
    assert all(p.is_keyframe for p in ring)


def test_realtime_pacing_takes_the_video_length_and_fast_does_not(clip1s: Path) -> None:
    started = time.monotonic()
    frames, _, _ = read(clip1s, pace="realtime", sample={"mode": "every_n", "n": 5})
    paced = time.monotonic() - started
    started = time.monotonic()
    read(clip1s, pace="fast", sample={"mode": "every_n", "n": 5})
    fast = time.monotonic() - started
    assert 0.85 <= paced < 2.0  # 25 frames at 25 fps: the last is due at 0.96 s
    assert fast < paced / 3
    walls = [f.wall for f in frames]
    assert walls[-1] - walls[0] == pytest.approx(0.8, abs=0.15)


def test_looping_keeps_time_and_frame_numbers_growing(clip4s: Path) -> None:
    config = CameraSourceConfig(path=clip4s, loop=True, pace="fast")
    with Source(config) as source:
        frames = []
        for frame in source.frames():
            frames.append((frame.index, frame.pts))
            if len(frames) == 5:
                break
    assert frames == [(0, 0.0), (50, 2.0), (100, 4.0), (150, 6.0), (200, 8.0)]


def test_stop_ends_reading(clip4s: Path) -> None:
    stop = threading.Event()
    config = CameraSourceConfig(path=clip4s, pace="realtime", loop=True)
    with Source(config, stop=stop) as source:
        started = time.monotonic()
        for _ in source.frames():
            stop.set()
        assert time.monotonic() - started < 0.5


@pytest.mark.parametrize(("damage", "message"), [
    ("random", "cannot open: Invalid data found when processing input"),
    ("cut", "cannot open: Invalid data found when processing input"),
    ("missing", "cannot open: No such file or directory"),
    ("empty", "cannot open: Invalid data found when processing input"),
])
def test_unreadable_files_fail_with_one_clear_line(tmp_path: Path, clip4s: Path, damage: str,
                                                  message: str) -> None:
    path = tmp_path / "broken.mp4"
    data = clip4s.read_bytes()
    if damage == "random":
        path.write_bytes(os.urandom(20_000))
    elif damage == "cut":  # moov atom at the end: half a file has no index at all
        path.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    with pytest.raises(SourceError) as error:
        read(path)
    assert str(error.value) == f"{path}: {message}"
    assert "\n" not in str(error.value) and not error.value.retryable


def test_a_truncated_streamable_file_yields_what_it_has_then_fails(
    tmp_path: Path, make_video: Callable[..., Path]
) -> None:
    whole = make_video("whole.mp4", 100, faststart=True)
    path = tmp_path / "cut.mp4"
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    frames: list[float] = []
    with pytest.raises(SourceError, match=r"cut.mp4: file ends at [12]\.\d s of 4\.0 s \(trunc"):
        with Source(CameraSourceConfig(path=path, pace="fast")) as source:
            frames.extend(f.pts for f in source.frames())
    assert frames[0] == 0.0  # what was there was delivered before the error


def test_timeline_continues_across_segments_and_never_goes_back() -> None:
    timeline = Timeline()
    base = Fraction(1, 90_000)
    timeline.new_segment(live=False)
    assert timeline.place(900_000, base) == 0  # the first packet is time 0
    assert timeline.place(903_600, base) == 3_600
    timeline.advance(0.08)
    timeline.new_segment(live=False)  # a file loop: its clock restarts at 0
    assert timeline.place(0, Fraction(1, 1000)) == 80
    assert timeline.seconds(40, Fraction(1, 1000)) == pytest.approx(0.12)
    timeline.advance(0.12)
    assert timeline.place(-5000, Fraction(1, 1000)) == 120  # jumped back 5 s: new segment


def test_sampler_decides_at_packet_or_frame() -> None:
    keyframes = Sampler(SamplingConfig(), intra_only=False)
    assert not keyframes.decodes_every_packet
    assert keyframes.keep_packet(index=0, time=0.0, is_keyframe=True)
    assert not keyframes.keep_packet(index=1, time=0.04, is_keyframe=False)
    every = Sampler(SamplingConfig(mode="every_n", n=3), intra_only=False)
    assert every.decodes_every_packet
    assert all(every.keep_packet(index=i, time=None, is_keyframe=False) for i in range(4))
    assert [every.keep_frame(index=i, time=None) for i in range(4)] == [True, False, False, True]
    fps = Sampler(SamplingConfig(mode="fps", fps=2), intra_only=True)
    assert not fps.decodes_every_packet
    kept = [t for t in np.arange(0, 3, 0.1) if fps.keep_packet(index=0, time=t, is_keyframe=True)]
    assert kept == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])
    assert not fps.keep_packet(index=0, time=None, is_keyframe=True)
