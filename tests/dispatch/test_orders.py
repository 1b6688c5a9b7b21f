"""Work orders: alerts are routed, duplicates attach, steps follow the life cycle, scope holds."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa

from dispatch.audit import verify
from dispatch.db import Database
from dispatch.errors import Conflict, InvalidRequest, NotFound, PermissionDenied, TransitionError
from dispatch.inbox import get_order, inbox, order_events, order_history
from dispatch.models import CommissionCase, Notification
from dispatch.orders import OrderService
from dispatch.photos import record_photo
from dispatch.schemas import (
    ActionKind,
    AnalystVerdict,
    CaseTrigger,
    Disposition,
    EventIn,
    FeedbackIn,
    IngestOutcome,
    NotificationKind,
    OrderStatus,
)
from dispatch.settings import DispatchConfig

from ..conftest import Cast, ManualClock

Alert = Callable[..., EventIn]


@pytest.fixture
def orders(config: DispatchConfig, clock: ManualClock) -> OrderService:
    return OrderService(config, clock=clock)


def ingest(db: Database, orders: OrderService, event: EventIn) -> uuid.UUID:
    with db.transaction() as session:
        return orders.ingest(session=session, event=event).order_id


@pytest.mark.parametrize(("camera", "type", "department"), [
    ("cam-n1", "angling", "fishery-north"),
    ("cam-s1", "net_fishing", "fishery-south"),
    ("cam-n1", "boat_intrusion", "river-police"),
    ("cam-s1", "camera_fault", "it"),
    ("cam-s9", "angling", "centre"),
])
def test_alerts_are_routed_to_the_responsible_department(
        db: Database, cast: Cast, orders: OrderService, alert: Alert, camera: str, type: str,
        department: str) -> None:
    order_id = ingest(db, orders, alert(camera=camera, type=type))
    with db.transaction() as session:
        view = get_order(session, cast.dispatcher, order_id)
    assert (view.department, view.status, view.event_count) == (department,
                                                                OrderStatus.DISPATCHED, 1)


def test_deadlines_follow_the_sla_rule(db: Database, cast: Cast, orders: OrderService,
                                       alert: Alert, clock: ManualClock) -> None:
    high = ingest(db, orders, alert(severity="high"))
    medium = ingest(db, orders, alert(camera="cam-s1"))
    with db.transaction() as session:
        high_view = get_order(session, cast.dispatcher, high)
        medium_view = get_order(session, cast.dispatcher, medium)
    assert (high_view.sign_due_at - clock()).total_seconds() == 10 * 60
    assert (high_view.resolve_due_at - clock()).total_seconds() == 60 * 60
    assert (medium_view.sign_due_at - clock()).total_seconds() == 30 * 60


def test_duplicate_alerts_attach_to_the_open_order(db: Database, cast: Cast,
                                                   orders: OrderService, alert: Alert,
                                                   clock: ManualClock) -> None:
    first = alert()
    order_id = ingest(db, orders, first)
    clock.advance(minutes=5)
    with db.transaction() as session:
        resent = orders.ingest(session=session, event=first)
        update = orders.ingest(session=session, event=first.model_copy(
            update={"end": clock(), "outcome": "stayed"}))
        duplicate = orders.ingest(session=session, event=alert(severity="high"))
        other_type = orders.ingest(session=session, event=alert(type="net_fishing"))
    assert resent.outcome is IngestOutcome.UNCHANGED and resent.order_id == order_id
    assert update.outcome is IngestOutcome.UPDATED and update.order_id == order_id
    assert duplicate.outcome is IngestOutcome.ATTACHED and duplicate.order_id == order_id
    assert other_type.outcome is IngestOutcome.DISPATCHED and other_type.order_id != order_id
    with db.transaction() as session:
        view = get_order(session, cast.dispatcher, order_id)
        events = order_events(session, cast.dispatcher, order_id)
        kinds = [a.kind for a in order_history(session, cast.dispatcher, order_id)]
    assert view.event_count == 2 and view.severity == "high"
    assert [e.outcome for e in events] == ["stayed", None]
    assert events[0].evidence[0].storage_key == "ev/2026/05/01/a.jpg"
    assert kinds == [ActionKind.DISPATCHED, ActionKind.EVENT_ATTACHED]


def test_alerts_after_the_window_or_after_closing_open_a_new_order(
        db: Database, cast: Cast, orders: OrderService, alert: Alert,
        clock: ManualClock) -> None:
    first = ingest(db, orders, alert())
    clock.advance(minutes=31)
    second = ingest(db, orders, alert())
    assert second != first  # the dedup window is 30 min after the incident's last alert
    with db.transaction() as session:
        orders.record_verdict(session=session, actor=cast.analyst, order_id=second,
                              verdict=AnalystVerdict.FALSE_POSITIVE)
    clock.advance(minutes=1)
    assert ingest(db, orders, alert()) not in (first, second)


def test_an_event_id_cannot_be_reused_for_another_camera(db: Database, cast: Cast,
                                                         orders: OrderService,
                                                         alert: Alert) -> None:
    event = alert()
    ingest(db, orders, event)
    with pytest.raises(Conflict, match="must not be reused"), db.transaction() as session:
        orders.ingest(session=session, event=event.model_copy(update={"camera": "cam-s1"}))


def test_unknown_cameras_are_refused(db: Database, cast: Cast, orders: OrderService,
                                     alert: Alert) -> None:
    with pytest.raises(NotFound, match="camera 'cam-x' of device 'box-1' is not registered"), \
            db.transaction() as session:
        orders.ingest(session=session, event=alert(camera="cam-x"))


def test_the_whole_life_cycle(db: Database, cast: Cast, orders: OrderService, alert: Alert,
                              clock: ManualClock) -> None:
    order_id = ingest(db, orders, alert())
    with db.transaction() as session:
        orders.sign(session=session, actor=cast.north, order_id=order_id)
        clock.advance(minutes=3)
        orders.start(session=session, actor=cast.north, order_id=order_id)
        photo = record_photo(session, actor=cast.north, at=clock(), order_id=order_id,
                             storage_key="field/1.jpg", sha256="cd" * 32, size=900,
                             content_type="image/jpeg")
        clock.advance(minutes=20)
        orders.submit_feedback(session=session, actor=cast.north, order_id=order_id,
                               feedback=FeedbackIn(disposition=Disposition.DISPERSED,
                                                   notes="two anglers left",
                                                   photo_ids=[photo.id]))
        orders.reject_feedback(session=session, actor=cast.dispatcher, order_id=order_id,
                               reason="photo does not show the bank")
        orders.submit_feedback(session=session, actor=cast.north, order_id=order_id,
                               feedback=FeedbackIn(disposition=Disposition.DISPERSED,
                                                   photo_ids=[photo.id]))
        view = orders.close(session=session, actor=cast.dispatcher, order_id=order_id)
    assert view.status is OrderStatus.CLOSED and view.disposition is Disposition.DISPERSED
    with db.transaction() as session:
        history = order_history(session, cast.north, order_id)
        assert inbox(session, cast.north) == []
    assert [(a.kind, a.from_status, a.to_status) for a in history] == [
        (ActionKind.DISPATCHED, None, "dispatched"),
        (ActionKind.SIGNED, "dispatched", "signed"),
        (ActionKind.STARTED, "signed", "in_progress"),
        (ActionKind.FEEDBACK_SUBMITTED, "in_progress", "feedback_submitted"),
        (ActionKind.FEEDBACK_REJECTED, "feedback_submitted", "in_progress"),
        (ActionKind.FEEDBACK_SUBMITTED, "in_progress", "feedback_submitted"),
        (ActionKind.CLOSED, "feedback_submitted", "closed"),
    ]
    assert history[3].photos[0].storage_key == "field/1.jpg"
    assert history[1].actor == "department_staff:north"
    with db.transaction() as session:
        assert verify(session).ok


def test_invalid_transitions_say_what_is_allowed(db: Database, cast: Cast,
                                                 orders: OrderService, alert: Alert) -> None:
    order_id = ingest(db, orders, alert())
    with db.transaction() as session:
        orders.sign(session=session, actor=cast.north, order_id=order_id)
    with pytest.raises(TransitionError) as error, db.transaction() as session:
        orders.sign(session=session, actor=cast.north, order_id=order_id)
    assert str(error.value) == (
        f"cannot sign order {order_id}: sign goes from dispatched to signed, but it is signed; "
        "steps allowed from signed: start, return, dismiss_as_false_alarm")
    with pytest.raises(TransitionError, match="close goes from feedback_submitted to closed"), \
            db.transaction() as session:
        orders.close(session=session, actor=cast.dispatcher, order_id=order_id)


def test_roles_and_departments_are_enforced(db: Database, cast: Cast, orders: OrderService,
                                            alert: Alert) -> None:
    order_id = ingest(db, orders, alert())
    with pytest.raises(PermissionDenied, match=r"dispatcher:dispatcher may not sign orders "
                                               r"\(allowed roles: department_staff\)"), \
            db.transaction() as session:
        orders.sign(session=session, actor=cast.dispatcher, order_id=order_id)
    with pytest.raises(NotFound), db.transaction() as session:  # not its order: invisible
        orders.sign(session=session, actor=cast.south, order_id=order_id)
    with pytest.raises(NotFound), db.transaction() as session:
        get_order(session, cast.south, order_id)
    with pytest.raises(PermissionDenied), db.transaction() as session:
        orders.close(session=session, actor=cast.auditor, order_id=order_id)
    with db.transaction() as session:
        assert [o.id for o in inbox(session, cast.north)] == [order_id]
        assert inbox(session, cast.south) == []
        assert [o.id for o in inbox(session, cast.auditor)] == [order_id]
        assert [o.id for o in inbox(session, cast.dispatcher, department="fishery-north")] == [
            order_id]


def test_return_needs_a_reason_and_goes_back_to_the_dispatcher(
        db: Database, cast: Cast, orders: OrderService, alert: Alert,
        clock: ManualClock) -> None:
    order_id = ingest(db, orders, alert())
    with pytest.raises(InvalidRequest, match="return: a reason is required"), \
            db.transaction() as session:
        orders.return_order(session=session, actor=cast.north, order_id=order_id, reason=" ")
    with db.transaction() as session:
        returned = orders.return_order(session=session, actor=cast.north, order_id=order_id,
                                       reason="this bank belongs to the south team")
        clock.advance(minutes=10)
        again = orders.redispatch(session=session, actor=cast.dispatcher, order_id=order_id,
                                  department="fishery-south")
        orders.sign(session=session, actor=cast.south, order_id=order_id)
    assert returned.status is OrderStatus.RETURNED and returned.return_count == 1
    assert (again.department, again.round, again.status) == ("fishery-south", 2,
                                                              OrderStatus.DISPATCHED)
    assert (again.sign_due_at - clock()).total_seconds() == 30 * 60  # new deadlines


def test_repeated_returns_open_a_commission_case(db: Database, cast: Cast,
                                                 orders: OrderService, alert: Alert) -> None:
    order_id = ingest(db, orders, alert())
    with db.transaction() as session:
        for _ in range(2):
            orders.return_order(session=session, actor=cast.north, order_id=order_id,
                                reason="not ours")
            orders.redispatch(session=session, actor=cast.dispatcher, order_id=order_id,
                              department="fishery-north")
    with db.transaction() as session:
        triggers = session.scalars(sa.select(CommissionCase.trigger)).all()
    assert triggers == [CaseTrigger.REPEATED_RETURNS]


def test_analyst_false_positive_closes_as_false_alarm(db: Database, cast: Cast,
                                                      orders: OrderService,
                                                      alert: Alert) -> None:
    order_id = ingest(db, orders, alert())
    with db.transaction() as session:
        view = orders.record_verdict(session=session, actor=cast.analyst, order_id=order_id,
                                     verdict=AnalystVerdict.FALSE_POSITIVE,
                                     note="a heron, not a rod")
    assert (view.status, view.disposition, view.analyst_verdict) == (
        OrderStatus.CLOSED, Disposition.FALSE_ALARM, AnalystVerdict.FALSE_POSITIVE)
    with db.transaction() as session:
        reopened = orders.reopen(session=session, actor=cast.dispatcher, order_id=order_id,
                                 reason="the camera shows a rod after all")
    assert (reopened.status, reopened.round, reopened.disposition) == (
        OrderStatus.DISPATCHED, 2, None)


def test_false_alarm_feedback_against_analyst_confirmation_goes_to_the_commission(
        db: Database, cast: Cast, orders: OrderService, alert: Alert) -> None:
    order_id = ingest(db, orders, alert())
    with db.transaction() as session:
        orders.record_verdict(session=session, actor=cast.analyst, order_id=order_id,
                              verdict=AnalystVerdict.CONFIRMED)
        orders.sign(session=session, actor=cast.north, order_id=order_id)
        orders.start(session=session, actor=cast.north, order_id=order_id)
        orders.submit_feedback(session=session, actor=cast.north, order_id=order_id,
                               feedback=FeedbackIn(disposition=Disposition.FALSE_ALARM))
    with db.transaction() as session:
        triggers = session.scalars(sa.select(CommissionCase.trigger)).all()
    assert triggers == [CaseTrigger.FALSE_ALARM_AGAINST_ANALYST]


def test_every_change_notifies_its_department(db: Database, cast: Cast,
                                              orders: OrderService, alert: Alert) -> None:
    order_id = ingest(db, orders, alert())
    with db.transaction() as session:
        orders.sign(session=session, actor=cast.north, order_id=order_id)
        rows = session.execute(sa.select(Notification.kind, Notification.payload)
                               .order_by(Notification.id)).all()
    assert [kind for kind, _ in rows] == [NotificationKind.ORDER_DISPATCHED,
                                          NotificationKind.ORDER_UPDATED]
    assert rows[1][1]["status"] == "signed" and rows[1][1]["order_id"] == str(order_id)


def test_a_batch_behaves_like_alerts_one_after_another(db: Database, cast: Cast,
                                                       orders: OrderService, alert: Alert,
                                                       clock: ManualClock) -> None:
    first = alert()
    batch = [first, alert(camera="cam-s1"), alert(), first,
             first.model_copy(update={"end": clock() + timedelta(minutes=2)})]
    with db.transaction() as session:
        results = orders.ingest_many(session=session, events=batch)
    assert [r.outcome for r in results] == [IngestOutcome.DISPATCHED, IngestOutcome.DISPATCHED,
                                            IngestOutcome.ATTACHED, IngestOutcome.UNCHANGED,
                                            IngestOutcome.UPDATED]
    assert results[0].order_id == results[2].order_id != results[1].order_id
    with db.transaction() as session:
        view = get_order(session, cast.dispatcher, results[0].order_id)
    assert view.event_count == 2 and view.last_event_at == clock() + timedelta(minutes=2)


def test_an_unregistered_camera_refuses_the_whole_batch(db: Database, cast: Cast,
                                                        orders: OrderService,
                                                        alert: Alert) -> None:
    with pytest.raises(NotFound, match="'cam-x'"), db.transaction() as session:
        orders.ingest_many(session=session, events=[alert(), alert(camera="cam-x")])
    with db.transaction() as session:
        assert inbox(session, cast.dispatcher) == []


def test_duplicates_arriving_together_open_one_order(db: Database, cast: Cast,
                                                     config: DispatchConfig,
                                                     clock: ManualClock, alert: Alert) -> None:
    """Two centre processes ingest alerts of one incident at the same moment (8 incidents)."""
    engines = [Database(db.engine.url) for _ in range(2)]
    barrier = threading.Barrier(2)
    incidents = [(camera, type) for camera in ("cam-n1", "cam-s1")
                 for type in ("angling", "net_fishing", "loitering", "boat_intrusion")]
    results: list[IngestOutcome] = []
    errors: list[BaseException] = []

    def ingest_one(own: Database) -> None:
        try:
            service = OrderService(config, clock=clock)
            for camera, type in incidents:
                event = alert(camera=camera, type=type)
                barrier.wait()
                with own.transaction() as session:
                    results.append(service.ingest(session=session, event=event).outcome)
        except BaseException as exc:  # reported below
            barrier.abort()
            errors.append(exc)

    threads = [threading.Thread(target=ingest_one, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for engine in engines:
        engine.dispose()
    assert not errors, errors
    assert sorted(results) == [IngestOutcome.ATTACHED] * 8 + [IngestOutcome.DISPATCHED] * 8
