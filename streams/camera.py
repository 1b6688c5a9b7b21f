"""One camera kept alive in its own thread: connect, read, reconnect, watch its health.

The thread owns the :class:`~streams.source.Source` (PyAV objects never cross threads), feeds
the packet ring, checks faults on sampled frames and leaves the newest frame in a
:class:`~streams.slot.FrameSlot`. Everything other threads see — status, ring snapshots, frames,
fault records — is either immutable or behind a lock.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from streams.backoff import Backoff
from streams.health import CameraFault, FaultDetector
from streams.packets import EncodedPacket
from streams.priority import lower_thread_priority
from streams.rate import Rate
from streams.ring import PacketRing, PacketSnapshot
from streams.settings import CameraSourceConfig
from streams.slot import FrameSlot
from streams.source import SampledFrame, Source, SourceError, Timeline

log = logging.getLogger(__name__)

_HISTORY = 32


class CameraState(enum.StrEnum):
    CONNECTING = "connecting"      # first attempt to open
    ONLINE = "online"              # packets are arriving
    OFFLINE = "offline"            # lost or unreachable; waiting before the next attempt
    RECONNECTING = "reconnecting"  # trying again after being offline
    ENDED = "ended"                # a file played to its end (not looping)
    FAILED = "failed"              # a file that cannot be read; not retried
    STOPPED = "stopped"            # stop() was called


@dataclass(frozen=True)
class StateChange:
    state: CameraState
    at: float  # Unix time
    reason: str | None = None


@dataclass(frozen=True)
class CameraStatus:
    """A consistent snapshot of one camera, for health pages and logs."""

    name: str
    state: CameraState
    since: float
    last_error: str | None
    attempts: int          # opens tried, successful or not
    reconnects: int        # times it came back online after being offline
    packets: int
    bytes: int
    frames_sampled: int    # decoded and handed to the slot
    frames_delivered: int  # taken by the consumer
    frames_dropped: int    # replaced before the consumer took them
    decode_errors: int
    input_fps: float       # video packets per second over the last few seconds
    sampled_fps: float
    buffered: tuple[float, float] | None  # span of the packet ring, camera seconds
    faults: tuple[CameraFault, ...]       # open ones
    history: tuple[StateChange, ...]      # the latest state changes, oldest first

    @property
    def online(self) -> bool:
        return self.state is CameraState.ONLINE


class Camera:
    """A camera reader thread with reconnection, watchdog, fault checks and a freshest-frame slot.

    Live sources are retried forever with exponential backoff; the watchdog is the source's
    read timeout (``reconnect.watchdog_s``). A file that cannot be read ends the thread in
    ``failed`` with a one-line ``last_error``; other cameras are unaffected. ``nice`` > 0 runs
    the reader thread at that much lower CPU priority (see :mod:`streams.priority`).

    Example:
        >>> with Camera("bridge", config, on_fault=publish) as camera:
        ...     for frame in camera.frames():
        ...         detections = detector(frame.frame)
        ...         clip = camera.snapshot(frame.pts - 5, frame.pts)
    """

    def __init__(self, name: str, config: CameraSourceConfig, *,
                 on_fault: Callable[[CameraFault], None] | None = None,
                 backoff: Backoff | None = None, nice: int = 0) -> None:
        self.name = name
        self.config = config
        self.nice = nice
        self._on_fault = on_fault
        self._backoff = backoff or Backoff(config.reconnect.backoff_min_s,
                                           config.reconnect.backoff_max_s)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        lossless = config.resolved_kind == "file" and config.pace == "fast"
        self._slot: FrameSlot[SampledFrame] = FrameSlot(lossless=lossless)
        self._ring = PacketRing(config.pre_capture_s, round(config.ring_max_mb * 2**20))
        self._timeline = Timeline()
        self._faults = FaultDetector(name, config.faults)
        self._thread: threading.Thread | None = None
        self._state = CameraState.CONNECTING
        self._since = time.time()
        self._history: deque[StateChange] = deque([StateChange(self._state, self._since)],
                                                  maxlen=_HISTORY)
        self._last_error: str | None = None
        self._attempts = self._reconnects = 0
        self._packets = self._bytes = self._sampled = 0
        self._online_mono = 0.0
        self._source: Source | None = None
        self._input_rate, self._sampled_rate = Rate(), Rate()

    # -- control -------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"camera {self.name} was already started")
        self._thread = threading.Thread(target=self._run, name=f"camera-{self.name}",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> bool:
        """Stop reading; True when the thread ended within ``timeout``.

        A read blocked on a silent server returns after at most ``reconnect.watchdog_s``, so the
        default timeout waits that long plus a margin.
        """
        self._stop.set()
        self._slot.close()
        if self._thread is None:
            return True
        wait = timeout if timeout is not None else self.config.reconnect.watchdog_s + 5
        self._thread.join(wait)
        return not self._thread.is_alive()

    def __enter__(self) -> Camera:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- what consumers use --------------------------------------------------------------------

    def next_frame(self, timeout: float | None = None) -> SampledFrame | None:
        """The newest frame not taken yet; None after ``timeout`` or when the camera is done."""
        return self._slot.get(timeout)

    def frames(self) -> Iterator[SampledFrame]:
        """Frames as they come, until the camera ends, fails or is stopped."""
        while (frame := self._slot.get()) is not None:
            yield frame

    def snapshot(self, start: float | None = None,
                 end: float | None = None) -> PacketSnapshot | None:
        """Buffered packets for ``[start, end]`` camera seconds, as ``PacketRing.snapshot``."""
        return self._ring.snapshot(start, end)

    def status(self) -> CameraStatus:
        now = time.monotonic()
        with self._lock:
            source = self._source
            return CameraStatus(
                name=self.name, state=self._state, since=self._since,
                last_error=self._last_error, attempts=self._attempts,
                reconnects=self._reconnects, packets=self._packets, bytes=self._bytes,
                frames_sampled=self._sampled, frames_delivered=self._slot.delivered,
                frames_dropped=self._slot.dropped,
                decode_errors=source.decode_errors if source else 0,
                input_fps=self._input_rate.per_second(now),
                sampled_fps=self._sampled_rate.per_second(now),
                buffered=self._ring.span, faults=self._faults.open_faults,
                history=tuple(self._history))

    # -- the thread ----------------------------------------------------------------------------

    def _set_state(self, state: CameraState, reason: str | None = None) -> None:
        with self._lock:
            if state is self._state:
                return
            self._state, self._since = state, time.time()
            self._history.append(StateChange(state, self._since, reason))
        if state is CameraState.OFFLINE or state is CameraState.FAILED:
            log.warning("camera %s %s: %s", self.name, state, reason)
        else:
            log.info("camera %s %s", self.name, state)

    def _publish(self, changes: list[CameraFault]) -> None:
        for fault in changes:
            log.warning("camera %s fault %s %s: %s", self.name, fault.kind,
                        "opened" if fault.is_open else "closed", fault.detail)
            if self._on_fault is not None:
                try:
                    self._on_fault(fault)
                except Exception:
                    log.exception("camera %s: on_fault callback failed", self.name)

    def _run(self) -> None:
        if self.nice:
            lower_thread_priority(self.nice)
        self._publish(self._faults.set_online(False, self._timeline.now(), time.time()))
        try:
            while not self._stop.is_set():
                if self._attempts:
                    self._set_state(CameraState.RECONNECTING)
                self._attempts += 1
                try:
                    self._read()
                    self._set_state(CameraState.ENDED)
                    return
                except SourceError as exc:
                    error = str(exc)
                    if not exc.retryable:
                        with self._lock:
                            self._last_error = error
                        self._set_state(CameraState.FAILED, error)
                        return
                except Exception as exc:  # a bug must not take the camera down for good
                    log.exception("camera %s: unexpected error", self.name)
                    error = f"{self.config.display_name}: unexpected {type(exc).__name__}: {exc}"
                if self._stop.is_set():
                    break
                self._went_offline(error)
                self._wait(self._backoff.next())
        finally:
            if self._stop.is_set():
                self._set_state(CameraState.STOPPED)
            self._slot.close()

    def _read(self) -> None:
        source = Source(self.config, camera=self.name, timeline=self._timeline, stop=self._stop,
                        on_packet=self._on_packet)
        with self._lock:
            self._source = source
        with source:
            for frame in source.frames():
                self._on_frame(frame)

    def _went_offline(self, error: str) -> None:
        with self._lock:
            self._last_error = error
            self._input_rate.clear()  # a rate across the gap would describe no connection
            self._sampled_rate.clear()
        if self._state is CameraState.ONLINE and \
                time.monotonic() - self._online_mono >= self.config.reconnect.backoff_max_s:
            self._backoff.reset()  # that connection held: start again from the shortest wait
        self._set_state(CameraState.OFFLINE, error)
        self._publish(self._faults.set_online(False, self._timeline.now(), time.time()))

    def _wait(self, seconds: float) -> None:
        """Sleep before the next attempt, waking each second to let offline faults open."""
        deadline = time.monotonic() + seconds
        while not self._stop.is_set() and (left := deadline - time.monotonic()) > 0:
            self._stop.wait(min(left, 1.0))
            self._publish(self._faults.tick(self._timeline.now(), time.time()))

    def _on_packet(self, packet: EncodedPacket) -> None:
        now = time.monotonic()
        came_online = self._state is not CameraState.ONLINE
        with self._lock:
            self._packets += 1
            self._bytes += len(packet.data)
            self._input_rate.add(now)
            if came_online:
                self._reconnects += self._attempts > 1
                self._online_mono = now
        self._ring.append(packet)
        if came_online:
            self._set_state(CameraState.ONLINE)
            self._publish(self._faults.set_online(True, packet.time, packet.wall))
        else:
            self._publish(self._faults.tick(packet.time, packet.wall))  # lets offline close

    def _on_frame(self, frame: SampledFrame) -> None:
        with self._lock:
            self._sampled += 1
            self._sampled_rate.add(time.monotonic())
        self._publish(self._faults.observe(frame.frame, frame.pts, frame.wall,
                                           keyframe=frame.is_keyframe))
        self._slot.put(frame)
