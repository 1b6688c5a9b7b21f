from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from detector.events import (
    EventManager,
    EventType,
    EventUpdate,
    EvidenceBox,
    FrameRef,
    RuleHit,
    Severity,
    UpdateKind,
)

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def _frame(t: float) -> FrameRef:
    return FrameRef(int(t * 2), t, T0 + timedelta(seconds=t))


def _hit(since: float = 0.0, conf: float = 0.8, tracks: tuple[int, ...] = (1,),
         kind: EventType = EventType.ANGLING, zone: str = "bank") -> RuleHit:
    boxes = tuple(EvidenceBox(t, 0, (0.0, 0.0, 10.0, 30.0), conf) for t in tracks)
    return RuleHit(kind, zone, Severity.MEDIUM, since, conf, boxes)


def _manager(**kwargs: float) -> EventManager:
    ids = itertools.count(1)
    return EventManager("pier-3", model_name="yolo", model_version="1.2",
                        id_factory=lambda: UUID(int=next(ids)), **kwargs)


def _run(manager: EventManager, timeline: dict[float, list[RuleHit]], until: float
         ) -> list[EventUpdate]:
    """Feed a frame every second; ``timeline`` gives the hits at some of them."""
    frames = range(int(until) + 1)
    return [u for t in frames for u in manager.update(_frame(t), timeline.get(t, []))]


def test_no_hits_no_events() -> None:
    manager = _manager()
    assert _run(manager, {}, 60) == []
    assert manager.close_all(_frame(61)) == []


def test_one_incident_opens_updates_and_closes() -> None:
    manager = _manager(quiet_s=10, update_interval_s=0)
    timeline = {t: [_hit(since=2.0, conf=0.5 + t / 100, tracks=(1,) if t < 15 else (1, 4))]
                for t in range(12, 21)}
    updates = _run(manager, timeline, 40)
    kinds = [(u.kind, u.at.stream_s) for u in updates]
    assert kinds[0] == (UpdateKind.OPENED, 12.0)
    assert kinds[-1] == (UpdateKind.CLOSED, 30.0)  # 10 s after the last hit
    assert {k for k, _ in kinds[1:-1]} == {UpdateKind.UPDATED}
    opened, closed = updates[0].event, updates[-1].event
    assert opened.id == closed.id == UUID(int=1)
    assert (opened.start_s, opened.start, opened.end) == (2.0, T0 + timedelta(seconds=2), None)
    assert opened.is_open and not closed.is_open
    assert (closed.end_s, closed.end) == (20.0, T0 + timedelta(seconds=20))
    assert closed.track_ids == (1, 4)
    assert closed.best_confidence == pytest.approx(0.7)
    assert closed.best_frame == _frame(20) and closed.evidence[0].confidence == pytest.approx(0.7)
    assert (closed.camera, closed.type, closed.severity, closed.zone) == (
        "pier-3", EventType.ANGLING, Severity.MEDIUM, "bank")
    assert (closed.model_name, closed.model_version) == ("yolo", "1.2")
    assert manager.open_events == ()


def test_gaps_shorter_than_the_quiet_period_merge() -> None:
    manager = _manager(quiet_s=10)
    timeline = {t: [_hit()] for t in [*range(0, 5), *range(13, 16)]}  # 8 s gap
    updates = _run(manager, timeline, 40)
    assert [u.kind for u in updates] == [UpdateKind.OPENED, UpdateKind.CLOSED]
    assert updates[-1].event.end_s == 15.0


@pytest.mark.parametrize(
    ("cooldown_s", "expected"),
    [
        # A second burst 12 s after the close: a new event at once without cooldown ...
        (0.0, [(UpdateKind.OPENED, 0.0, 0.0), (UpdateKind.CLOSED, 0.0, 12.0),
               (UpdateKind.OPENED, 24.0, 24.0), (UpdateKind.CLOSED, 24.0, 45.0)]),
        # ... with 20 s, only from the end of the cooldown, and reported from there.
        (20.0, [(UpdateKind.OPENED, 0.0, 0.0), (UpdateKind.CLOSED, 0.0, 12.0),
                (UpdateKind.OPENED, 32.0, 32.0), (UpdateKind.CLOSED, 32.0, 45.0)]),
        # ... with 60 s, the whole second burst is taken for a duplicate.
        (60.0, [(UpdateKind.OPENED, 0.0, 0.0), (UpdateKind.CLOSED, 0.0, 12.0)]),
    ],
)
def test_cooldown_against_duplicates(cooldown_s: float, expected: list) -> None:
    manager = _manager(quiet_s=10, cooldown_s=cooldown_s)
    timeline = {t: [_hit(since=t if t < 24 else 24.0)] for t in [*range(0, 3), *range(24, 36)]}
    updates = _run(manager, timeline, 50)
    assert [(u.kind, u.event.start_s, u.at.stream_s) for u in updates] == expected


def test_updates_are_rate_limited_and_only_sent_on_change() -> None:
    manager = _manager(quiet_s=10, update_interval_s=5)
    timeline = {t: [_hit(conf=0.5 + t / 100)] for t in range(0, 20)}
    timeline |= {t: [_hit(conf=0.1)] for t in range(20, 30)}  # nothing new to say
    updates = _run(manager, timeline, 30)
    assert [u.at.stream_s for u in updates if u.kind is UpdateKind.UPDATED] == [5, 10, 15, 20]


def test_types_and_zones_are_separate_incidents_and_same_frame_hits_merge() -> None:
    manager = _manager()
    hits = [_hit(since=3, tracks=(1, 2), conf=0.6), _hit(since=1, tracks=(5, 2), conf=0.9),
            _hit(kind=EventType.LOITERING), _hit(zone="pier")]
    updates = manager.update(_frame(4), hits)
    assert len(updates) == 3 and all(u.kind is UpdateKind.OPENED for u in updates)
    angling = updates[0].event
    assert (angling.start_s, angling.track_ids, angling.best_confidence) == (1.0, (1, 2, 5), 0.9)
    assert [b.track_id for b in angling.evidence] == [5, 2, 1]  # the best hit's boxes first
    assert len(manager.close_all(_frame(5))) == 3


def test_start_is_never_after_the_opening_frame() -> None:
    updates = _manager().update(_frame(4), [_hit(since=9.0)])
    assert updates[0].event.start_s == 4.0


def test_time_must_not_go_backwards() -> None:
    manager = _manager()
    manager.update(_frame(5), [])
    with pytest.raises(ValueError, match="went backwards"):
        manager.update(_frame(4), [])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"quiet_s": 0}, "quiet_s"), ({"cooldown_s": -1}, "cooldown_s")],
)
def test_invalid_manager_settings(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _manager(**kwargs)


def test_frame_refs_need_an_aware_wall_time_and_map_stream_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        FrameRef(0, 0.0, datetime(2024, 5, 1))
    with pytest.raises(ValueError, match="finite"):
        FrameRef(0, float("nan"), T0)
    assert _frame(10).wall_time_at(4.0) == T0 + timedelta(seconds=4)
