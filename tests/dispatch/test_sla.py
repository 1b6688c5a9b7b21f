"""Deadlines: reminders, overdue alarms, chases and escalations, each sent once; in parallel too."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from dispatch.db import Database
from dispatch.inbox import get_order, inbox, order_history
from dispatch.models import CommissionCase, Notification, Reminder
from dispatch.orders import OrderService
from dispatch.schemas import ActionKind, CaseTrigger, EventIn, NotificationKind
from dispatch.settings import DispatchConfig
from dispatch.sla import Sweeper, SweepReport

from ..conftest import Cast, ManualClock

Alert = Callable[..., EventIn]


@pytest.fixture
def orders(config: DispatchConfig, clock: ManualClock) -> OrderService:
    return OrderService(config, clock=clock)


def sweep_at(db: Database, config: DispatchConfig, when: datetime) -> SweepReport:
    return Sweeper(db, config, clock=lambda: when).run_once()


def reminders(db: Database) -> list[tuple[str, str, int]]:
    with db.transaction() as session:
        rows = session.execute(sa.select(Reminder.phase, Reminder.kind, Reminder.seq)
                               .order_by(Reminder.sent_at, Reminder.phase, Reminder.kind)).all()
    return [(p.value, k.value, s) for p, k, s in rows]


def test_an_order_left_alone_is_reminded_chased_escalated_and_referred(
        db: Database, cast: Cast, config: DispatchConfig, orders: OrderService, alert: Alert,
        clock: ManualClock) -> None:
    t0 = clock()
    with db.transaction() as session:
        order_id = orders.ingest(session=session, event=alert()).order_id
    # medium severity: sign within 30 min, resolve within 240, remind 10 min ahead,
    # chase every 30 min, escalate with the 2nd chase, commission 12 h after the deadline.
    steps = [(19, []), (20, [("sign", "due_soon", 0)]), (30, [("sign", "overdue", 0)]),
             (59, []), (60, [("sign", "chase", 1)]),
             (90, [("sign", "chase", 2), ("sign", "escalation", 0)]),
             (230, [("resolve", "due_soon", 0), ("sign", "chase", 6)]),
             (240, [("resolve", "overdue", 0), ("sign", "chase", 7)])]
    sent: list[tuple[str, str, int]] = []
    for minutes, expected in steps:
        report = sweep_at(db, config, t0 + timedelta(minutes=minutes))
        again = sweep_at(db, config, t0 + timedelta(minutes=minutes))  # idempotent
        assert sum(again.sent.values()) == 0
        sent += expected
        assert sorted(reminders(db)) == sorted(sent), f"at +{minutes} min"
        assert sum(report.sent.values()) == len(expected)
    with db.transaction() as session:
        view = get_order(session, cast.dispatcher, order_id)
        assert view.escalated_to == "bureau" and view.chase_count == 4
        assert [o.id for o in inbox(session, cast.bureau)] == [order_id]  # the supervisor sees it
        kinds = Counter(a.kind for a in order_history(session, cast.dispatcher, order_id))
        notified = session.execute(sa.select(Notification.kind, Notification.department_id)
                                   .where(Notification.kind == NotificationKind.ORDER_ESCALATED)
                                   ).one()
    assert kinds[ActionKind.CHASED] == 4 and kinds[ActionKind.ESCALATED] == 1
    assert notified.department_id is not None  # the bureau's staff are told
    report = sweep_at(db, config, t0 + timedelta(minutes=240, hours=12))
    assert report.cases_opened == 1
    assert sweep_at(db, config, t0 + timedelta(minutes=241, hours=12)).cases_opened == 0
    with db.transaction() as session:
        assert session.scalars(sa.select(CommissionCase.trigger)).all() == [CaseTrigger.OVERDUE]


def test_signing_stops_the_sign_reminders(db: Database, cast: Cast, config: DispatchConfig,
                                          orders: OrderService, alert: Alert,
                                          clock: ManualClock) -> None:
    t0 = clock()
    with db.transaction() as session:
        order_id = orders.ingest(session=session, event=alert()).order_id
    clock.advance(minutes=5)
    with db.transaction() as session:
        orders.sign(session=session, actor=cast.north, order_id=order_id)
    for minutes in (20, 30, 60, 120):
        sweep_at(db, config, t0 + timedelta(minutes=minutes))
    assert reminders(db) == []
    sweep_at(db, config, t0 + timedelta(minutes=230))
    assert reminders(db) == [("resolve", "due_soon", 0)]


def test_a_sweep_that_was_down_sends_the_latest_chase_only(
        db: Database, cast: Cast, config: DispatchConfig, orders: OrderService, alert: Alert,
        clock: ManualClock) -> None:
    t0 = clock()
    with db.transaction() as session:
        orders.ingest(session=session, event=alert(severity="high"))  # sign 10, chase 15
    sweep_at(db, config, t0 + timedelta(minutes=10 + 15 * 3 + 1))  # resolve due at 60
    assert sorted(reminders(db)) == [("resolve", "due_soon", 0), ("sign", "chase", 3),
                                     ("sign", "escalation", 0), ("sign", "overdue", 0)]


def test_parallel_sweepers_send_each_reminder_once(db: Database, cast: Cast,
                                                   config: DispatchConfig,
                                                   orders: OrderService, alert: Alert,
                                                   clock: ManualClock) -> None:
    """Separate engines, as separate centre processes would have; small batches interleave.

    On PostgreSQL the sweepers lock different orders (SKIP LOCKED); on SQLite they take
    turns at the database write lock. Either way: every reminder exactly once.
    """
    t0, workers = clock(), 2
    cameras = ["cam-n1", "cam-s1", "cam-s9"]
    types = ["angling", "net_fishing", "loitering", "boat_intrusion"]
    with db.transaction() as session:
        for i in range(60):  # incidents an hour apart: no de-duplication
            start = (t0 - timedelta(hours=60 - i)).isoformat()
            orders.ingest(session=session,
                          event=alert(camera=cameras[i % 3], type=types[i % 4], start=start))
    engines = [Database(db.engine.url) for _ in range(workers)]
    barrier = threading.Barrier(workers)
    reports: list[SweepReport] = []
    errors: list[BaseException] = []

    def run(sweeper_db: Database) -> None:
        try:
            barrier.wait()
            when = t0 + timedelta(minutes=95)
            reports.append(Sweeper(sweeper_db, config, clock=lambda: when, batch=4).run_once())
        except BaseException as exc:  # reported below, with the thread's own traceback
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for e in engines:
        e.dispose()
    assert not errors, errors
    sent = Counter(r for r in reminders(db))
    # at +95 min each (medium) order is past its sign deadline: overdue, chase 2, escalation
    assert sent == Counter({("sign", "overdue", 0): 60, ("sign", "chase", 2): 60,
                            ("sign", "escalation", 0): 60})
    assert sum(sum(r.sent.values()) for r in reports) == 180
    assert sum(r.orders for r in reports) == 60
    with db.transaction() as session:
        chased = session.scalar(sa.select(sa.func.count()).select_from(Notification)
                                .where(Notification.kind == NotificationKind.ORDER_CHASED))
    assert chased == 60
