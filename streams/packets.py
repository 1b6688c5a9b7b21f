"""Encoded video packets kept apart from PyAV's objects, so they outlive the connection.

A PyAV packet belongs to its container and is rescaled in place by ``mux()``; the ring and the
clip writer need immutable copies on the camera's own timeline, plus the codec parameters to
write them again after the connection that produced them has been closed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from fractions import Fraction

import av
import av.container
import av.video.stream


@dataclass(frozen=True, eq=False)
class StreamTemplate:
    """Codec parameters of one video stream, reusable after its container is gone.

    ``header`` is a tiny Matroska file holding the stream and its first keyframe: FFmpeg can only
    copy codec parameters from a live stream object, and a container with no packet cannot be
    read back. Templates compare equal when their codec parameters are the same, which is how
    the ring tells a reconnect to the same camera from a camera whose stream changed.
    """

    codec: str
    width: int
    height: int
    pix_fmt: str | None
    extradata: bytes
    header: bytes = field(repr=False)

    @classmethod
    def capture(cls, stream: av.video.stream.VideoStream, keyframe: av.Packet) -> StreamTemplate:
        """Record ``stream``'s parameters, with ``keyframe`` (one of its packets) to carry them."""
        ctx = stream.codec_context
        buffer = io.BytesIO()
        with av.open(buffer, "w", format="matroska") as out:
            copy = out.add_stream_from_template(stream)
            packet = av.Packet(bytes(keyframe))
            packet.pts = packet.dts = 0
            packet.time_base = keyframe.time_base
            packet.is_keyframe = True
            packet.stream = copy
            out.mux(packet)
        return cls(
            codec=ctx.name,
            width=ctx.width,
            height=ctx.height,
            pix_fmt=ctx.pix_fmt,
            extradata=bytes(ctx.extradata or b""),
            header=buffer.getvalue(),
        )

    def open(self) -> av.container.InputContainer:
        """A throw-away container whose video stream can serve as a mux template or decoder."""
        return av.open(io.BytesIO(self.header), "r", format="matroska")

    def _key(self) -> tuple[object, ...]:
        return (self.codec, self.width, self.height, self.pix_fmt, self.extradata)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StreamTemplate) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


@dataclass(frozen=True, slots=True)
class EncodedPacket:
    """One compressed video frame on the camera's timeline.

    ``pts``/``dts``/``duration`` are in ``time_base`` units and already rebased (they keep
    growing across file loops and reconnects); ``wall`` is the Unix time it was read.
    """

    data: bytes = field(repr=False)
    pts: int
    dts: int
    duration: int
    time_base: Fraction
    is_keyframe: bool
    wall: float
    template: StreamTemplate = field(repr=False, compare=False)

    @property
    def time(self) -> float:
        """Presentation time in seconds."""
        return float(self.pts * self.time_base)

    @property
    def decode_time(self) -> float:
        """Decoding time in seconds (the order packets are stored and muxed in)."""
        return float(self.dts * self.time_base)

    @property
    def end_time(self) -> float:
        """Presentation time of the end of this frame, in seconds."""
        return float((self.pts + self.duration) * self.time_base)

    def to_av(self, shift: int = 0) -> av.Packet:
        """A fresh PyAV packet with timestamps moved back by ``shift`` ticks, safe to mux."""
        packet = av.Packet(self.data)
        packet.pts = self.pts - shift
        packet.dts = self.dts - shift
        packet.duration = self.duration
        packet.time_base = self.time_base
        packet.is_keyframe = self.is_keyframe
        return packet
