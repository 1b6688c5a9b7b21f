"""Reading orders: the inbox, one order, its history and its events, scoped to the reader.

Every function takes the acting user and filters with :func:`dispatch.access.order_scope`:
an order outside the reader's scope is reported as not found, never as forbidden, so its
existence does not leak.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from dispatch.access import Actor, order_scope
from dispatch.errors import NotFound
from dispatch.models import Camera, Event, Order, OrderAction, UTCDateTime
from dispatch.registry import department_id
from dispatch.schemas import (
    ActionView,
    EventView,
    EvidenceRef,
    OrderStatus,
    OrderView,
    PhotoRef,
)

#: Eager loads that a list of order views needs (one query, no N+1).
ORDER_VIEW_LOADS = (joinedload(Order.department), joinedload(Order.escalated_to),
                    joinedload(Order.camera).joinedload(Camera.device))


def order_view(order: Order) -> OrderView:
    camera = order.camera
    return OrderView(
        id=order.id, status=order.status, department=order.department.code,
        escalated_to=order.escalated_to.code if order.escalated_to else None,
        camera=camera.name, device=camera.device.code, place=camera.place, area=camera.area,
        grid=camera.grid, type=order.type, severity=order.severity, round=order.round,
        dispatched_at=order.dispatched_at, sign_due_at=order.sign_due_at,
        resolve_due_at=order.resolve_due_at, signed_at=order.signed_at,
        feedback_at=order.feedback_at, closed_at=order.closed_at,
        disposition=order.disposition, analyst_verdict=order.analyst_verdict,
        return_count=order.return_count, chase_count=order.chase_count,
        event_count=order.event_count, first_event_at=order.first_event_at,
        last_event_at=order.last_event_at)


class Deadline(StrEnum):
    """Where an open order stands against the deadline of its current phase."""

    OVERDUE = "overdue"
    DUE_SOON = "due_soon"


def current_deadline() -> sa.ColumnElement[datetime]:
    """The deadline the department is working against now (signing while dispatched,
    feedback while signed or in progress); NULL once the dispatchers have the order."""
    return sa.case((Order.status == OrderStatus.DISPATCHED, Order.sign_due_at),
                   (Order.status.in_([OrderStatus.SIGNED, OrderStatus.IN_PROGRESS]),
                    Order.resolve_due_at), else_=sa.null())


def deadline_condition(deadline: Deadline, now: datetime,
                       due_within: timedelta = timedelta(hours=1)) -> sa.ColumnElement[bool]:
    """WHERE clause: the current deadline has passed at ``now`` (overdue), or comes within
    ``due_within`` of it (due soon)."""
    due, stamp = current_deadline(), sa.literal(now, UTCDateTime())
    if deadline is Deadline.OVERDUE:
        return due < stamp
    return sa.and_(due >= stamp, due < sa.literal(now + due_within, UTCDateTime()))


def inbox(session: Session, actor: Actor, *, department: str | None = None,
          statuses: Collection[OrderStatus] | None = None, deadline: Deadline | None = None,
          now: datetime | None = None, limit: int = 50, offset: int = 0) -> list[OrderView]:
    """Open orders the actor may see, most urgent (earliest resolve deadline) first.

    Department staff see their department's orders and those escalated to it; dispatchers
    and other readers see all and may narrow to one ``department``, a set of ``statuses``,
    or the orders overdue or due soon at ``now``.

    Example:
        >>> inbox(session, staff, statuses=[OrderStatus.DISPATCHED])  # doctest: +SKIP
        >>> inbox(session, staff, deadline=Deadline.OVERDUE, now=clock())  # doctest: +SKIP
    """
    query = sa.select(Order).options(*ORDER_VIEW_LOADS).where(order_scope(actor),
                                                              Order.is_open())
    if statuses:
        query = query.where(Order.status.in_(list(statuses)))
    if deadline is not None:
        if now is None:
            raise ValueError("a deadline filter needs the time it is judged at (now)")
        query = query.where(deadline_condition(deadline, now))
    if department is not None:
        query = query.where(Order.department_id == department_id(session, department))
    rows = session.scalars(query.order_by(Order.resolve_due_at, Order.id)
                           .limit(min(limit, 500)).offset(offset))
    return [order_view(o) for o in rows]


def load_order(session: Session, actor: Actor, order_id: UUID, *, lock: bool = False) -> Order:
    """The order if the actor may see it (locked for update when ``lock``)."""
    query = sa.select(Order).where(Order.id == order_id, order_scope(actor))
    order = session.scalar(query.with_for_update(of=Order) if lock else query)
    if order is None:
        raise NotFound(f"no order {order_id}")
    return order


def get_order(session: Session, actor: Actor, order_id: UUID) -> OrderView:
    return order_view(load_order(session, actor, order_id))


def order_history(session: Session, actor: Actor, order_id: UUID) -> list[ActionView]:
    """Every step of the order, oldest first."""
    load_order(session, actor, order_id)
    rows = session.scalars(sa.select(OrderAction).options(joinedload(OrderAction.department))
                           .where(OrderAction.order_id == order_id).order_by(OrderAction.id))
    return [ActionView(id=a.id, at=a.at, kind=a.kind, actor=a.actor, from_status=a.from_status,
                       to_status=a.to_status,
                       department=a.department.code if a.department else None,
                       disposition=a.disposition, note=a.note,
                       photos=[PhotoRef.model_validate(p) for p in a.photos]) for a in rows]


def order_events(session: Session, actor: Actor, order_id: UUID) -> list[EventView]:
    """The alerts of the order's incident, with their evidence references."""
    load_order(session, actor, order_id)
    rows = session.scalars(sa.select(Event).options(selectinload(Event.evidence))
                           .where(Event.order_id == order_id).order_by(Event.start_at))
    return [EventView(id=e.id, order_id=e.order_id, type=e.type, severity=e.severity,
                      start=e.start_at, end=e.end_at, confidence=e.confidence,
                      track_ids=e.track_ids, model_name=e.model_name,
                      model_version=e.model_version, outcome=e.outcome,
                      received_at=e.received_at,
                      evidence=[EvidenceRef(kind=x.kind, sha256=x.sha256, size=x.size,
                                            content_type=x.content_type,
                                            storage_key=x.storage_key) for x in e.evidence])
            for e in rows]
