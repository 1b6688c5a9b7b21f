"""Source settings: kinds are detected, mistakes are refused with a message that names them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from streams.settings import CameraSourceConfig, SamplingConfig, redact


@pytest.mark.parametrize(("fields", "kind", "target"), [
    ({"url": "rtsp://10.0.0.5:554/stream1"}, "rtsp", "rtsp://10.0.0.5:554/stream1"),
    ({"url": "RTSPS://cam/x"}, "rtsp", "RTSPS://cam/x"),
    ({"url": "http://cam/video.mjpg"}, "http", "http://cam/video.mjpg"),
    ({"url": "https://cam/live.ts"}, "http", "https://cam/live.ts"),
    ({"url": "udp://239.0.0.1:1234", "kind": "http"}, "http", "udp://239.0.0.1:1234"),
    ({"path": "clips/a.mp4"}, "file", "clips/a.mp4"),
    ({"path": "/dev/video2"}, "usb", "/dev/video2"),
    ({"device": 0}, "usb", "/dev/video0"),
    ({"device": "/dev/v4l/by-id/usb-cam"}, "usb", "/dev/v4l/by-id/usb-cam"),
])
def test_kind_is_detected(fields: dict[str, Any], kind: str, target: str) -> None:
    config = CameraSourceConfig(**fields)
    assert config.resolved_kind == kind
    assert config.target == target


@pytest.mark.parametrize(("fields", "message"), [
    ({}, "exactly one of url, path or device"),
    ({"url": "rtsp://a/b", "path": "a.mp4"}, "got url, path"),
    ({"url": "ftp://a/b"}, "supported schemes"),
    ({"url": "rtsp://a/b", "kind": "file"}, "needs path or device"),
    ({"path": "a.mp4", "kind": "rtsp"}, "needs url"),
    ({"url": "rtsp://a/b", "loop": True}, "files only"),
    ({"device": 0, "pace": "fast"}, "files only"),
    ({"path": "a.mp4", "sample": {"mode": "every_n"}}, "needs n"),
    ({"path": "a.mp4", "sample": {"mode": "keyframes", "fps": 2}}, "fps applies to mode fps"),
    ({"path": "a.mp4", "sample": {"mode": "every_n", "n": 0}}, "greater than or equal to 1"),
    ({"path": "a.mp4", "reconnect": {"backoff_min_s": 9, "backoff_max_s": 2}}, "larger than"),
    ({"path": "a.mp4", "faults": {"black_luma": 300}}, "less than or equal to 255"),
    ({"path": "a.mp4", "fault": {}}, "Extra inputs are not permitted"),
])
def test_mistakes_are_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        CameraSourceConfig(**fields)


def test_defaults_sample_keyframes_and_a_null_duration_disables_a_check() -> None:
    config = CameraSourceConfig(path=Path("a.mp4"), faults={"black_s": None})
    assert config.sample == SamplingConfig(mode="keyframes")
    assert config.faults.black_s is None and config.faults.freeze_s == 20


def test_passwords_never_reach_messages() -> None:
    config = CameraSourceConfig(url="rtsp://admin:s3cret@10.0.0.5/live")
    assert config.display_name == "rtsp://admin:***@10.0.0.5/live"
    assert redact("http://cam/x") == "http://cam/x"
    with pytest.raises(ValidationError) as error:
        CameraSourceConfig(url="ftp://u:pw@host/x")
    message = error.value.errors()[0]["msg"]  # what the config loader shows
    assert "ftp://u:***@host/x" in message and "pw" not in message
