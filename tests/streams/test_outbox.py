"""The outbox on a real SQLite file and folder: revisions, order, states, crashes, pruning."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from detector.events import Event, EventType, FrameRef, Severity
from streams.outbox import INCOMING_MAX_AGE_S, Attachment, MessageState, Outbox

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def make_event(number: int, *, closed: bool = False) -> Event:
    """Event ``number`` (its id is that number), open or closed after 20 s."""
    frame = FrameRef(100, 4.0, T0 + timedelta(seconds=4))
    return Event(
        id=UUID(int=number), camera="cam1", type=EventType.ANGLING, severity=Severity.HIGH,
        zone="bank", start=T0, start_s=0.0, end=T0 + timedelta(seconds=20) if closed else None,
        end_s=20.0 if closed else None, best_confidence=0.8, best_frame=frame, evidence=(),
        track_ids=(3, 5), model_name="fishwatch-yolo11n", model_version="1.0")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def outbox(tmp_path: Path, clock: FakeClock) -> Outbox:
    with Outbox(tmp_path / "box" / "outbox.db", clock=clock) as box:
        yield box


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_revisions_payload_and_evidence_copies(outbox: Outbox, tmp_path: Path) -> None:
    jpeg = write(tmp_path / "snap.JPG", b"\xff\xd8jpeg")
    clip = write(tmp_path / "clip.mp4", os.urandom(3000))

    opened = outbox.add(make_event(1), [Attachment("snapshot", jpeg)])
    closed = outbox.add(make_event(1, closed=True), [Attachment("clip", clip)],
                        outcome="dispersed")

    assert (opened.revision, closed.revision) == (1, 2)
    assert closed.idempotency_key == f"{UUID(int=1)}:2"
    document = json.loads(closed.payload)
    assert document == {
        "event_id": str(UUID(int=1)), "revision": 2, "camera": "cam1", "type": "angling",
        "severity": "high", "zone": "bank", "status": "closed",
        "start": "2024-05-01T10:00:00.000Z", "end": "2024-05-01T10:00:20.000Z",
        "start_s": 0.0, "end_s": 20.0, "confidence": 0.8, "track_ids": [3, 5],
        "model": {"name": "fishwatch-yolo11n", "version": "1.0"}, "outcome": "dispersed",
        "evidence": [{"kind": "clip", "filename": "clip.mp4", "content_type": "video/mp4",
                      "size": 3000, "sha256": hashlib.sha256(clip.read_bytes()).hexdigest()}]}
    assert json.loads(opened.payload)["status"] == "open"
    assert json.loads(opened.payload)["end"] is None
    snapshot, = opened.evidence
    assert (snapshot.filename, snapshot.content_type) == ("snapshot.jpg", "image/jpeg")
    assert snapshot.path.parent.parent == outbox.evidence_dir
    assert snapshot.path.read_bytes() == jpeg.read_bytes()
    assert closed.evidence[0].path.read_bytes() == clip.read_bytes()
    assert jpeg.exists() and clip.exists()  # copied, not moved
    assert not any((outbox.evidence_dir / ".incoming").iterdir())


def test_move_takes_the_file_and_deletes_the_original(outbox: Outbox, tmp_path: Path) -> None:
    clip = write(tmp_path / "clip.mp4", b"mp4 data")
    message = outbox.add(make_event(1, closed=True), [Attachment("clip", clip)], move=True)
    assert not clip.exists()
    assert message.evidence[0].path.read_bytes() == b"mp4 data"


@pytest.mark.parametrize(("evidence", "exception"), [
    (lambda d: [Attachment("snapshot", write(d / "a.jpg", b"a")),
                Attachment("snapshot", write(d / "b.jpg", b"b"))], ValueError),
    (lambda d: [Attachment("snapshot", write(d / "a.jpg", b"a")),
                Attachment("clip", d / "missing.mp4")], FileNotFoundError),
])
def test_a_failed_add_queues_nothing_and_leaves_no_file(outbox: Outbox, tmp_path: Path,
                                                        evidence, exception) -> None:
    with pytest.raises(exception):
        outbox.add(make_event(1), evidence(tmp_path))
    assert outbox.stats().pending == 0
    assert files_under(outbox.evidence_dir) == []


def test_unknown_evidence_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="evidence kind must be one of"):
        Attachment("thumbnail", tmp_path / "x.jpg")  # type: ignore[arg-type]


def test_an_events_revisions_go_out_in_order(outbox: Outbox, clock: FakeClock) -> None:
    a1 = outbox.add(make_event(1))
    b1 = outbox.add(make_event(2))
    a2 = outbox.add(make_event(1, closed=True))
    assert outbox.next_due() == a1

    outbox.retry_later(a1.id, delay=60, error="HTTP 503")
    # a2 must wait for a1; the other event goes ahead
    assert outbox.next_due().id == b1.id
    outbox.mark_sent(b1.id, result="created")
    assert outbox.next_due() is None
    assert outbox.next_wakeup() == clock.now + 60

    clock.now += 60
    assert outbox.next_due().id == a1.id
    outbox.park(a1.id, error="HTTP 413")
    assert outbox.next_due().id == a2.id  # a parked revision does not hold up the next one


def test_states_and_transitions(outbox: Outbox, clock: FakeClock) -> None:
    message = outbox.add(make_event(1))
    outbox.retry_later(message.id, delay=5, error="ConnectError")
    assert outbox.next_due() is None
    assert outbox.expedite() == 1  # the centre is back: no need to wait
    assert outbox.next_due().id == message.id
    outbox.park(message.id, error="HTTP 422: bad zone")
    parked, = outbox.messages(MessageState.PARKED)
    assert (parked.attempts, parked.last_error) == (2, "HTTP 422: bad zone")
    with pytest.raises(ValueError, match="is parked, expected pending"):
        outbox.mark_sent(message.id, result="created")

    outbox.requeue(message.id)
    clock.now += 1
    outbox.mark_sent(message.id, result="duplicate")
    sent = outbox.get(message.id)
    assert (sent.state, sent.result, sent.attempts, sent.sent_at, sent.last_error) == (
        MessageState.SENT, "duplicate", 3, clock.now, None)
    with pytest.raises(ValueError, match="does not exist"):
        outbox.park(999, error="x")


def test_a_wait_set_before_the_clock_went_back_counts_as_due(outbox: Outbox,
                                                             clock: FakeClock) -> None:
    message = outbox.add(make_event(1))
    outbox.retry_later(message.id, delay=30, error="timeout")
    clock.now -= 365 * 86_400  # NTP corrected a box that booted a year ahead
    assert outbox.next_due(max_wait=3600).id == message.id


def test_messages_survive_a_process_that_died_without_closing(tmp_path: Path) -> None:
    """A reboot or kill: another process opens the file and finds every committed message."""
    db = tmp_path / "outbox.db"
    snapshot = write(tmp_path / "snap.jpg", b"jpeg bytes")
    script = f"""
