"""One connection to a camera (or one file): demux packets, decode only the sampled frames.

Every video packet goes, undecoded, to ``on_packet`` (the pre-event ring); only the packets the
:class:`~streams.sampling.Sampler` asks for reach the decoder, and only the frames it keeps are
converted to BGR. Reconnecting is not done here but by :class:`streams.camera.Camera`; a
:class:`Source` either yields frames, returns (end of a file) or raises :class:`SourceError`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction

import av
import av.container
import av.video.stream
import numpy as np

from streams.packets import EncodedPacket, StreamTemplate
from streams.sampling import Sampler
from streams.settings import CameraSourceConfig

log = logging.getLogger(__name__)

#: Time base for sources whose own timestamps are useless (MJPEG counters, USB): the wall clock.
WALL_TIME_BASE = Fraction(1, 90_000)
_WALL_CLOCK_FORMATS = frozenset({"mpjpeg", "mjpeg"})  # besides USB devices
#: A file is called truncated when its packets stop this far before the length its header gives.
_TRUNCATED_FRACTION = 0.9


class SourceError(Exception):
    """A source that cannot be opened or read; ``str()`` is one line naming it and the problem.

    ``retryable`` is False for files (a corrupt file stays corrupt) and True for live sources.
    """

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True, eq=False)
class SampledFrame:
    """A decoded frame handed to the detector.

    ``frame`` is BGR uint8 (H, W, 3), read-only because several threads may look at it.
    ``pts`` is seconds on the camera's timeline (keeps growing across file loops and
    reconnects), ``wall`` the Unix time its packet was read, ``index`` its frame number in the
    stream since this connection opened.
    """

    camera: str
    frame: np.ndarray
    pts: float
    wall: float
    is_keyframe: bool
    index: int


class Timeline:
    """One clock per camera that never goes back, built from each connection's timestamps.

    Each connection (or file loop) is a segment whose first packet is placed right after the
    previous segment's last frame — plus, for live sources, the wall time spent offline — so
    packet times in the ring and frame times stay monotonic whatever the source does. Used by
    the one thread that reads the camera.
    """

    _BACKWARD_JUMP_S = 1.0  # a live stream's clock restarting mid-connection (encoder reboot)

    def __init__(self) -> None:
        self._origin: tuple[int, Fraction, int] | None = None  # (source ticks, base, our ticks)
        self._live_gap = False
        self._last_end = 0.0
        self._last_mono: float | None = None
        self._created_mono = time.monotonic()

    def new_segment(self, *, live: bool) -> None:
        """The next placed timestamp starts a new segment; ``live`` adds the offline wall time."""
        self._origin = None
        self._live_gap = live

    def place(self, ticks: int, time_base: Fraction) -> int:
        """Map source ticks to timeline ticks (same ``time_base``), anchoring a new segment."""
        if self._origin is not None:
            source_ticks, base, ours = self._origin
            if base == time_base:
                placed = ticks - source_ticks + ours
                if float(placed * time_base) >= self._last_end - self._BACKWARD_JUMP_S:
                    return placed
        start = self._last_end
        if self._live_gap and self._last_mono is not None:
            start += time.monotonic() - self._last_mono
        self._origin = (ticks, time_base, round(start / time_base))
        return self._origin[2]

    def seconds(self, ticks: int, time_base: Fraction) -> float:
        """Timeline seconds of a source timestamp in the current segment (without anchoring)."""
        if self._origin is None:
            return self._last_end
        source_ticks, base, ours = self._origin
        return float(ticks * time_base - source_ticks * base + ours * base)

    def advance(self, end: float) -> None:
        """Note that the timeline has reached ``end`` seconds (the end of the newest frame)."""
        self._last_end = max(self._last_end, end)
        self._last_mono = time.monotonic()

    def now(self) -> float:
        """Timeline seconds now: the newest frame's end plus the wall time since it came."""
        since = self._last_mono if self._last_mono is not None else self._created_mono
        return self._last_end + time.monotonic() - since


def _reason(exc: BaseException, timeout_s: float) -> str:
    """The problem in a few words, without the errno and file name FFmpeg repeats."""
    if isinstance(exc, av.error.ExitError):  # PyAV's own timeout interrupted a blocking call
        return f"timed out (no data for {timeout_s:g} s)"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text.rstrip(".")


