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
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

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
    mine = _verdict_lines(actor).where(OrderAction.order_id == Order.id).exists()
    query = (sa.select(Order).options(*ORDER_VIEW_LOADS)
             .join(Camera, Order.camera_id == Camera.id)
             .where(order_scope(actor), Order.type != EventType.CAMERA_FAULT,
                    mine if reviewed else sa.not_(mine)))
    if where.camera is not None:
        query = query.where(Camera.name == where.camera)
    if where.since is not None:
        query = query.where(Order.first_event_at >= where.since)
    if where.until is not None:
        query = query.where(Order.first_event_at < where.until)
    if where.type is not None:
        query = query.where(Order.type == where.type)
    if where.zone is not None:
        query = query.where(sa.select(Event.id).where(Event.order_id == Order.id,
                                                      Event.zone == where.zone).exists())
    orders = session.scalars(query.order_by(Order.last_event_at.desc(), Order.id)
                             .limit(min(limit, 500)).offset(offset)).unique().all()
    return _items(session, actor, orders)


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
