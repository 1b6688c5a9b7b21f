"""The packet ring: starts at a keyframe, trims whole GOPs, snapshots by time."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import pytest

from streams.packets import EncodedPacket, StreamTemplate
from streams.ring import PacketRing, PacketSnapshot

TB = Fraction(1, 25)  # one tick per frame at 25 fps


@pytest.fixture(scope="module")
def template(clip4s: Path) -> StreamTemplate:
    with av.open(str(clip4s)) as container:
        stream = container.streams.video[0]
        keyframe = next(p for p in container.demux(stream) if p.is_keyframe)
        return StreamTemplate.capture(stream, keyframe)


def packets(template: StreamTemplate, count: int, *, gop: int = 25, first: int = 0,
            size: int = 100) -> list[EncodedPacket]:
    return [EncodedPacket(bytes(size), i, i, 1, TB, i % gop == 0, 0.0, template)
            for i in range(first, first + count)]


def test_starts_at_a_keyframe(template: StreamTemplate) -> None:
    ring = PacketRing(seconds=10, max_bytes=1 << 20)
    added = [ring.append(p) for p in packets(template, 60, first=5)]  # keyframes at 25, 50
    assert added == [False] * 20 + [True] * 40
    assert ring.dropped == 20
    assert ring.span == (1.0, 2.6)


def test_trims_whole_gops_but_keeps_the_requested_seconds(template: StreamTemplate) -> None:
    ring = PacketRing(seconds=3, max_bytes=1 << 20)
    for packet in packets(template, 250):  # 10 s, a keyframe every second
        ring.append(packet)
        span = ring.span
        assert span is not None
        assert span[0] == int(span[0])  # always a keyframe time
        assert span[1] - span[0] >= min(3, span[1]) and span[1] - span[0] < 4
    assert ring.span == (7.0, 10.0)  # 3 s exactly: one more GOP would not be needed
    assert ring.nbytes == 75 * 100


def test_memory_cap_wins_over_seconds(template: StreamTemplate) -> None:
    ring = PacketRing(seconds=60, max_bytes=30 * 1000)
    for packet in packets(template, 100, size=1000):
        ring.append(packet)
    assert ring.nbytes <= 30 * 1000
    assert ring.span == (3.0, 4.0)


def test_a_different_stream_empties_the_ring(template: StreamTemplate, mjpeg2s: Path) -> None:
    with av.open(str(mjpeg2s)) as container:
        stream = container.streams.video[0]
        other = StreamTemplate.capture(stream, next(container.demux(stream)))
    assert other != template and template == template
    ring = PacketRing(seconds=10, max_bytes=1 << 20)
    for packet in packets(template, 50):
        ring.append(packet)
    for packet in packets(other, 10, first=50, gop=1):
        ring.append(packet)
    assert ring.span == (2.0, 2.4)


def test_out_of_order_packets_are_refused(template: StreamTemplate) -> None:
    ring = PacketRing(seconds=10, max_bytes=1 << 20)
    first, second = packets(template, 2)
    assert ring.append(first) and ring.append(second)
    assert not ring.append(first)
    assert ring.dropped == 1


def test_snapshot_starts_at_the_keyframe_before_start(template: StreamTemplate) -> None:
    ring = PacketRing(seconds=10, max_bytes=1 << 20)
    for packet in packets(template, 125):  # 0..5 s, keyframes each second
        ring.append(packet)
    snap = ring.snapshot(2.5, 3.5)
    assert snap is not None
    assert snap.packets[0].is_keyframe and snap.start == 2.0
    assert snap.packets[-1].time == 3.48 and snap.end == 3.52
    assert [p.pts for p in snap.packets] == list(range(50, 88))


@pytest.mark.parametrize(("start", "end", "expected"), [
    (None, None, (0.0, 5.0)),
    (-30.0, 0.5, (0.0, 0.52)),
    (4.2, None, (4.0, 5.0)),
    (99.0, None, (4.0, 5.0)),
])
def test_snapshot_bounds(template: StreamTemplate, start: float | None, end: float | None,
                         expected: tuple[float, float]) -> None:
    ring = PacketRing(seconds=10, max_bytes=1 << 20)
    for packet in packets(template, 125):
        ring.append(packet)
    snap = ring.snapshot(start, end)
    assert snap is not None and (snap.start, snap.end) == expected


def test_empty_snapshots(template: StreamTemplate) -> None:
    ring = PacketRing(seconds=10, max_bytes=1 << 20)
    assert ring.snapshot() is None and ring.span is None
    for packet in packets(template, 50, first=25):
        ring.append(packet)
    assert ring.snapshot(None, 0.5) is None  # everything buffered is later
    ring.clear()
    assert ring.snapshot() is None and ring.nbytes == 0


def test_snapshot_must_start_at_a_keyframe(template: StreamTemplate) -> None:
    with pytest.raises(ValueError, match="keyframe"):
        PacketSnapshot(tuple(packets(template, 3, first=1)))
    with pytest.raises(ValueError, match="at least one"):
        PacketSnapshot(())
