"""Event clips: remuxed H.264 is playable, exact and starts at a keyframe; MJPEG is re-encoded."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from streams.clip import encode_clip, write_clip
from streams.ring import PacketRing
from streams.settings import CameraSourceConfig
from streams.source import Source


def buffered(path: Path, seconds: float = 60) -> PacketRing:
    ring = PacketRing(seconds=seconds, max_bytes=64 << 20)
    with Source(CameraSourceConfig(path=path, pace="fast"), on_packet=ring.append) as source:
        for _ in source.frames():
            pass
    return ring


def probe(path: Path) -> tuple[str, int, float, list[bool], float]:
    """codec, decoded frames, duration, keyframe flags, first frame time."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        duration = float(container.duration / av.time_base)
        return (stream.codec_context.name, len(frames), duration,
                [f.key_frame for f in frames], frames[0].time)


def test_remuxed_clip_is_playable_and_exact(tmp_path: Path, clip10s: Path) -> None:
    snap = buffered(clip10s).snapshot(3.0, 7.0)  # keyframes every 2 s: from 2.0
    assert snap is not None
    info = write_clip(snap, tmp_path / "event.mp4")
    assert info.remuxed and info.path == tmp_path / "event.mp4"
    assert (info.start, info.duration, info.frames) == (2.0, pytest.approx(5.04), 126)
    codec, frames, duration, keys, first = probe(info.path)
    assert (codec, frames, first) == ("h264", 126, 0.0)
    assert duration == pytest.approx(5.04, abs=0.05)
    assert keys[0] and sum(keys) == 3  # 2.0, 4.0 and 6.0 s
    assert not list(tmp_path.glob(".*part"))


def test_ring_snapshot_of_the_last_seconds_starts_at_a_keyframe(tmp_path: Path,
                                                               clip10s: Path) -> None:
    ring = buffered(clip10s, seconds=3)
    snap = ring.snapshot()
    assert snap is not None and snap.start == 6.0  # 3 s wanted: the GOPs at 6 and 8 s
    info = write_clip(snap, tmp_path / "pre.mp4")
    _, frames, duration, keys, _ = probe(info.path)
    assert frames == info.frames == 100 and duration == pytest.approx(4.0, abs=0.05)
    assert keys[0]


def test_mjpeg_is_reencoded_to_h264(tmp_path: Path, mjpeg2s: Path) -> None:
    snap = buffered(mjpeg2s).snapshot(0.5, 1.5)
    assert snap is not None
    info = write_clip(snap, tmp_path / "mjpeg.mp4")
    assert not info.remuxed and info.start == 0.48  # intra-only: every frame is a keyframe
    assert info.frames == 26 and info.duration == pytest.approx(1.04)
    codec, frames, duration, _, _ = probe(info.path)
    assert (codec, frames) == ("h264", 26)
    assert duration == pytest.approx(1.04, abs=0.05)


def test_encode_clip_from_pixels(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    pictures = [(i * 0.1, rng.integers(0, 255, (121, 161, 3), np.uint8)) for i in range(10)]
    info = encode_clip([*pictures, pictures[3]], tmp_path / "pixels.mp4")  # late frame skipped
    assert (info.frames, info.duration, info.start, info.remuxed) == (10, pytest.approx(1.0),
                                                                        0.0, False)
    with av.open(str(info.path)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (160, 120)  # even sizes for yuv420p


def test_nothing_to_encode_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no frames"):
        encode_clip([], tmp_path / "empty.mp4")
    assert list(tmp_path.iterdir()) == []
