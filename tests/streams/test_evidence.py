from __future__ import annotations

import hashlib
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from streams.evidence import BestFrames, EvidenceWriter
from streams.ring import PacketRing
from streams.settings import CameraSourceConfig
from streams.source import Source


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_images_are_jpegs_with_their_hashes(tmp_path: Path) -> None:
    writer = EvidenceWriter(tmp_path, jpeg_quality=85)
    clean = np.full((240, 320, 3), 100, np.uint8)
    annotated = clean.copy()
    annotated[10:50, 10:50] = (0, 0, 255)
    snapshot, frame = writer.write_images("ev-1", clean, annotated)
    assert snapshot.path == tmp_path / "ev-1" / "snapshot.jpg"
    assert frame.path == tmp_path / "ev-1" / "frame.jpg"
    for written in (snapshot, frame):
        assert written.sha256 == _sha(written.path) and written.bytes == written.path.stat().st_size
    assert cv2.imread(str(frame.path)).shape == (240, 320, 3)
    assert abs(int(cv2.imread(str(snapshot.path))[30, 30, 2]) - 255) < 20
    assert not list(tmp_path.rglob(".*.part"))  # temporary files renamed away


def test_event_ids_cannot_leave_the_folder(tmp_path: Path) -> None:
    folder = EvidenceWriter(tmp_path).event_folder("../../etc")
    assert folder.parent == tmp_path


def test_clip_from_a_ring_snapshot(tmp_path: Path, clip4s: Path) -> None:
    ring = PacketRing(seconds=30, max_bytes=64 << 20)
    with Source(CameraSourceConfig(path=clip4s, pace="fast"), on_packet=ring.append) as source:
        for _ in source.frames():
            pass
    written = EvidenceWriter(tmp_path).write_clip("ev-2", ring.snapshot(1.0, 3.0))
    assert written is not None and written.sha256 == _sha(written.path)
    with av.open(str(written.path)) as clip:
        assert clip.streams.video[0].frames >= 50  # from the keyframe at 0 s to 3 s
    assert EvidenceWriter(tmp_path).write_clip("ev-3", None) is None


def test_best_frames_hold_a_bounded_number() -> None:
    best = BestFrames(limit=2)
    frames = [np.zeros((2, 2, 3), np.uint8) for _ in range(3)]
    for i, frame in enumerate(frames):
        best.hold(f"e{i}", float(i), frame)
    assert len(best) == 2 and best.get("e0") is None
    held = best.get("e2")
    assert held is not None and held[0] == 2.0 and held[1] is frames[2]
    best.release("e2")
    assert best.get("e2") is None and len(best) == 1
    with pytest.raises(ValueError):
        BestFrames(limit=0)
