"""The work-order life cycle: every change to an order goes through :class:`OrderService`.

Each step checks the actor's role (and, for department staff, that the order is their
department's), checks the transition against the table below, writes the history line and
its audit record, and adds a notification, all in the caller's transaction::

    ingest ──► dispatched ──sign──► signed ──start──► in_progress ──submit_feedback──►
                  ▲  │                 │                  │   ▲                         │
                  │  └──────return─────┴──────return──────┘   └──reject_feedback──┐     ▼
     redispatch   │            (staff, reason required)                 feedback_submitted
   (dispatcher) ──┤                        │                                      │
                  │                        ▼                                   close (销号)
                  └──────────────────── returned                                  ▼
                  └──────────────reopen (dispatcher, reason)──────────────────── closed
    any open state ──dismiss_as_false_alarm (analyst's false-positive verdict)──► closed

An alert whose incident already has an open order (same camera and type, within the
de-duplication window of its last alert) attaches to that order instead of opening one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from dispatch import audit
from dispatch.access import Actor, require
from dispatch.commission import open_case
from dispatch.crypto import PersonalDataCipher
from dispatch.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    TransitionError,
)
from dispatch.inbox import load_order, order_view
from dispatch.journal import log_action, order_payload
from dispatch.models import Camera, Department, Device, Evidence, Order, new_id
from dispatch.models import Event as EventRow
from dispatch.notifications import Outbox
from dispatch.photos import photos_of
from dispatch.registry import department_id
from dispatch.routing import Router
from dispatch.schemas import (
    ACTIVE_STATES,
    ActionKind,
    AnalystVerdict,
    CaseTrigger,
    Disposition,
    EventIn,
    EventType,
    FeedbackIn,
    IngestOutcome,
    IngestResult,
    NotificationKind,
    OrderStatus,
    OrderView,
    PhotoRef,
    Role,
    Severity,
    utc_now,
)
from dispatch.settings import DispatchConfig
from dispatch.sla import SlaPolicy

STAFF = frozenset({Role.DEPARTMENT_STAFF})
DISPATCHERS = frozenset({Role.DISPATCHER})
ANALYSTS = frozenset({Role.ANALYST})
OPEN_STATES = frozenset(OrderStatus) - {OrderStatus.CLOSED}


@dataclass(frozen=True)
class Step:
    """A transition: who may take it, from which states, to which state."""

    name: str
    sources: frozenset[OrderStatus]
    target: OrderStatus
    roles: frozenset[Role]
    action: ActionKind


S = OrderStatus
STEPS: dict[str, Step] = {step.name: step for step in [
    Step("sign", frozenset({S.DISPATCHED}), S.SIGNED, STAFF, ActionKind.SIGNED),
    Step("start", frozenset({S.SIGNED}), S.IN_PROGRESS, STAFF, ActionKind.STARTED),
    Step("submit_feedback", frozenset({S.IN_PROGRESS}), S.FEEDBACK_SUBMITTED, STAFF,
         ActionKind.FEEDBACK_SUBMITTED),
    Step("return", ACTIVE_STATES, S.RETURNED, STAFF, ActionKind.RETURNED),
    Step("reject_feedback", frozenset({S.FEEDBACK_SUBMITTED}), S.IN_PROGRESS, DISPATCHERS,
         ActionKind.FEEDBACK_REJECTED),
    Step("close", frozenset({S.FEEDBACK_SUBMITTED}), S.CLOSED, DISPATCHERS, ActionKind.CLOSED),
    Step("redispatch", frozenset({S.RETURNED}), S.DISPATCHED, DISPATCHERS,
         ActionKind.REDISPATCHED),
    Step("reopen", frozenset({S.CLOSED}), S.DISPATCHED, DISPATCHERS, ActionKind.REOPENED),
    Step("dismiss_as_false_alarm", OPEN_STATES, S.CLOSED, ANALYSTS, ActionKind.ANALYST_VERDICT),
]}


def allowed_steps(status: OrderStatus) -> list[str]:
    return [step.name for step in STEPS.values() if status in step.sources]


def edge_actor(device: str) -> Actor:
    return Actor.system(f"edge/{device}")


class OrderService:
    """Ingest alerts into orders and move orders through their life cycle.

    Methods take the caller's session (the caller commits) and the acting user.

    Example:
        >>> orders = OrderService(config, clock=clock)  # doctest: +SKIP
        >>> with db.transaction() as session:
        ...     result = orders.ingest(session=session, event=event)
        >>> with db.transaction() as session:
        ...     orders.sign(session=session, actor=staff, order_id=result.order_id)
    """

    def __init__(self, config: DispatchConfig, *,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.config = config
        self.clock = clock
        self.router = Router(config.routing)
        self.policy = SlaPolicy(config)
        self.outbox = Outbox(config.webhooks)
        self.cipher = PersonalDataCipher.from_config(config)
        self.dedup_window = timedelta(minutes=config.dedup_window_min)
        self._departments: dict[str, UUID] = {}

    # --- ingest -------------------------------------------------------------------------
    def ingest(self, *, session: Session, event: EventIn) -> IngestResult:
        """Turn an edge alert into an order, attach it to its incident's open order, or
        update the event it resends (``event_id`` is the idempotency key). An uplink
        ``revision`` not above the stored one is a duplicate: nothing changes."""
        return self.ingest_many(session=session, events=[event])[0]

    def ingest_many(self, *, session: Session, events: Sequence[EventIn]) -> list[IngestResult]:
        """Ingest alerts in one transaction, as if one after another, in a fixed number of
        statements: commit a batch (an edge box's backlog, or what arrived in the last few
        milliseconds) to pay the commit's disk flush once. An unregistered camera refuses the
        whole batch."""
        now = self.clock()
        self._lock_incidents(session, events)
        known = {row.id: row for row in session.scalars(
            sa.select(EventRow).options(selectinload(EventRow.evidence))
            .where(EventRow.id.in_({e.event_id for e in events})).with_for_update(of=EventRow))}
        cameras = self._cameras(session, {(e.device_id, e.camera) for e in events})
        incidents: dict[tuple[UUID, EventType], Order] = {}
        for order in session.scalars(
                sa.select(Order)
                .where(sa.tuple_(Order.camera_id, Order.type).in_(
                    {(cameras[e.device_id, e.camera].id, e.type) for e in events}),
                       Order.is_open(),
                       Order.last_event_at >= min(e.start for e in events) - self.dedup_window)
                .order_by(Order.id).with_for_update()):
            latest = incidents.get((order.camera_id, order.type))
            if latest is None or order.last_event_at > latest.last_event_at:
                incidents[order.camera_id, order.type] = order
        results = []
        for event in events:
            actor = edge_actor(event.device_id)
            camera = cameras[event.device_id, event.camera]
            row = known.get(event.event_id)
            if row is not None:
                results.append(self._update_event(session, row, event, camera, actor, now))
                continue
            open_order = incidents.get((camera.id, event.type))
            if (open_order is None
                    or open_order.last_event_at < event.start - self.dedup_window):
                order = incidents[camera.id, event.type] = self._open_order(
                    session, event, camera, actor, now)
                outcome, kind = IngestOutcome.DISPATCHED, NotificationKind.ORDER_DISPATCHED
            else:
                order = open_order
                order.event_count += 1
                order.last_event_at = max(order.last_event_at, event.end or event.start)
                order.severity = max(order.severity, event.severity, key=lambda s: s.rank)
                log_action(session, order, kind=ActionKind.EVENT_ATTACHED, actor=actor, at=now,
                           event_id=event.event_id)
                outcome, kind = IngestOutcome.ATTACHED, NotificationKind.ORDER_EVENT_ATTACHED
            row = known[event.event_id] = EventRow(
                id=event.event_id, order_id=order.id, camera_id=camera.id, type=event.type,
                severity=event.severity, start_at=event.start, end_at=event.end,
                confidence=event.confidence, track_ids=list(event.track_ids),
                model_name=event.model.name, model_version=event.model.version,
                outcome=event.outcome, revision=event.revision or 1, zone=event.zone,
                fault=event.fault, detail=event.detail, received_at=now, updated_at=now,
                evidence=[Evidence(**e.model_dump()) for e in event.evidence])
            session.add(row)
            self.outbox.add(session, at=now, kind=kind, department_id=order.department_id,
                            order_id=order.id, payload=order_payload(order))
            results.append(IngestResult(event_id=event.event_id, order_id=order.id,
                                        outcome=outcome))
        return results

    def _cameras(self, session: Session,
                 names: set[tuple[str, str]]) -> dict[tuple[str, str], Camera]:
        found = {(device, camera.name): camera for camera, device in session.execute(
            sa.select(Camera, Device.code).join(Device)
            .where(sa.tuple_(Device.code, Camera.name).in_(names)))}
        missing = sorted(names - found.keys())
        if missing:
            device, camera = missing[0]
            raise NotFound(f"camera {camera!r} of device {device!r} is not registered")
        return found

    def _department_id(self, session: Session, code: str) -> UUID:
        """Departments are never deleted and keep their ids: cache them for ingest."""
        if code not in self._departments:
            self._departments = {code: id_ for code, id_ in session.execute(
                sa.select(Department.code, Department.id).where(Department.active))}
        if code not in self._departments:
            raise NotFound(f"no active department {code!r}")
        return self._departments[code]

    def _lock_incidents(self, session: Session, events: Sequence[EventIn]) -> None:
        """Serialise ingests of one incident across processes (SQLite's write lock does it
        there), so two duplicates arriving together cannot open two orders. Keys are taken
        in sorted order: two batches cannot deadlock."""
        if session.get_bind().dialect.name == "postgresql":
            keys = sorted({int.from_bytes(hashlib.sha256(
                f"{e.device_id}/{e.camera}/{e.type}".encode()).digest()[:8], "big", signed=True)
                for e in events})
            session.execute(sa.text("SELECT pg_advisory_xact_lock(k) "
                                    "FROM unnest(CAST(:keys AS bigint[])) AS k"), {"keys": keys})

    def _open_order(self, session: Session, event: EventIn, camera: Camera, actor: Actor,
                    now: datetime) -> Order:
        route = self.router.route(area=camera.area, grid=camera.grid, type=event.type,
                                  severity=event.severity)
        sign_due, resolve_due = self.policy.deadlines(event.type, event.severity, now)
        order = Order(id=new_id(), department_id=self._department_id(session, route.department),
                      camera_id=camera.id, type=event.type, severity=event.severity,
                      status=OrderStatus.DISPATCHED, round=1, dispatched_at=now,
                      sign_due_at=sign_due, resolve_due_at=resolve_due,
                      first_event_at=event.start, last_event_at=event.end or event.start,
                      event_count=1, return_count=0, chase_count=0)
        order.next_check_at = self.policy.plan(order, now).next_check
        session.add(order)
        log_action(session, order, kind=ActionKind.DISPATCHED, actor=actor, at=now,
                   to_status=OrderStatus.DISPATCHED, department_id=order.department_id,
                   event_id=event.event_id,
                   data={"routing_rule": route.rule, "department": route.department})
        return order

    def _update_event(self, session: Session, row: EventRow, event: EventIn, camera: Camera,
                      actor: Actor, now: datetime) -> IngestResult:
        if (row.camera_id, row.type) != (camera.id, event.type):
            raise Conflict(f"event {event.event_id} is already stored for another camera or "
                           f"type ({row.type}); an event id must not be reused")
        if event.revision is not None and event.revision <= row.revision:
            return IngestResult(event_id=row.id, order_id=row.order_id,
                                outcome=IngestOutcome.DUPLICATE)
        changes: dict[str, object] = {}
        if event.revision is not None:
            row.revision = changes["revision"] = event.revision
        for field in ("zone", "fault", "detail"):
            value = getattr(event, field)
            if value and getattr(row, field) != value:
                setattr(row, field, value)
                changes[field] = value
        if event.end is not None and row.end_at != event.end:
            row.end_at = changes["end"] = event.end
        if event.outcome is not None and row.outcome != event.outcome:
            row.outcome = changes["outcome"] = event.outcome
        if event.severity.rank > Severity(row.severity).rank:
            row.severity = changes["severity"] = event.severity
        if event.confidence > row.confidence:
            row.confidence = changes["confidence"] = event.confidence
        tracks = sorted(set(row.track_ids) | set(event.track_ids))
        if tracks != sorted(row.track_ids):
            row.track_ids = changes["track_ids"] = tracks
        stored = {(e.kind, e.sha256) for e in row.evidence}
        added = [e for e in event.evidence if (e.kind, e.sha256) not in stored]
        for ref in added:
            row.evidence.append(Evidence(**ref.model_dump()))
        if added:
            changes["evidence"] = [e.sha256 for e in added]
        if not changes:
            return IngestResult(event_id=row.id, order_id=row.order_id,
                                outcome=IngestOutcome.UNCHANGED)
        row.updated_at = now
        order = session.get_one(Order, row.order_id)  # its incident's lock is held
        if event.end is not None and event.end > order.last_event_at:
            order.last_event_at = event.end
        audit.record(session, at=now, actor=actor, action="event.updated", entity_type="event",
                     entity_id=row.id, data=changes)
        return IngestResult(event_id=row.id, order_id=row.order_id,
                            outcome=IngestOutcome.UPDATED)

    # --- department staff ---------------------------------------------------------------
    def sign(self, *, session: Session, actor: Actor, order_id: UUID) -> OrderView:
        """签收: the department takes the order."""
        order, now, before = self._begin(session, actor, order_id, "sign")
        order.signed_at = now
        return self._finish(session, actor, order, "sign", now, before)

    def start(self, *, session: Session, actor: Actor, order_id: UUID) -> OrderView:
        """Staff are on their way or on site."""
        order, now, before = self._begin(session, actor, order_id, "start")
        order.started_at = now
        return self._finish(session, actor, order, "start", now, before)

    def submit_feedback(self, *, session: Session, actor: Actor, order_id: UUID,
                        feedback: FeedbackIn) -> OrderView:
        """What was found on site. A subject who is a party member or public official goes,
        encrypted, to a new commission case; never into the order's history."""
        order, now, before = self._begin(session, actor, order_id, "submit_feedback")
        order.feedback_at, order.disposition = now, feedback.disposition
        photos = [PhotoRef.model_validate(p, from_attributes=True)
                  for p in photos_of(session, order, feedback.photo_ids)]
        view = self._finish(session, actor, order, "submit_feedback", now, before,
                            disposition=feedback.disposition, note=feedback.notes,
                            photos=photos)
        if feedback.subject is not None:
            open_case(session, order=order, trigger=CaseTrigger.SUBJECT, actor=actor, at=now,
                      outbox=self.outbox, cipher=self.cipher, subject=feedback.subject)
        self._check_false_alarm_conflict(session, actor, order, now)
        return view

    def return_order(self, *, session: Session, actor: Actor, order_id: UUID,
                     reason: str) -> OrderView:
        """退单: give the order back to the dispatchers (not ours, wrong place...)."""
        reason = _required(reason, "return")
        order, now, before = self._begin(session, actor, order_id, "return")
        order.return_count += 1
        view = self._finish(session, actor, order, "return", now, before, note=reason)
        if order.return_count >= self.config.commission.returns:
            open_case(session, order=order, trigger=CaseTrigger.REPEATED_RETURNS, actor=actor,
                      at=now, outbox=self.outbox)
        return view

    # --- dispatchers --------------------------------------------------------------------
    def close(self, *, session: Session, actor: Actor, order_id: UUID,
              note: str = "") -> OrderView:
        """销号: the dispatcher verified the feedback; the order is done."""
        order, now, before = self._begin(session, actor, order_id, "close")
        order.closed_at = now
        return self._finish(session, actor, order, "close", now, before, note=note)

    def reject_feedback(self, *, session: Session, actor: Actor, order_id: UUID,
                        reason: str) -> OrderView:
        """The feedback is not good enough: back to the department, still in progress."""
        reason = _required(reason, "reject feedback")
        order, now, before = self._begin(session, actor, order_id, "reject_feedback")
        order.feedback_at, order.disposition = None, None
        return self._finish(session, actor, order, "reject_feedback", now, before, note=reason)

    def redispatch(self, *, session: Session, actor: Actor, order_id: UUID, department: str,
                   note: str = "") -> OrderView:
        """Send a returned order to a department (the same or another), with new deadlines."""
        order, now, before = self._begin(session, actor, order_id, "redispatch")
        order.department_id = department_id(session, department)
        self._new_round(order, now)
        return self._finish(session, actor, order, "redispatch", now, before,
                            department=order.department_id, note=note)

    def reopen(self, *, session: Session, actor: Actor, order_id: UUID,
               reason: str) -> OrderView:
        """A closed order needs more work: back to its department, with new deadlines."""
        reason = _required(reason, "reopen")
        order, now, before = self._begin(session, actor, order_id, "reopen")
        order.closed_at, order.disposition = None, None
        self._new_round(order, now)
        return self._finish(session, actor, order, "reopen", now, before,
                            department=order.department_id, note=reason)

    # --- analysts -----------------------------------------------------------------------
    def record_verdict(self, *, session: Session, actor: Actor, order_id: UUID,
                       verdict: AnalystVerdict, note: str = "") -> OrderView:
        """An analyst's review of the evidence. A false positive closes the order as a false
        alarm; a confirmation is recorded and checked against a false-alarm feedback."""
        verdict = AnalystVerdict(verdict)  # a plain "false_positive" must not read as a confirm
        if verdict is AnalystVerdict.FALSE_POSITIVE:
            order, now, before = self._begin(session, actor, order_id, "dismiss_as_false_alarm")
            order.analyst_verdict, order.disposition = verdict, Disposition.FALSE_ALARM
            order.closed_at = now
            return self._finish(session, actor, order, "dismiss_as_false_alarm", now, before,
                                disposition=Disposition.FALSE_ALARM, note=note,
                                data={"verdict": verdict})
        require(actor, ANALYSTS, "record analyst verdicts")
        order = load_order(session, actor, order_id, lock=True)
        now = self.clock()
        order.analyst_verdict = verdict
        log_action(session, order, kind=ActionKind.ANALYST_VERDICT, actor=actor, at=now,
                   note=note, data={"verdict": verdict})
        self._notify_update(session, order, now)
        self._check_false_alarm_conflict(session, actor, order, now)
        return order_view(order)

    # --- shared -------------------------------------------------------------------------
    def _begin(self, session: Session, actor: Actor, order_id: UUID,
               name: str) -> tuple[Order, datetime, OrderStatus]:
        step = STEPS[name]
        require(actor, step.roles, f"{name.replace('_', ' ')} orders")
        order = load_order(session, actor, order_id, lock=True)
        if step.roles == STAFF and order.department_id != actor.department_id:
            raise PermissionDenied(f"order {order.id} is with department "
                                   f"{order.department.code}; only its staff may {name} it")
        if order.status not in step.sources:
            raise TransitionError.refused(f"order {order.id}", name, sorted(step.sources),
                                          step.target, order.status,
                                          allowed_steps(order.status))
        before, order.status = order.status, step.target
        now = self.clock()
        # Re-plan at the next sweep: the running deadlines depend on the state.
        order.next_check_at = now if step.target in ACTIVE_STATES else None
        return order, now, before

    def _finish(self, session: Session, actor: Actor, order: Order, name: str, now: datetime,
                before: OrderStatus, *, disposition: Disposition | None = None,
                note: str = "", department: UUID | None = None,
                photos: Sequence[PhotoRef] = (),
                data: dict[str, object] | None = None) -> OrderView:
        log_action(session, order, kind=STEPS[name].action, actor=actor, at=now,
                   from_status=before, to_status=order.status, department_id=department,
                   disposition=disposition, note=note, photos=photos, data=data)
        self._notify_update(session, order, now)
        session.flush()
        session.expire(order, ["department", "escalated_to"])  # their ids may have changed
        return order_view(order)

    def _notify_update(self, session: Session, order: Order, now: datetime) -> None:
        kind = (NotificationKind.ORDER_DISPATCHED if order.status is OrderStatus.DISPATCHED
                else NotificationKind.ORDER_UPDATED)
        self.outbox.add(session, at=now, kind=kind, department_id=order.department_id,
                        order_id=order.id, payload=order_payload(order))

    def _new_round(self, order: Order, now: datetime) -> None:
        order.round += 1
        order.dispatched_at = now
        order.sign_due_at, order.resolve_due_at = self.policy.deadlines(order.type,
                                                                        order.severity, now)
        order.signed_at = order.started_at = order.feedback_at = None
        order.escalated_to_id = order.escalated_at = None

    def _check_false_alarm_conflict(self, session: Session, actor: Actor, order: Order,
                                    now: datetime) -> None:
        """The department reported a false alarm that an analyst confirmed as real."""
        if (order.feedback_at is not None and order.disposition is Disposition.FALSE_ALARM
                and order.analyst_verdict is AnalystVerdict.CONFIRMED):
            open_case(session, order=order, trigger=CaseTrigger.FALSE_ALARM_AGAINST_ANALYST,
                      actor=actor, at=now, outbox=self.outbox)

def _required(text: str, doing: str) -> str:
    if not text.strip():
        raise InvalidRequest(f"{doing}: a reason is required")
    return text.strip()
