"""Camera faults from synthetic frame sequences, rendered scenes and a real encoded clip."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest

from models.synth.scene import render_still
from streams.health import CameraFault, FaultDetector, FrameStats
from streams.settings import CameraSourceConfig, FaultConfig
from streams.source import Source

CONFIG = FaultConfig(black_s=3, freeze_s=3, covered_s=3, offline_s=5, recover_s=1)


@cache
def scene(seed: int = 0) -> np.ndarray:
    image = render_still(np.random.default_rng(seed), 320, 240).image
    image.flags.writeable = False
    return image


def noisy(image: np.ndarray, seed: int, std: float = 2.0) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, std, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def run(frames: Iterable[np.ndarray], *, step: float = 0.5, config: FaultConfig = CONFIG,
        keyframe: Callable[[int], bool] = lambda i: True) -> list[CameraFault]:
    detector = FaultDetector("cam", config)
    changes = []
    for i, image in enumerate(frames):
        changes += detector.observe(image, i * step, 1000.0 + i * step, keyframe=keyframe(i))
    return changes


def test_rendered_riverbank_scenes_are_healthy() -> None:
    for seed in range(6):
        stats = FrameStats.of(scene(seed))
        assert stats.luma > CONFIG.black_luma and stats.edges > 3 * CONFIG.covered_edges


def test_black_opens_after_its_duration_and_closes_after_recovery() -> None:
    dark = np.full((240, 320, 3), 8, np.uint8)
    frames = [scene()] * 2 + [noisy(dark, i) for i in range(10)] + [noisy(scene(), i)
                                                                     for i in range(4)]
    opened, closed = run(frames)
    assert (opened.kind, opened.start, opened.started_at, opened.end) == ("black", 1.0, 1001.0,
                                                                           None)
    assert opened.is_open and opened.detail.startswith("mean luma")
    assert closed.id == opened.id and not closed.is_open
    assert (closed.end, closed.ended_at) == (6.0, 1006.0)  # the first good frame


def test_short_black_is_not_a_fault() -> None:
    dark = np.zeros((240, 320, 3), np.uint8)
    assert run([scene(), dark, dark, dark, dark, scene(), dark, dark, scene()]) == []


def test_exact_and_near_exact_repeats_are_frozen() -> None:
    still = scene(1)
    assert [f.kind for f in run([still] * 8)] == ["frozen"]
    nudged = [still.copy() for _ in range(8)]
    for i, image in enumerate(nudged):
        image[i::7, ::5] ^= 1  # a stuck encoder's requantisation: tiny changes
    assert [(f.kind, f.start) for f in run(nudged)] == [("frozen", 0.5)]


def test_a_still_scene_with_sensor_noise_is_not_frozen() -> None:
    still = scene(2)
    assert run(noisy(still, i) for i in range(40)) == []


def test_only_keyframes_count_for_freezing() -> None:
    """Identical P-frames between fresh keyframes are a still scene, not a stuck camera."""
    keyframes = [noisy(scene(3), i) for i in range(4)]
    frames = [keyframes[i // 10] for i in range(40)]  # GOP of 5 s; P-frames repeat the keyframe
    assert run(frames, keyframe=lambda i: i % 10 == 0) == []
    assert [f.kind for f in run(frames)] == ["frozen"]  # had every frame counted


@pytest.mark.parametrize("cover", ["grey", "blurred"])
def test_a_covered_lens_is_reported_and_black_wins_over_covered(cover: str) -> None:
    if cover == "grey":
        images = [noisy(np.full((240, 320, 3), 120, np.uint8), i, std=3) for i in range(10)]
    else:
        images = [noisy(cv2.GaussianBlur(scene(4), (0, 0), 15), i) for i in range(10)]
    assert [f.kind for f in run(images)] == ["covered"]
    black = [noisy(np.full((240, 320, 3), 5, np.uint8), i) for i in range(10)]
    assert [f.kind for f in run(black)] == ["black"]


def test_flicker_within_recovery_keeps_one_fault() -> None:
    dark = np.zeros((240, 320, 3), np.uint8)
    frames = [dark] * 8 + [scene()] + [dark] * 4 + [scene()] * 4
    changes = run(frames)
    assert [(f.kind, f.is_open) for f in changes] == [("black", True), ("black", False)]
    assert changes[1].end == 6.5


def test_offline_for_long_enough_is_a_fault() -> None:
    detector = FaultDetector("cam", CONFIG)
    assert detector.set_online(False, 0.0, 100.0) == []
    assert detector.tick(4.9, 104.9) == []
    (opened,) = detector.tick(5.0, 105.0)
    assert (opened.kind, opened.start, opened.detail) == ("offline", 0.0, "no connection")
    assert detector.open_faults == (opened,)
    assert detector.set_online(True, 7.0, 107.0) == []
    (closed,) = detector.tick(8.0, 108.0)
    assert (closed.id, closed.end) == (opened.id, 7.0)
    assert detector.open_faults == ()


def test_a_null_duration_disables_a_check() -> None:
    detector = FaultDetector("cam", FaultConfig(offline_s=None))
    detector.set_online(False, 0.0, 0.0)
    assert detector.tick(1e6, 1e6) == []


def test_frame_stats_refuse_other_images() -> None:
    with pytest.raises(ValueError, match=r"BGR uint8 image \(H, W, 3\), got float32 \(4, 4\)"):
        FrameStats.of(np.zeros((4, 4), np.float32))


def test_frozen_and_black_sections_of_an_encoded_clip(
    make_video: Callable[..., Path], moving_picture: Callable[[int], np.ndarray]
) -> None:
    """H.264 at 25 fps, GOP 50: moving 0-2 s, frozen 2-20 s, black 20-26 s, moving 26-30 s."""
    moving = moving_picture
    black = np.full((240, 320, 3), 6, np.uint8)

    def picture(i: int) -> np.ndarray:
        if i < 50 or i >= 650:
            return moving(i)
        return moving(50) if i < 500 else black

    path = make_video("sections.mp4", 750, picture)
    config = CameraSourceConfig(path=path, pace="fast", sample={"mode": "every_n", "n": 5},
                                faults={"black_s": 4, "freeze_s": 6, "recover_s": 1})
    detector = FaultDetector("cam", config.faults)
    changes = []
    with Source(config) as source:
        for frame in source.frames():
            changes += detector.observe(frame.frame, frame.pts, frame.wall,
                                        keyframe=frame.is_keyframe)
    summary = [(f.kind, f.is_open) for f in changes]
    assert summary == [("frozen", True), ("frozen", False), ("black", True), ("black", False)]
    frozen, black_fault = changes[1], changes[3]
    assert 2.0 <= frozen.start <= 10.0 and frozen.end == 20.0  # keyframes settle after a few GOPs
    assert (black_fault.start, black_fault.end) == (20.0, 26.0)
