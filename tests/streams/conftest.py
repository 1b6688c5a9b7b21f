"""Small real videos for the stream tests, made with PyAV (H.264, 25 fps, GOP 50, 320x240)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

WIDTH, HEIGHT, FPS, GOP = 320, 240, 25, 50

Picture = Callable[[int], np.ndarray]


def _texture() -> np.ndarray:
    """Gradients with a checkerboard: edges like a real scene's, so it is not 'covered'."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    checker = ((x // 20 + y // 20) % 2) * 60
    return (np.stack([(x * 0.4) % 120, (y * 0.5) % 120, ((x + y) * 0.2) % 120], -1)
            + checker[..., None] + 30).astype(np.int16)


TEXTURE = _texture()


def moving(index: int) -> np.ndarray:
    """A textured scene with a moving bright box and sensor noise, different in every frame."""
    noise = np.random.default_rng(index).integers(-5, 6, TEXTURE.shape, dtype=np.int16)
    image = TEXTURE + noise
    left = (index * 4) % (WIDTH - 40)
    image[80:130, left:left + 40] = 240
    return np.clip(image, 0, 255).astype(np.uint8)


def write_video(path: Path, frames: int, picture: Picture = moving, *, fps: int = FPS,
                gop: int = GOP, faststart: bool = False, mjpeg: bool = False) -> Path:
    """Encode ``frames`` pictures to ``path`` (container from the extension), H.264 or MJPEG."""
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as out:
        if mjpeg:
            stream = out.add_stream("mjpeg", rate=fps)
            stream.pix_fmt = "yuvj420p"
        else:
            stream = out.add_stream("libx264", rate=fps, options={
                "preset": "ultrafast", "bf": "0", "g": str(gop), "keyint_min": str(gop),
                "sc_threshold": "0"})
            stream.pix_fmt = "yuv420p"
        stream.width, stream.height = WIDTH, HEIGHT
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(picture(index), format="bgr24")
            frame.pts = index
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


@pytest.fixture
def moving_picture() -> Picture:
    """The default picture function, for tests that splice their own sections around it."""
    return moving


@pytest.fixture
def make_video(tmp_path: Path) -> Callable[..., Path]:
    """``make_video(name, frames, picture=moving, **options)``: a video in the test's tmp_path."""
    def make(name: str, frames: int, picture: Picture = moving, **options: Any) -> Path:
        return write_video(tmp_path / name, frames, picture, **options)
    return make


@pytest.fixture(scope="session")
def clip4s(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 s, 100 frames, keyframes at frames 0 and 50."""
    return write_video(tmp_path_factory.mktemp("video") / "clip4s.mp4", 4 * FPS)


@pytest.fixture(scope="session")
def clip10s(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 s, 250 frames, keyframes every 2 s."""
    return write_video(tmp_path_factory.mktemp("video") / "clip10s.mp4", 10 * FPS)


@pytest.fixture(scope="session")
def clip1s(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1 s, 25 frames, one keyframe: for timing tests that must stay short."""
    return write_video(tmp_path_factory.mktemp("video") / "clip1s.mp4", FPS)


@pytest.fixture(scope="session")
def mjpeg2s(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 s of MJPEG in Matroska: an intra-only source, like MJPEG cameras and USB devices."""
    return write_video(tmp_path_factory.mktemp("video") / "mjpeg2s.mkv", 2 * FPS, mjpeg=True)
