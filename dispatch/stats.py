"""Figures for the overview page, computed in the database (no rows pulled into Python).

Orders are counted in the period by their (latest) dispatch time, alerts by their start,
cases by their filing. Times to sign and to close run from the order's latest dispatch;
medians are the middle row(s) of the sorted durations, which both SQLite and PostgreSQL can
do. An order is overdue if the sweep ever found it so, or if it is past a deadline of its
current round now. The false-alarm rate is among closed orders.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dispatch.access import Actor, order_scope
from dispatch.inbox import Deadline, deadline_condition
from dispatch.ledgers import LedgerFilter
from dispatch.models import (
    Camera,
    CommissionCase,
    Department,
    Device,
    Event,
    Order,
    UTCDateTime,
)
from dispatch.schemas import Disposition, OrderStatus, Role, View


class Overview(View):
    since: datetime | None
    until: datetime | None
    alerts: int
    orders: int
    by_area: dict[str, int]
    by_type: dict[str, int]
    by_department: dict[str, int]
    median_minutes_to_sign: float | None
    median_minutes_to_close: float | None
    overdue_rate: float | None
    false_alarm_rate: float | None
    #: Cases filed (立案) in the period; None unless the reader is the commission.
    cases_filed: int | None


def seconds_between(session: Session, start: Any, end: Any) -> sa.ColumnElement[Any]:
    """``end - start`` in seconds, in the SQL of the session's database."""
    if session.get_bind().dialect.name == "postgresql":
        return sa.func.extract("epoch", end - start)
    return (sa.func.julianday(end) - sa.func.julianday(start)) * 86400.0


def overview(session: Session, actor: Actor, where: LedgerFilter, *, now: datetime) -> Overview:
    """The figures for what ``actor`` may see within ``where``.

    Example:
        >>> overview(session, dispatcher, LedgerFilter(since=may), now=now)  # doctest: +SKIP
    """
    base = (sa.select(Order.id).join(Camera, Order.camera_id == Camera.id)
            .join(Department, Order.department_id == Department.id).where(order_scope(actor)))
    scoped = where.apply(base, Order.dispatched_at, Order.type).subquery()
    in_scope = Order.id.in_(sa.select(scoped.c.id))

    def grouped(column: Any) -> dict[str, int]:
        query = (sa.select(column, sa.func.count()).select_from(Order)
                 .join(Camera, Order.camera_id == Camera.id)
                 .join(Department, Order.department_id == Department.id)
                 .where(in_scope).group_by(column).order_by(column))
        return {str(getattr(key, "value", key)): n for key, n in session.execute(query)}

    def median_minutes(start: Any, end: Any, *conditions: Any) -> float | None:
        duration = seconds_between(session, start, end)
        query = sa.select(duration).where(in_scope, end.is_not(None), *conditions)
        n = session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
        if not n:
            return None
        middle = session.scalars(query.order_by(duration).offset((n - 1) // 2)
                                 .limit(2 - n % 2)).all()
        return sum(middle) / len(middle) / 60

    stamp = sa.literal(now, UTCDateTime())
    overdue = sa.or_(Order.first_overdue_at.is_not(None),
                     sa.func.coalesce(Order.signed_at, Order.closed_at, stamp) > Order.sign_due_at,
                     sa.func.coalesce(Order.feedback_at, Order.closed_at, stamp)
                     > Order.resolve_due_at)
    closed = Order.status == OrderStatus.CLOSED
    total, overdue_n, closed_n, false_n = session.execute(
        sa.select(sa.func.count(), sa.func.count().filter(overdue), sa.func.count().filter(closed),
                  sa.func.count().filter(closed, Order.disposition == Disposition.FALSE_ALARM))
        .where(in_scope)).one()
    alerts = session.scalar(where.apply(
        sa.select(sa.func.count()).select_from(Event).join(Order, Event.order_id == Order.id)
        .join(Camera, Order.camera_id == Camera.id)
        .join(Department, Order.department_id == Department.id).where(order_scope(actor)),
        Event.start_at, Event.type))
    cases_filed = None
    if actor.role is Role.COMMISSION:
        cases_filed = session.scalar(where.apply(
            sa.select(sa.func.count()).select_from(CommissionCase)
            .join(Order, CommissionCase.order_id == Order.id)
            .join(Camera, Order.camera_id == Camera.id)
            .join(Department, CommissionCase.department_id == Department.id)
            .where(CommissionCase.filed_at.is_not(None)), CommissionCase.filed_at, Order.type))
    return Overview(
        since=where.since, until=where.until, alerts=alerts or 0, orders=total,
        by_area=grouped(Camera.area), by_type=grouped(Order.type),
        by_department=grouped(Department.code),
        median_minutes_to_sign=median_minutes(Order.dispatched_at, Order.signed_at),
        median_minutes_to_close=median_minutes(Order.dispatched_at, Order.closed_at, closed),
        overdue_rate=overdue_n / total if total else None,
        false_alarm_rate=false_n / closed_n if closed_n else None,
        cases_filed=cases_filed)


class Checkpoint(View):
    """A camera on the overview map with its orders in the period."""

    device: str
    camera: str
    place: str
    area: str
    lat: float | None
    lon: float | None
    orders: int
    open: int
    overdue: int


def checkpoints(session: Session, actor: Actor, where: LedgerFilter, *,
                now: datetime) -> list[Checkpoint]:
    """Every camera with the counts of the reader's orders from it in the period (cameras
    with none included, so the map shows quiet checkpoints too)."""
    late = deadline_condition(Deadline.OVERDUE, now)
    counted = where.apply(
        sa.select(Order.camera_id, sa.func.count().label("orders"),
                  sa.func.count().filter(Order.is_open()).label("open"),
                  sa.func.count().filter(Order.is_open(), late).label("overdue"))
        .join(Camera, Order.camera_id == Camera.id)
        .join(Department, Order.department_id == Department.id)
        .where(order_scope(actor)), Order.dispatched_at, Order.type
    ).group_by(Order.camera_id).subquery()
    rows = session.execute(
        sa.select(Device.code, Camera.name, Camera.place, Camera.area, Camera.lat, Camera.lon,
                  sa.func.coalesce(counted.c.orders, 0), sa.func.coalesce(counted.c.open, 0),
                  sa.func.coalesce(counted.c.overdue, 0))
        .join(Device, Camera.device_id == Device.id)
        .outerjoin(counted, counted.c.camera_id == Camera.id)
        .order_by(Device.code, Camera.name))
    return [Checkpoint(device=d, camera=c, place=p, area=a, lat=lat, lon=lon, orders=n,
                       open=o, overdue=late) for d, c, p, a, lat, lon, n, o, late in rows]


def daily_orders(session: Session, actor: Actor, where: LedgerFilter) -> dict[date, int]:
    """Orders dispatched per UTC day in the period (days without orders left out)."""
    if session.get_bind().dialect.name == "postgresql":
        day: Any = sa.cast(sa.func.timezone("UTC", Order.dispatched_at), sa.Date)
    else:
        day = sa.func.date(Order.dispatched_at)
    query = where.apply(
        sa.select(day.label("day"), sa.func.count())
        .join(Camera, Order.camera_id == Camera.id)
        .join(Department, Order.department_id == Department.id)
        .where(order_scope(actor)), Order.dispatched_at, Order.type)
    return {d if isinstance(d, date) else date.fromisoformat(d): n
            for d, n in session.execute(query.group_by(day).order_by(day))}