import os, sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from test_outbox import make_event
from streams.outbox import Attachment, Outbox
box = Outbox({str(db)!r})
box.add(make_event(1), [Attachment("snapshot", {str(snapshot)!r})])
box.add(make_event(2))
os._exit(0)  # no close, no checkpoint
"""
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    with Outbox(db) as reopened:
        pending = reopened.messages(MessageState.PENDING)
        assert [(m.event_id.int, m.revision) for m in pending] == [(1, 1), (2, 1)]
        assert pending[0].evidence[0].path.read_bytes() == b"jpeg bytes"


def test_opening_sweeps_files_a_crash_left_behind(tmp_path: Path) -> None:
    db = tmp_path / "outbox.db"
    with Outbox(db) as box:
        kept = box.add(make_event(1), [Attachment("snapshot", write(tmp_path / "s.jpg", b"s"))])
        orphan = kept.evidence[0].path.with_name("r2-clip.mp4")  # renamed, never committed
        orphan.write_bytes(b"half")
        stray = box.evidence_dir / str(UUID(int=9))
        stray.mkdir()
        (stray / "r1-snapshot.jpg").write_bytes(b"x")
        stale = box.evidence_dir / ".incoming" / "dead.part"
        stale.write_bytes(b"partial copy")
        old = time.time() - INCOMING_MAX_AGE_S - 10
        os.utime(stale, (old, old))
        fresh = box.evidence_dir / ".incoming" / "busy.part"  # another process still copying
        fresh.write_bytes(b"partial")
    with Outbox(db) as box:
        assert files_under(box.evidence_dir) == sorted([kept.evidence[0].path, fresh])


def test_opening_leaves_folders_it_does_not_own_alone(tmp_path: Path) -> None:
    """The edge's evidence.folder and the outbox's default evidence folder can be one folder:
    a box killed during an incident has that camera's working files there when it restarts."""
    db = tmp_path / "outbox.db"
    with Outbox(db) as box:
        incident = box.evidence_dir / "pier-3" / str(UUID(int=7))
        incident.mkdir(parents=True)
        working = write(incident / "snapshot.jpg", b"the open incident's picture")
        loose = write(box.evidence_dir / "pier-3" / "notes.txt", b"not the outbox's")
    with Outbox(db) as box:
        assert files_under(box.evidence_dir) == sorted([working, loose])


