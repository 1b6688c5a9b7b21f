"""Event clips as MP4 files: remuxed from buffered packets, or encoded when that is impossible.

H.264/H.265 packets are copied into the MP4 as they are (no decoding, no quality loss, a few ms).
MJPEG and raw USB video cannot go into a widely playable MP4 that way, so those are decoded and
encoded once with libx264 — the fallback costs real CPU, which is why it is only for such sources.
Files are written under a temporary name and renamed, so a reader never sees half a clip.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from streams.ring import PacketSnapshot

#: Codecs copied into MP4 as they are; everything else is re-encoded.
REMUXABLE_CODECS = frozenset({"h264", "hevc"})

_ENCODE_TIME_BASE = Fraction(1, 90_000)
#: Evidence quality at about a third of the size ultrafast would give.
_ENCODE_OPTIONS = {"preset": "veryfast", "crf": "23"}


@dataclass(frozen=True)
class ClipInfo:
    """A written clip: where, how long, how many frames, and from when on the camera's clock."""

    path: Path
    duration: float
    frames: int
    start: float
    remuxed: bool


def write_clip(snapshot: PacketSnapshot, path: str | os.PathLike[str]) -> ClipInfo:
    """Write ``snapshot`` to the MP4 file ``path``, remuxing when the codec allows it.

    Example:
        >>> snap = camera.snapshot(event_start - 5, event_end + 2)
        >>> info = write_clip(snap, "clips/cam1-0042.mp4")   # info.duration, info.frames
    """
    if snapshot.template.codec in REMUXABLE_CODECS:
        return _remux(snapshot, Path(path))
    return _transcode(snapshot, Path(path))


def encode_clip(
    frames: Iterable[tuple[float, np.ndarray]], path: str | os.PathLike[str]
) -> ClipInfo:
    """Encode ``(seconds, BGR uint8 image)`` pairs to an H.264 MP4 at ``path``.

    For sources that only give pixels; frames whose time does not increase are skipped.
    """
    video = ((t, av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24"))
             for t, image in frames)
    return _encode(video, Path(path))


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.part")


def _remux(snapshot: PacketSnapshot, path: Path) -> ClipInfo:
    first = snapshot.packets[0]
    origin = first.dts * first.time_base  # seconds: the first keyframe becomes time 0
    tmp = _temporary(path)
    try:
        with snapshot.template.open() as template, \
                av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            stream = out.add_stream_from_template(template.streams.video[0])
            for packet in snapshot.packets:
                copy = packet.to_av(round(origin / packet.time_base))
                copy.stream = stream
                out.mux(copy)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    return ClipInfo(path, snapshot.end - snapshot.start, len(snapshot.packets), snapshot.start,
                    remuxed=True)


def _decoded(snapshot: PacketSnapshot) -> Iterator[tuple[float, av.VideoFrame]]:
    """Decode the snapshot with a decoder set up from its stream template."""
    with snapshot.template.open() as template:
        decoder = template.streams.video[0].codec_context
        time_base = snapshot.packets[0].time_base
        for packet in [*(p.to_av() for p in snapshot.packets), None]:
            for frame in decoder.decode(packet):
                if frame.pts is not None:
                    yield float(frame.pts * time_base), frame


def _transcode(snapshot: PacketSnapshot, path: Path) -> ClipInfo:
    info = _encode(_decoded(snapshot), path)
    return ClipInfo(info.path, info.duration, info.frames, snapshot.start, remuxed=False)


def _encode(frames: Iterable[tuple[float, av.VideoFrame]], path: Path) -> ClipInfo:
    tmp = _temporary(path)
    times: list[float] = []
    try:
        with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            stream = None
            for t, frame in frames:
                if times and t <= times[-1]:
                    continue
                if stream is None:
                    stream = out.add_stream("libx264", options=_ENCODE_OPTIONS)
                    # yuv420p needs even sizes; drop an odd last row/column.
                    stream.width, stream.height = frame.width // 2 * 2, frame.height // 2 * 2
                    stream.pix_fmt = "yuv420p"
                    stream.codec_context.time_base = _ENCODE_TIME_BASE
                picture = frame.reformat(stream.width, stream.height, "yuv420p")
                picture.pts = round((t - (times[0] if times else t)) / _ENCODE_TIME_BASE)
                picture.time_base = _ENCODE_TIME_BASE
                times.append(t)
                out.mux(stream.encode(picture))
            if stream is None:
                raise ValueError(f"{path}: no frames to encode")
            out.mux(stream.encode(None))
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    step = float(np.median(np.diff(times))) if len(times) > 1 else 0.0
    return ClipInfo(path, times[-1] - times[0] + step, len(times), times[0], remuxed=False)
