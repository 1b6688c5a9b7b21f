"""The analysts' review queue: alerts with their evidence, and what each analyst said of them.

An analyst's verdict is a history line of the order (``analyst_verdict``; a false positive also
closes the order as a false alarm, see :meth:`dispatch.orders.OrderService.record_verdict`).
The queue reads those lines per analyst, so each analyst sees what *they* have reviewed even
where a colleague already judged the same order. Camera faults are not judged here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from dispatch.access import Actor, order_scope, require
from dispatch.inbox import ORDER_VIEW_LOADS, order_view
from dispatch.models import Camera, Event, Order, OrderAction
from dispatch.schemas import (
    ActionKind,
    AnalystVerdict,
    Disposition,
    EventType,
    EvidenceKind,
    EvidenceRef,
    OrderView,
    Role,
    View,
)

#: Who may read the queue (analysts act on it; the others look over their shoulder).
REVIEW_READERS = frozenset({Role.ANALYST, Role.ADMIN, Role.AUDITOR})


@dataclass(frozen=True)
class ReviewFilter:
    """Which alerts: camera name, a half-open period [since, until) of the incident's first
    alert, event type, and a zone that one of its alerts was raised in."""

    camera: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    type: EventType | None = None
    zone: str | None = None


class ReviewItem(View):
    """An order to judge: its latest alert's evidence and the reader's own verdict on it."""

    order: OrderView
    event_id: UUID
    zone: str
    snapshot: EvidenceRef | None
    clip: EvidenceRef | None
    my_verdict: AnalystVerdict | None
    my_note: str
    my_verdict_at: datetime | None


def _verdict_lines(actor: Actor) -> sa.Select:
    return sa.select(OrderAction).where(OrderAction.kind == ActionKind.ANALYST_VERDICT,
                                        OrderAction.actor_id == actor.user_id)


def review_queue(session: Session, actor: Actor, where: ReviewFilter = ReviewFilter(), *,
                 reviewed: bool = False, limit: int = 50, offset: int = 0) -> list[ReviewItem]:
    """Orders with alerts the reader has not judged yet (``reviewed=False``, newest alert
    first) or has judged (``reviewed=True``, with their verdict).

    Example:
        >>> review_queue(session, analyst, ReviewFilter(camera="cam-n1"))  # doctest: +SKIP
    """
    require(actor, REVIEW_READERS, "read the review queue")
    query = (sa.select(Order).options(*ORDER_VIEW_LOADS)
             .join(Camera, Order.camera_id == Camera.id)
             .where(*_queue_conditions(actor, where, reviewed)))
    orders = session.scalars(query.order_by(Order.last_event_at.desc(), Order.id)
                             .limit(min(limit, 500)).offset(offset)).unique().all()
    return _items(session, actor, orders)


def review_count(session: Session, actor: Actor, where: ReviewFilter = ReviewFilter(), *,
                 reviewed: bool = False) -> int:
    """How many orders :func:`review_queue` lists over all its pages."""
    require(actor, REVIEW_READERS, "read the review queue")
    return session.scalar(sa.select(sa.func.count()).select_from(Order)
                          .join(Camera, Order.camera_id == Camera.id)
                          .where(*_queue_conditions(actor, where, reviewed))) or 0


def _queue_conditions(actor: Actor, where: ReviewFilter, reviewed: bool | None) -> list[Any]:
    """The queue's WHERE clause (the query joins the order's Camera); ``reviewed`` keeps the
    orders the reader has (True) or has not (False) judged, None either."""
    conditions: list[Any] = [order_scope(actor), Order.type != EventType.CAMERA_FAULT]
    if reviewed is not None:
        mine = _verdict_lines(actor).where(OrderAction.order_id == Order.id).exists()
        conditions.append(mine if reviewed else sa.not_(mine))
    if where.camera is not None:
        conditions.append(Camera.name == where.camera)
    if where.since is not None:
        conditions.append(Order.first_event_at >= where.since)
    if where.until is not None:
        conditions.append(Order.first_event_at < where.until)
    if where.type is not None:
        conditions.append(Order.type == where.type)
    if where.zone is not None:
        # Correlated to the order only: the data-set query also selects from events.
        conditions.append(sa.select(Event.id).where(Event.order_id == Order.id,
                                                    Event.zone == where.zone)
                          .correlate(Order).exists())
    return conditions


def _items(session: Session, actor: Actor, orders: Sequence[Order]) -> list[ReviewItem]:
    ids = [o.id for o in orders]
    latest: dict[UUID, Event] = {}
    for event in session.scalars(sa.select(Event).options(selectinload(Event.evidence))
                                 .where(Event.order_id.in_(ids)).order_by(Event.start_at)):
        latest[event.order_id] = event
    verdicts: dict[UUID, OrderAction] = {
        line.order_id: line for line in session.scalars(
            _verdict_lines(actor).where(OrderAction.order_id.in_(ids)).order_by(OrderAction.id))}
    items = []
    for order in orders:
        event = latest[order.id]
        files = {x.kind: EvidenceRef(kind=x.kind, sha256=x.sha256, size=x.size,
                                     content_type=x.content_type, storage_key=x.storage_key)
                 for x in event.evidence}
        line = verdicts.get(order.id)
        items.append(ReviewItem(
            order=order_view(order), event_id=event.id, zone=event.zone,
            snapshot=files.get(EvidenceKind.SNAPSHOT), clip=files.get(EvidenceKind.CLIP),
            my_verdict=None if line is None else (
                AnalystVerdict.FALSE_POSITIVE if line.disposition is Disposition.FALSE_ALARM
                else AnalystVerdict.CONFIRMED),
            my_note=line.note if line else "", my_verdict_at=line.at if line else None))
    return items


def review_choices(session: Session, actor: Actor) -> tuple[list[str], list[str]]:
    """The camera names and zones the filters offer."""
    require(actor, REVIEW_READERS, "read the review queue")
    cameras = session.scalars(sa.select(Camera.name).distinct().order_by(Camera.name)).all()
    zones = session.scalars(sa.select(Event.zone).where(Event.zone != "").distinct()
                            .order_by(Event.zone)).all()
    return list(cameras), list(zones)


class ReviewedSample(View):
    """One alert of an order an analyst judged: the verdict (the latest on the order), who
    gave it and why, and the alert's clean snapshot (None when the edge sent none)."""

    event_id: UUID
    order_id: UUID
    device: str
    camera: str
    zone: str
    type: EventType
    verdict: AnalystVerdict
    reason: str
    reviewer: str
    reviewed_at: datetime
    image: EvidenceRef | None


