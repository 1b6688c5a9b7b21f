"""The reads behind the web pages: the review queue, the overview's map and
trend, users for the administrators, the live stream's cursor."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from dispatch.db import Database
from dispatch.errors import InvalidRequest, PermissionDenied
from dispatch.inbox import Deadline, inbox
from dispatch.ledgers import LedgerFilter
from dispatch.models import Event, User
from dispatch.notifications import latest_notification_id, read_notifications
from dispatch.orders import OrderService
from dispatch.registry import create_user, deactivate_user, list_users, set_language
from dispatch.reviews import ReviewFilter, review_choices, review_queue
from dispatch.schemas import AnalystVerdict, EventIn, EventType, Role
from dispatch.settings import DispatchConfig
from dispatch.stats import checkpoints, daily_orders

from ..conftest import T0, Cast, ManualClock, seed

Alert = Callable[..., EventIn]


@pytest.fixture
def orders(config: DispatchConfig, clock: ManualClock) -> OrderService:
    return OrderService(config, clock=clock)


def ingest(db: Database, orders: OrderService, event: EventIn) -> uuid.UUID:
    with db.transaction() as session:
        return orders.ingest(session=session, event=event).order_id


def test_review_queue_is_per_analyst_and_filters(db: Database, cast: Cast,
                                                 orders: OrderService, alert: Alert,
                                                 clock: ManualClock) -> None:
    north = ingest(db, orders, alert(evidence=[
        {"kind": "snapshot", "sha256": "ab" * 32, "size": 10, "content_type": "image/jpeg",
         "storage_key": "ev/n.jpg"},
        {"kind": "clip", "sha256": "cd" * 32, "size": 99, "content_type": "video/mp4",
         "storage_key": "ev/n.mp4"}]))
    clock.advance(minutes=1)
    south = ingest(db, orders, alert(camera="cam-s1", type="net_fishing"))
    ingest(db, orders, alert(camera="cam-s1", type="camera_fault"))
    with db.transaction() as session:
        session.execute(sa.update(Event).where(Event.order_id == south).values(zone="reeds"))
        queue = review_queue(session, cast.analyst)
        assert [i.order.id for i in queue] == [south, north]  # newest first, no faults
        first = queue[1]
        assert (first.clip.storage_key, first.snapshot.storage_key) == ("ev/n.mp4", "ev/n.jpg")
        assert queue[0].clip is None and queue[0].my_verdict is None
        assert [i.order.id for i in review_queue(
            session, cast.analyst, ReviewFilter(zone="reeds"))] == [south]
        assert [i.order.id for i in review_queue(
            session, cast.analyst, ReviewFilter(camera="cam-n1"))] == [north]
        assert [i.order.id for i in review_queue(
            session, cast.analyst, ReviewFilter(type=EventType.NET_FISHING,
                                                since=T0 + timedelta(seconds=30)))] == [south]
        assert review_queue(session, cast.analyst, ReviewFilter(until=T0)) == []
        assert review_choices(session, cast.analyst) == (["cam-n1", "cam-s1", "cam-s9"],
                                                         ["reeds"])
        orders.record_verdict(session=session, actor=cast.analyst, order_id=south,
                              verdict=AnalystVerdict.FALSE_POSITIVE, note="a heron")
        orders.record_verdict(session=session, actor=cast.analyst, order_id=north,
                              verdict=AnalystVerdict.CONFIRMED)
    with db.transaction() as session:
        assert review_queue(session, cast.analyst) == []
        done = {i.order.id: i for i in review_queue(session, cast.analyst, reviewed=True)}
        assert (done[south].my_verdict, done[south].my_note) == (
            AnalystVerdict.FALSE_POSITIVE, "a heron")
        assert done[north].my_verdict is AnalystVerdict.CONFIRMED
        # another reader's own state: the auditor judged nothing
        assert {i.order.id for i in review_queue(session, cast.auditor)} == {south, north}
        with pytest.raises(PermissionDenied):
            review_queue(session, cast.north)


def test_checkpoints_and_daily_trend(db: Database, cast: Cast, orders: OrderService,
                                     alert: Alert, clock: ManualClock) -> None:
    ingest(db, orders, alert(severity="high"))
    ingest(db, orders, alert(camera="cam-s1", type="net_fishing"))
    clock.advance(days=1)
    ingest(db, orders, alert(camera="cam-s1", type="net_fishing"))
    now = T0 + timedelta(days=1, minutes=11)
    with db.transaction() as session:
        points = {p.camera: p for p in checkpoints(session, cast.dispatcher, LedgerFilter(),
                                                   now=now)}
        mine = {p.camera: p.orders for p in checkpoints(session, cast.north, LedgerFilter(),
                                                        now=now)}
        trend = daily_orders(session, cast.dispatcher, LedgerFilter())
        late = daily_orders(session, cast.dispatcher, LedgerFilter(since=T0 + timedelta(hours=1)))
    assert {c: (p.orders, p.open, p.overdue) for c, p in points.items()} == {
        "cam-n1": (1, 1, 1), "cam-s1": (2, 2, 1), "cam-s9": (0, 0, 0)}
    assert (points["cam-n1"].lat, points["cam-n1"].device) == (30.5, "box-1")
    assert mine == {"cam-n1": 1, "cam-s1": 0, "cam-s9": 0}
    assert trend == {date(2026, 5, 1): 2, date(2026, 5, 2): 1}
    assert late == {date(2026, 5, 2): 1}


def test_users_for_the_administrators_and_language(db: Database, cast: Cast,
                                                   clock: ManualClock) -> None:
    with db.transaction() as session:
        deactivate_user(session, actor=cast.admin, at=clock(), username="bureau")
        set_language(session, actor=cast.north, at=clock(), language="en")
        with pytest.raises(InvalidRequest, match="language"):
            set_language(session, actor=cast.north, at=clock(), language="fr")
    with db.transaction() as session:
        users = list_users(session, actor=cast.admin)
        with pytest.raises(PermissionDenied):
            list_users(session, actor=cast.dispatcher)
    assert users[-1].username == "bureau" and not users[-1].active
    north = next(u for u in users if u.username == "north")
    assert (north.department, north.language, north.role.value) == (
        "fishery-north", "en", "department_staff")


def test_latest_notification_id_is_the_streams_cursor(db: Database, cast: Cast,
                                                      orders: OrderService,
                                                      alert: Alert) -> None:
    with db.transaction() as session:
        assert latest_notification_id(session) == 0
    ingest(db, orders, alert())
    with db.transaction() as session:
        cursor = latest_notification_id(session)
        assert cursor > 0 and read_notifications(session, cast.north, after=cursor) == []
    ingest(db, orders, alert(camera="cam-s1"))
    with db.transaction() as session:
        assert [n.kind.value for n in read_notifications(session, cast.dispatcher,
                                                         after=cursor)] == ["order.dispatched"]


def test_inbox_tabs_follow_the_current_deadline(db: Database, cast: Cast,
                                                orders: OrderService, alert: Alert,
                                                clock: ManualClock) -> None:
    """High severity: sign within 10 min, resolve within 60; medium: 30 and 240."""
    high = ingest(db, orders, alert(severity="high"))
    medium = ingest(db, orders, alert(type="net_fishing"))

    def tab(deadline: Deadline, minutes: float) -> list[uuid.UUID]:
        with db.transaction() as session:
            return [o.id for o in inbox(session, cast.north, deadline=deadline,
                                        now=T0 + timedelta(minutes=minutes))]

    assert tab(Deadline.DUE_SOON, 0) == [high, medium]  # both sign deadlines within the hour
    assert tab(Deadline.OVERDUE, 0) == []
    assert tab(Deadline.OVERDUE, 11) == [high]
    assert tab(Deadline.DUE_SOON, 11) == [medium]
    clock.advance(minutes=5)
    with db.transaction() as session:
        orders.sign(session=session, actor=cast.north, order_id=high)
    # signed: the feedback deadline (60 min) is the one that runs now
    assert tab(Deadline.OVERDUE, 11) == []
    assert tab(Deadline.DUE_SOON, 11) == [high, medium]
    assert tab(Deadline.OVERDUE, 61) == [high, medium]
    with db.transaction() as session:
        assert inbox(session, cast.south, deadline=Deadline.OVERDUE,
                     now=T0 + timedelta(hours=5)) == []
        with pytest.raises(ValueError, match="now"):
            inbox(session, cast.north, deadline=Deadline.OVERDUE)


def test_two_admins_adding_the_same_user_at_once_get_a_clear_refusal(
    pg_db: Database, config: DispatchConfig, clock: ManualClock
) -> None:
    """The second insert loses the race to the unique name: a refusal, not a server error."""
    cast = seed(pg_db, config, clock)

    def the_other_admin_first(session: Session, *_: object) -> None:
        with pg_db.transaction() as other:  # its own connection, committed before ours flushes
            create_user(other, actor=cast.admin, at=clock(), username="zhao",
                        display_name="Zhao", role=Role.ANALYST)

    with pg_db.transaction() as session:
        event.listen(session, "before_flush", the_other_admin_first, once=True)
        with pytest.raises(InvalidRequest, match="'zhao' already exists"):
            create_user(session, actor=cast.admin, at=clock(), username="zhao",
                        display_name="Zhao Two", role=Role.ANALYST)
        assert session.scalar(sa.select(sa.func.count()).select_from(User)) == 9  # still usable
