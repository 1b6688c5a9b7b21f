"""Per-camera source settings: where the video comes from, what to decode, when to alarm.

The root config mounts :class:`CameraSourceConfig` under each camera.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, model_validator

from fishwatch.common.strict import StrictModel

SourceKind = Literal["rtsp", "http", "file", "usb"]

#: URL schemes recognised without an explicit ``kind``.
_SCHEME_KINDS: dict[str, SourceKind] = {
    "rtsp": "rtsp", "rtsps": "rtsp", "http": "http", "https": "http",
}


Seconds = Annotated[float, Field(gt=0, le=3600)]


class SamplingConfig(StrictModel):
    """Which frames are decoded to pixels and handed to the detector.

    ``keyframes`` is the cheap path: only keyframes are decoded (one per GOP). ``every_n`` and
    ``fps`` on H.264/H.265 still decode every frame, because the frames in between reference each
    other; only the colour conversion is saved. On intra-only sources (MJPEG, raw USB video) the
    skipped frames are not decoded at all.
    """

    mode: Literal["keyframes", "every_n", "fps"] = Field(
        "keyframes", description="keyframes: keyframes only; every_n: every n-th frame; "
                                 "fps: at most `fps` frames per second of video")
    n: Annotated[int, Field(ge=1, le=10_000)] | None = Field(
        None, description="every_n: hand over frames 0, n, 2n, ...")
    fps: Annotated[float, Field(gt=0, le=240)] | None = Field(
        None, description="fps: target rate of handed-over frames per second of video")

    @model_validator(mode="after")
    def _parameters_match_mode(self) -> SamplingConfig:
        if self.mode == "every_n" and self.n is None:
            raise ValueError("mode every_n needs n")
        if self.mode == "fps" and self.fps is None:
            raise ValueError("mode fps needs fps")
        if self.n is not None and self.mode != "every_n":
            raise ValueError(f"n applies to mode every_n, not {self.mode}")
        if self.fps is not None and self.mode != "fps":
            raise ValueError(f"fps applies to mode fps, not {self.mode}")
        return self


class ReconnectConfig(StrictModel):
    """How a lost or stalled source is brought back."""

    backoff_min_s: Seconds = Field(
        0.5, description="first wait after a failure; each further one doubles (with jitter: a "
                         "wait is drawn from the upper half of its step)")
    backoff_max_s: Seconds = Field(
        30.0, description="longest wait between attempts; a connection that held this long "
                          "resets the waits")
    open_timeout_s: Seconds = Field(5.0, description="give up opening after this long")
    watchdog_s: Seconds = Field(
        10.0, description="no video packet (or only undecodable ones) for this long: reconnect")

    @model_validator(mode="after")
    def _ordered(self) -> ReconnectConfig:
        if self.backoff_min_s > self.backoff_max_s:
            raise ValueError(f"backoff_min_s ({self.backoff_min_s}) is larger than backoff_max_s "
                             f"({self.backoff_max_s})")
        return self


class FaultConfig(StrictModel):
    """When a camera counts as faulty (``camera_fault`` events); a null duration disables a check.

    Durations are seconds on the camera's clock (video time; wall time for live cameras).
    """

    black_luma: Annotated[float, Field(ge=0, le=255)] = Field(
        16.0, description="mean luma (0-255) at or below which a frame is black")
    black_s: Seconds | None = Field(10.0, description="black this long: fault")
    freeze_diff: Annotated[float, Field(ge=0, le=255)] = Field(
        0.5, description="mean absolute luma difference between consecutive sampled frames at or "
                         "below which they are the same picture (sensor noise is above it)")
    freeze_s: Seconds | None = Field(20.0, description="the same picture this long: fault")
    covered_edges: Annotated[float, Field(ge=0, le=1)] = Field(
        0.002, description="fraction of pixels on a strong edge at or below which the view is "
                           "covered or blurred away")
    covered_s: Seconds | None = Field(20.0, description="covered this long: fault")
    offline_s: Seconds | None = Field(30.0, description="no connection this long: fault")
    recover_s: Annotated[float, Field(ge=0, le=3600)] = Field(
        2.0, description="an open fault closes once its condition has been false this long")


class CameraSourceConfig(StrictModel):
    """One camera's video source: exactly one of ``url``, ``path`` or ``device``."""

    url: str | None = Field(None, description="rtsp://, rtsps://, http:// or https:// stream")
    path: Path | None = Field(None, description="video file (tests, replays)")
    device: int | str | None = Field(
        None, description="USB camera: index N for /dev/videoN, or a device path")
    kind: SourceKind | None = Field(
        None, description="rtsp, http, file or usb; detected from url/path/device when left out")
    input_format: str | None = Field(
        None, description="FFmpeg demuxer name when probing guesses wrong (e.g. mpjpeg, mpegts)")
    ffmpeg_options: dict[str, str] = Field(
        default_factory=dict,
        description="extra FFmpeg input options (e.g. video_size, framerate for usb)")
    sample: SamplingConfig = SamplingConfig()
    pace: Literal["realtime", "fast"] = Field(
        "realtime", description="files: play at recorded speed, or as fast as the consumer takes "
                                "frames (nothing dropped)")
    loop: bool = Field(False, description="files: start again at the end")
    reconnect: ReconnectConfig = ReconnectConfig()
    pre_capture_s: Annotated[float, Field(ge=0, le=600)] = Field(
        10.0, description="seconds of encoded video kept before 'now' for event clips")
    ring_max_mb: Annotated[float, Field(gt=0, le=4096)] = Field(
        64.0, description="memory cap of that buffer; old video goes first when it is reached")
    faults: FaultConfig = FaultConfig()

    @model_validator(mode="after")
    def _one_source(self) -> CameraSourceConfig:
        given = [name for name in ("url", "path", "device") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of url, path or device"
                             + (f" (got {', '.join(given)})" if given else ""))
        if self.url is not None and self.kind is None:
            scheme = urlsplit(self.url).scheme.lower()
            if scheme not in _SCHEME_KINDS:
                raise ValueError(f"cannot tell the kind of {redact(self.url)!r}: supported schemes "
                                 f"are {', '.join(_SCHEME_KINDS)}; or set kind")
        if self.url is not None and self.kind in ("file", "usb"):
            raise ValueError(f"kind {self.kind} needs path or device, not url")
        if self.path is not None and self.kind not in (None, "file", "usb"):
            raise ValueError(f"kind {self.kind} needs url, not path")
        if self.device is not None and self.kind not in (None, "usb"):
            raise ValueError(f"kind {self.kind} does not take device")
        if self.resolved_kind != "file" and (self.loop or self.pace != "realtime"):
            raise ValueError("loop and pace apply to files only")
        return self

    @property
    def resolved_kind(self) -> SourceKind:
        """The kind in effect: the explicit one, or what url/path/device says."""
        if self.kind is not None:
            return self.kind
        if self.url is not None:
            return _SCHEME_KINDS[urlsplit(self.url).scheme.lower()]
        if self.device is not None:
            return "usb"
        return "usb" if str(self.path).startswith("/dev/video") else "file"

    @property
    def target(self) -> str:
        """What FFmpeg opens: the URL, the file path or the device path."""
        if self.url is not None:
            return self.url
        if isinstance(self.device, int):
            return f"/dev/video{self.device}"
        return str(self.device if self.device is not None else self.path)

    @property
    def display_name(self) -> str:
        """The source for messages and logs, with any password in the URL masked."""
        return redact(self.target)


def redact(url: str) -> str:
    """Mask the password of ``user:password@`` URLs so it never reaches logs or events."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = re.sub(r":[^:@]*@", ":***@", parts.netloc, count=1)
    return urlunsplit(parts._replace(netloc=netloc))
