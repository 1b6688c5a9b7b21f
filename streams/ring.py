"""The pre-event buffer: the last seconds of encoded video, cut only at keyframes.

Keeping packets instead of frames costs ~1/100 of the memory and no decoding; an event clip is
then a remux of a snapshot (see :mod:`streams.clip`).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from itertools import takewhile

from streams.packets import EncodedPacket, StreamTemplate


@dataclass(frozen=True)
class PacketSnapshot:
    """Packets in decoding order, starting at a keyframe, all of one stream template."""

    packets: tuple[EncodedPacket, ...]

    def __post_init__(self) -> None:
        if not self.packets:
            raise ValueError("a PacketSnapshot needs at least one packet")
        if not self.packets[0].is_keyframe:
            raise ValueError("a PacketSnapshot must start at a keyframe")

    @property
    def template(self) -> StreamTemplate:
        return self.packets[0].template

    @property
    def start(self) -> float:
        """Presentation time of the first (key)frame, seconds on the camera's timeline."""
        return self.packets[0].time

    @property
    def end(self) -> float:
        """End of the latest frame, seconds on the camera's timeline."""
        return max(packet.end_time for packet in self.packets)


class PacketRing:
    """Encoded packets of the last ``seconds`` (at least), trimmed by whole GOPs.

    The ring always starts at a keyframe: packets that arrive before the first keyframe are
    dropped, and old video leaves one GOP at a time, only while what stays still covers
    ``seconds``. ``max_bytes`` bounds memory when keyframes are rare: the oldest GOP goes even if
    that leaves less than ``seconds``. A packet of a different stream template (the camera came
    back with other codec parameters) empties the ring, since one clip cannot mix them.
    Thread-safe: the camera thread appends while event code takes snapshots.

    Example:
        >>> ring = PacketRing(seconds=10, max_bytes=64 << 20)
        >>> ring.append(packet)                # from the reader
        >>> snap = ring.snapshot(t0 - 5, t1)   # from the event code; None when empty
    """

    def __init__(self, seconds: float, max_bytes: int) -> None:
        if seconds < 0 or max_bytes <= 0:
            raise ValueError(f"need seconds >= 0 and max_bytes > 0, got {seconds}, {max_bytes}")
        self.seconds = seconds
        self.max_bytes = max_bytes
        self._gops: deque[list[EncodedPacket]] = deque()
        self._bytes = 0
        self._lock = threading.Lock()
        self.dropped = 0  # packets refused: before a keyframe, or out of decoding order

    def append(self, packet: EncodedPacket) -> bool:
        """Add the next packet in decoding order; False when it was dropped."""
        with self._lock:
            if self._gops and packet.template != self._gops[0][0].template:
                self._clear()
            if self._gops and packet.dts <= self._gops[-1][-1].dts:
                self.dropped += 1
                return False
            if packet.is_keyframe:
                self._gops.append([packet])
            elif self._gops:
                self._gops[-1].append(packet)
            else:
                self.dropped += 1
                return False
            self._bytes += len(packet.data)
            self._trim(packet)
            return True

    def _trim(self, newest: EncodedPacket) -> None:
        while len(self._gops) > 1 and newest.end_time - self._gops[1][0].time >= self.seconds:
            self._drop_oldest_gop()
        while self._bytes > self.max_bytes and self._gops:
            self._drop_oldest_gop()

    def _drop_oldest_gop(self) -> None:
        self._bytes -= sum(len(p.data) for p in self._gops.popleft())

    def _clear(self) -> None:
        self._gops.clear()
        self._bytes = 0

    def clear(self) -> None:
        """Forget everything (e.g. the camera was reconfigured)."""
        with self._lock:
            self._clear()

    @property
    def nbytes(self) -> int:
        return self._bytes

    @property
    def span(self) -> tuple[float, float] | None:
        """(start, end) seconds covered, or None when empty."""
        with self._lock:
            if not self._gops:
                return None
            return self._gops[0][0].time, max(p.end_time for p in self._gops[-1])

    def snapshot(
        self, start: float | None = None, end: float | None = None
    ) -> PacketSnapshot | None:
        """Packets covering ``[start, end]``, from the last keyframe at or before ``start``.

        ``start`` None or before the ring: from the oldest packet; ``end`` None: up to the newest;
        otherwise up to the last packet decoded at or before ``end``. None when that is nothing.
        """
        with self._lock:
            gops = list(self._gops)
        if not gops:
            return None
        first = 0
        if start is not None:
            for i, gop in enumerate(gops):
                if gop[0].time <= start:
                    first = i
        packets = [p for gop in gops[first:] for p in gop]
        if end is not None:
            # Cut in decoding order so that every kept frame still has its references.
            packets = list(takewhile(lambda p: p.decode_time <= end, packets))
        return PacketSnapshot(tuple(packets)) if packets else None
