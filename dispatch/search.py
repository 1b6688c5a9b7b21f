"""Listings with filters and paging: orders and alerts, scoped to the reader like every read.

A listing returns one page and the number of matching records; its order is total (ties broken
by id), so pages neither repeat nor skip records while nothing changes. An alert outside the
reader's scope is not found, exactly like an order (:mod:`dispatch.inbox`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from dispatch.access import Actor, order_scope
from dispatch.errors import NotFound
from dispatch.inbox import (
    ORDER_VIEW_LOADS,
    Deadline,
    current_deadline,
    deadline_condition,
    load_order,
    order_view,
)
from dispatch.models import Camera, Department, Device, Event, Order
from dispatch.schemas import EventType, EventView, EvidenceRef, OrderStatus, OrderView

#: The longest page a listing returns.
MAX_PAGE = 500


class EventRecord(EventView):
    """An alert with where it was seen: box, camera and the zone its rule fired in."""

    device: str
    camera: str
    zone: str


def event_record(event: Event) -> EventRecord:
    return EventRecord(
        id=event.id, order_id=event.order_id, type=event.type, severity=event.severity,
        start=event.start_at, end=event.end_at, confidence=event.confidence,
        track_ids=event.track_ids, model_name=event.model_name,
        model_version=event.model_version, outcome=event.outcome,
        received_at=event.received_at, device=event.camera.device.code,
        camera=event.camera.name, zone=event.zone,
        evidence=[EvidenceRef(kind=x.kind, sha256=x.sha256, size=x.size,
                              content_type=x.content_type, storage_key=x.storage_key)
                  for x in event.evidence])


#: Eager loads of event records.
EVENT_LOADS = (selectinload(Event.evidence), joinedload(Event.camera).joinedload(Camera.device))


def order_event_records(session: Session, actor: Actor, order_id: UUID) -> list[EventRecord]:
    """The alerts of the order's incident, oldest first, with where they were seen."""
    load_order(session, actor, order_id)
    rows = session.scalars(sa.select(Event).options(*EVENT_LOADS)
                           .where(Event.order_id == order_id).order_by(Event.start_at, Event.id))
    return [event_record(e) for e in rows]


def get_event(session: Session, actor: Actor, event_id: UUID) -> EventRecord:
    """One alert, if its order is in the reader's scope (else not found)."""
    row = session.scalar(sa.select(Event).options(*EVENT_LOADS).join(Order)
                         .where(Event.id == event_id, order_scope(actor)))
    if row is None:
        raise NotFound(f"no event {event_id}")
    return event_record(row)


@dataclass(frozen=True)
class EventFilter:
    """Which alerts a listing shows: by start time [since, until), place and type."""

    order_id: UUID | None = None
    type: EventType | None = None
    device: str | None = None
    camera: str | None = None
    zone: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def find_events(session: Session, actor: Actor, where: EventFilter, *, limit: int = 50,
                offset: int = 0) -> tuple[list[EventRecord], int]:
    """One page of the alerts whose orders ``actor`` may see, newest first, and the total."""
    conditions: list[Any] = [order_scope(actor)]
    for column, value in [(Event.order_id, where.order_id), (Event.type, where.type),
                          (Device.code, where.device), (Camera.name, where.camera),
                          (Event.zone, where.zone)]:
        if value is not None:
            conditions.append(column == value)
    if where.since is not None:
        conditions.append(Event.start_at >= where.since)
    if where.until is not None:
        conditions.append(Event.start_at < where.until)
    joined = (sa.select(Event).join(Order, Event.order_id == Order.id)
              .join(Camera, Event.camera_id == Camera.id).join(Device))
    total = session.scalar(sa.select(sa.func.count())
                           .select_from(joined.where(*conditions).subquery()))
    rows = session.scalars(joined.options(*EVENT_LOADS).where(*conditions)
                           .order_by(Event.start_at.desc(), Event.id)
                           .limit(min(limit, MAX_PAGE)).offset(offset))
    return [event_record(e) for e in rows], total or 0


class OrderSort(StrEnum):
    NEWEST = "newest"  # latest dispatch first
    OLDEST = "oldest"
    DEADLINE = "deadline"  # earliest current deadline first; orders without one last


@dataclass(frozen=True)
class OrderFilter:
    """Which orders a listing shows; every field narrows, None/empty means any.

    ``since``/``until`` bound the (latest) dispatch time, half-open like the ledgers';
    ``deadline`` compares the current phase's deadline (signing while dispatched, feedback
    while signed or in progress) with ``now``; due soon means within ``due_within``.
    """

    statuses: Collection[OrderStatus] = ()
    department: str | None = None
    type: EventType | None = None
    device: str | None = None
    camera: str | None = None
    zone: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    deadline: Deadline | None = None
    due_within: timedelta = timedelta(hours=1)


def _conditions(where: OrderFilter, now: datetime) -> list[Any]:
    conditions: list[Any] = []
    if where.statuses:
        conditions.append(Order.status.in_(list(where.statuses)))
    if where.department is not None:
        conditions.append(Order.department_id.in_(
            sa.select(Department.id).where(Department.code == where.department)))
    if where.type is not None:
        conditions.append(Order.type == where.type)
    if where.device is not None or where.camera is not None:
        cameras = sa.select(Camera.id).join(Device)
        if where.device is not None:
            cameras = cameras.where(Device.code == where.device)
        if where.camera is not None:
            cameras = cameras.where(Camera.name == where.camera)
        conditions.append(Order.camera_id.in_(cameras))
    if where.zone is not None:
        conditions.append(sa.exists().where(Event.order_id == Order.id, Event.zone == where.zone))
    if where.since is not None:
        conditions.append(Order.dispatched_at >= where.since)
    if where.until is not None:
        conditions.append(Order.dispatched_at < where.until)
    if where.deadline is not None:
        conditions.append(deadline_condition(where.deadline, now, where.due_within))
    return conditions


def find_orders(session: Session, actor: Actor, where: OrderFilter, *, now: datetime,
                sort: OrderSort = OrderSort.NEWEST, limit: int = 50,
                offset: int = 0) -> tuple[list[OrderView], int]:
    """One page of the orders ``actor`` may see that match ``where``, and how many match.

    The order is total (ties broken by id), so pages neither repeat nor skip rows while
    nothing changes.

    Example:
        >>> find_orders(session, staff, OrderFilter(deadline=Deadline.OVERDUE), now=now)
        ... # doctest: +SKIP
    """
    conditions = [order_scope(actor), *_conditions(where, now)]
    total = session.scalar(sa.select(sa.func.count()).select_from(Order).where(*conditions))
    keys = {OrderSort.NEWEST: (Order.dispatched_at.desc(), Order.id),
            OrderSort.OLDEST: (Order.dispatched_at, Order.id),
            OrderSort.DEADLINE: (current_deadline().is_(None), current_deadline(), Order.id)}
    rows = session.scalars(sa.select(Order).options(*ORDER_VIEW_LOADS).where(*conditions)
                           .order_by(*keys[sort]).limit(min(limit, MAX_PAGE)).offset(offset))
    return [order_view(o) for o in rows], total or 0