def reviewed_samples(session: Session, actor: Actor, where: ReviewFilter = ReviewFilter(), *,
                     limit: int = 5000) -> list[ReviewedSample]:
    """The alerts of judged orders, oldest verdict first, for a training data set: each
    with its order's latest verdict and the unannotated snapshot the detector saw."""
    require(actor, REVIEW_READERS, "export reviewed alerts")
    latest = (sa.select(sa.func.max(OrderAction.id))
              .where(OrderAction.kind == ActionKind.ANALYST_VERDICT)
              .group_by(OrderAction.order_id).correlate(None).scalar_subquery())
    conditions = _queue_conditions(actor, where, reviewed=None)
    rows = session.execute(
        sa.select(Event, OrderAction, Order.analyst_verdict)
        .options(selectinload(Event.evidence), joinedload(Event.camera).joinedload(Camera.device))
        .join(Order, Event.order_id == Order.id)
        .join(Camera, Order.camera_id == Camera.id)
        .join(OrderAction, sa.and_(OrderAction.order_id == Order.id, OrderAction.id.in_(latest)))
        .where(Order.analyst_verdict.is_not(None), *conditions)
        .order_by(OrderAction.id, Event.start_at, Event.id).limit(limit)).unique()
    samples = []
    for event, line, verdict in rows:
        assert verdict is not None  # judged orders only
        clean = next((x for x in event.evidence if x.kind is EvidenceKind.SNAPSHOT_CLEAN), None)
        samples.append(ReviewedSample(
            event_id=event.id, order_id=event.order_id, device=event.camera.device.code,
            camera=event.camera.name, zone=event.zone, type=event.type, verdict=verdict,
            reason=line.note, reviewer=line.actor, reviewed_at=line.at,
            image=None if clean is None else EvidenceRef(
                kind=clean.kind, sha256=clean.sha256, size=clean.size,
                content_type=clean.content_type, storage_key=clean.storage_key)))
    return samples