def test_prune_deletes_old_deliveries_but_keeps_an_open_events_count(
        outbox: Outbox, clock: FakeClock, tmp_path: Path) -> None:
    def snap(name: str) -> list[Attachment]:
        return [Attachment("snapshot", write(tmp_path / name, name.encode()))]

    closed_1 = outbox.add(make_event(1), snap("a.jpg"))
    closed_2 = outbox.add(make_event(1, closed=True), snap("b.jpg"))
    open_1 = outbox.add(make_event(2), snap("c.jpg"))
    open_2 = outbox.add(make_event(2), snap("d.jpg"))
    parked = outbox.add(make_event(3), snap("e.jpg"))
    for message in (closed_1, closed_2, open_1, open_2):
        outbox.mark_sent(message.id, result="created")
    outbox.park(parked.id, error="HTTP 400")
    recent = outbox.add(make_event(4, closed=True))
    clock.now += 100
    outbox.mark_sent(recent.id, result="created")

    assert outbox.prune(before=clock.now - 50) == 3
    remaining = {m.id for m in outbox.messages(MessageState.SENT)}
    assert remaining == {open_2.id, recent.id}
    assert files_under(outbox.evidence_dir) == sorted(
        [open_2.evidence[0].path, parked.evidence[0].path])
    assert not (outbox.evidence_dir / str(UUID(int=1))).exists()
    assert outbox.add(replace(make_event(2), end=T0, end_s=1.0)).revision == 3


def test_stats_count_messages_and_bytes(outbox: Outbox, clock: FakeClock,
                                        tmp_path: Path) -> None:
    empty = outbox.stats()
    assert (empty.pending, empty.parked, empty.sent, empty.pending_bytes,
            empty.evidence_bytes, empty.oldest_pending_at) == (0, 0, 0, 0, 0, None)
    first = outbox.add(make_event(1), [Attachment("clip", write(tmp_path / "c.mp4", b"x" * 700))])
    clock.now += 5
    outbox.add(make_event(2), [Attachment("snapshot", write(tmp_path / "s.jpg", b"y" * 30))])
    parked = outbox.add(make_event(3), [Attachment("snapshot", write(tmp_path / "t.jpg", b"z"))])
    outbox.park(parked.id, error="HTTP 413")
    stats = outbox.stats()
    assert (stats.pending, stats.parked, stats.sent) == (2, 1, 0)
    assert (stats.pending_bytes, stats.evidence_bytes) == (730, 731)
    assert stats.oldest_pending_at == first.created_at
    assert stats.database_bytes > 0


def test_events_left_open_by_a_killed_run_are_closed_on_the_next_start(
        tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "box" / "outbox.db"
    clock.now = (T0 + timedelta(seconds=5)).timestamp()
    with Outbox(path, clock=clock) as box:
        box.add(make_event(1))                  # open, then the box dies
        clock.now += 30
        box.add(make_event(1))                  # a better frame, still open
        box.add(make_event(2))
        box.add(make_event(2, closed=True))     # closed properly
    clock.now += 600
    with Outbox(path, clock=clock) as box:
        assert box.close_interrupted() == [UUID(int=1)]
        pending = box.messages(MessageState.PENDING)
        last = json.loads(pending[-1].payload)
        assert (pending[-1].event_id, pending[-1].revision) == (UUID(int=1), 3)
        assert last["status"] == "closed" and last["evidence"] == []
        # it ends when its newest message was queued (35 s after its start), not at the restart
        assert (last["end"], last["end_s"]) == ("2024-05-01T10:00:35.000Z", 35.0)
        assert box.close_interrupted() == []    # once only