class Source:
    """An open video source, read in the calling thread.

    Example:
        >>> with Source(config, camera="bridge") as source:
        ...     for frame in source.frames():
        ...         detector(frame.frame)
    """

    _MAX_IN_DECODER = 64

    def __init__(
        self,
        config: CameraSourceConfig,
        *,
        camera: str = "",
        timeline: Timeline | None = None,
        stop: threading.Event | None = None,
        on_packet: Callable[[EncodedPacket], None] | None = None,
    ) -> None:
        self.config = config
        self.camera = camera
        self.timeline = timeline or Timeline()
        self.kind = config.resolved_kind
        self.live = self.kind != "file"
        self._stop = stop or threading.Event()
        self._on_packet = on_packet
        self._container: av.container.InputContainer | None = None
        self._stream: av.video.stream.VideoStream | None = None
        self._sampler: Sampler | None = None
        self._template: StreamTemplate | None = None
        self._wall_clock = False
        self._pace_anchor: tuple[float, float] | None = None  # (monotonic, timeline seconds)
        self.packets = 0
        self.frames_decoded = 0
        self.decode_errors = 0
        self.last_decode_error: str | None = None
        self._last_decoded_mono = 0.0
        # Packets inside the decoder, by pts: frames may come out later and reordered.
        self._in_decoder: dict[int, tuple[int, float | None, float]] = {}

    # -- opening and closing -------------------------------------------------------------------

    def _options(self) -> dict[str, str]:
        watchdog_us = str(round(self.config.reconnect.watchdog_s * 1e6))
        options: dict[str, str] = {}
        if self.kind == "rtsp":
            # TCP survives packet loss; the SDP carries the codec parameters, so no probing.
            options |= {"rtsp_transport": "tcp", "timeout": watchdog_us,
                        "analyzeduration": "0", "fflags": "nobuffer"}
        elif self.kind == "http":
            options |= {"timeout": watchdog_us}
        return options | self.config.ffmpeg_options

    def _fail(self, problem: str) -> SourceError:
        return SourceError(f"{self.config.display_name}: {problem}", retryable=self.live)

    def open(self) -> None:
        """Connect or open the file; raises :class:`SourceError` with a one-line reason."""
        reconnect = self.config.reconnect
        input_format = self.config.input_format or ("v4l2" if self.kind == "usb" else None)
        try:
            container = av.open(self.config.target, "r", format=input_format,
                                options=self._options(),
                                timeout=(reconnect.open_timeout_s, reconnect.watchdog_s))
        except (av.error.FFmpegError, OSError) as exc:
            raise self._fail(f"cannot open: {_reason(exc, reconnect.open_timeout_s)}") from None
        if not container.streams.video:
            container.close()
            raise self._fail("no video stream")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        self._sampler = Sampler(self.config.sample, intra_only=ctx.codec.intra_only)
        if self.config.sample.mode == "keyframes":
            ctx.skip_frame = "NONKEY"
        self._wall_clock = self.kind == "usb" or container.format.name in _WALL_CLOCK_FORMATS
        self._container, self._stream = container, stream
        self._last_decoded_mono = time.monotonic()
        self.timeline.new_segment(live=self.live)
        log.info("%s: opened %s (%s %dx%d, %s)", self.camera, self.config.display_name,
                 ctx.name, ctx.width, ctx.height, container.format.name)

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = self._stream = None

    def __enter__(self) -> Source:
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------------

    def frames(self) -> Iterator[SampledFrame]:
        """Sampled frames until the file ends (files) or ``stop`` is set.

        Raises :class:`SourceError` when the source fails, a live stream ends, or a file turns
        out corrupt or truncated (after yielding what it could).
        """
        if self._container is None:
            raise RuntimeError("Source.frames() before open()")
        while not self._stop.is_set():
            yield from self._one_pass()
            if self._stop.is_set():
                return
            if self.live:
                raise self._fail("stream ended (connection closed by the server)")
            if not self.config.loop:
                return
            self._rewind()

    def _rewind(self) -> None:
        assert self._container is not None and self._stream is not None
        self._container.seek(0)
        self._stream.codec_context.flush_buffers()
        self._in_decoder.clear()
        self.timeline.new_segment(live=False)

    def _one_pass(self) -> Iterator[SampledFrame]:
        """Demux to the end of the input once, then flush the decoder."""
        container, stream = self._container, self._stream
        assert container is not None and stream is not None
        first: float | None = None  # the file's own seconds, for the truncation check
        last_end = 0.0
        try:
            for packet in container.demux(stream):
                if self._stop.is_set():
                    return
                if packet.size == 0:
                    continue
                if not self._wall_clock and packet.dts is not None:
                    own = float(packet.dts * packet.time_base)
                    first = own if first is None else first
                    last_end = own + float((packet.duration or 0) * packet.time_base)
                yield from self._handle(packet, stream)
            yield from self._decode(None)
        except av.error.FFmpegError as exc:
            watchdog = self.config.reconnect.watchdog_s
            raise self._fail(f"read failed: {_reason(exc, watchdog)}") from None
        if not self.live and first is not None:
            self._check_complete(container, last_end - first)

    def _check_complete(self, container: av.container.InputContainer, seen: float) -> None:
        """Raise when a file stops well before the length its header announced."""
        if container.duration is None:
            return
        expected = container.duration / av.time_base
        if seen < _TRUNCATED_FRACTION * expected - 0.5:
            raise self._fail(f"file ends at {seen:.1f} s of {expected:.1f} s (truncated?)")

    def _handle(
        self, packet: av.Packet, stream: av.video.stream.VideoStream
    ) -> Iterator[SampledFrame]:
        wall = time.time()
        index = self.packets
        self.packets += 1
        if self._wall_clock:
            packet.time_base = WALL_TIME_BASE
            packet.pts = packet.dts = round(time.monotonic() / WALL_TIME_BASE)
            packet.duration = 0
        stamped = packet.dts if packet.dts is not None else packet.pts
        time_s: float | None = None
        if stamped is not None:
            assert packet.time_base is not None
            dts = self.timeline.place(stamped, packet.time_base)
            pts = dts + (packet.pts - stamped if packet.pts is not None else 0)
            time_s = float(pts * packet.time_base)
            self._pace(float(dts * packet.time_base))
            if self._template is None and packet.is_keyframe:
                self._template = StreamTemplate.capture(stream, packet)
            if self._template is not None and self._on_packet is not None:
                self._on_packet(EncodedPacket(
                    bytes(packet), pts, dts, packet.duration or 0, packet.time_base,
                    packet.is_keyframe, wall, self._template))
            end = max(pts, dts) + (packet.duration or 0)
            self.timeline.advance(float(end * packet.time_base))
        assert self._sampler is not None
        if self._sampler.keep_packet(index=index, time=time_s, is_keyframe=packet.is_keyframe):
            if packet.pts is not None:
                if len(self._in_decoder) > self._MAX_IN_DECODER:
                    self._in_decoder.clear()  # frames the decoder swallowed; do not grow forever
                self._in_decoder[packet.pts] = (index, time_s, wall)
            yield from self._decode(packet)

    def _pace(self, at: float) -> None:
        """Files at real time: wait until ``at`` (timeline seconds) is due on the wall clock."""
        if self.live or self.config.pace != "realtime":
            return
        now = time.monotonic()
        if self._pace_anchor is None:
            self._pace_anchor = (now, at)
            return
        due = self._pace_anchor[0] + at - self._pace_anchor[1]
        if due > now:
            self._stop.wait(due - now)

    def _decode(self, packet: av.Packet | None) -> Iterator[SampledFrame]:
        assert self._stream is not None and self._sampler is not None
        try:
            decoded = self._stream.codec_context.decode(packet)
        except av.error.FFmpegError as exc:
            # Damaged packets happen on live links; keep going unless nothing decodes any more.
            self.decode_errors += 1
            self.last_decode_error = _reason(exc, self.config.reconnect.watchdog_s)
            idle = time.monotonic() - self._last_decoded_mono
            if idle > self.config.reconnect.watchdog_s:
                raise self._fail(f"no decodable video for {idle:.0f} s "
                                 f"({self.last_decode_error})") from None
            return
        for frame in decoded:
            self._last_decoded_mono = time.monotonic()
            index, at, wall = self._in_decoder.pop(frame.pts, (self.packets - 1, None, time.time()))
            if self._sampler.decodes_every_packet:
                index = self.frames_decoded  # display order, which every_n counts in
            self.frames_decoded += 1
            if at is None and frame.pts is not None and frame.time_base is not None:
                at = self.timeline.seconds(frame.pts, frame.time_base)
            if at is None or not self._sampler.keep_frame(index=index, time=at):
                continue
            # One scaler thread: cameras convert in parallel already, and PyAV's default (a
            # thread per core) costs 3-4x the CPU of a single thread for a 1080p frame.
            image = frame.to_ndarray(format="bgr24", threads=1)
            image.flags.writeable = False
            yield SampledFrame(self.camera, image, at, wall, bool(frame.key_frame), index)
