"""Ledgers (台账) of alerts, orders and commission cases, as CSV or XLSX, streamed.

A ledger is a header and a lazy row iterator over a filtered query (period, area,
department, event type), scoped to the acting user like every other read. Times are UTC.
Cells that a spreadsheet would run as a formula (starting with = + - @) are written with a
leading apostrophe. The cases ledger is the commission's alone, carries no personal data,
and its export is an audit record.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import IO, Any, TypeVar

import sqlalchemy as sa
from openpyxl import Workbook
from sqlalchemy.orm import Session, aliased

from dispatch import audit
from dispatch.access import Actor, order_scope, require
from dispatch.audit import COMMISSION_ENTITY
from dispatch.models import Camera, CommissionCase, Department, Device, Event, Evidence, Order
from dispatch.schemas import EventType, Role

Selection = TypeVar("Selection", bound=sa.Select)

#: Rows fetched per round trip while streaming a ledger.
STREAM_BATCH = 2000


@dataclass(frozen=True)
class LedgerFilter:
    """Which records: a half-open period [since, until) and optional exact matches."""

    since: datetime | None = None
    until: datetime | None = None
    area: str | None = None
    department: str | None = None
    type: EventType | None = None

    def apply(self, query: Selection, when: Any, event_type: Any) -> Selection:
        """Filter a query that already joins the order's Camera and Department."""
        if self.since is not None:
            query = query.where(when >= self.since)
        if self.until is not None:
            query = query.where(when < self.until)
        if self.area is not None:
            query = query.where(Camera.area == self.area)
        if self.department is not None:
            query = query.where(Department.code == self.department)
        if self.type is not None:
            query = query.where(event_type == self.type)
        return query


@dataclass(frozen=True)
class Ledger:
    title: str
    columns: tuple[str, ...]
    rows: Iterable[tuple[Any, ...]]


def _stream(session: Session, query: sa.Select) -> Iterator[tuple[Any, ...]]:
    for row in session.execute(query, execution_options={"yield_per": STREAM_BATCH}):
        yield tuple(row)


def alerts_ledger(session: Session, actor: Actor, where: LedgerFilter) -> Ledger:
    """Every alert received, by start time."""
    evidence = (sa.select(sa.func.count()).where(Evidence.event_id == Event.id)
                .correlate(Event).scalar_subquery())
    query = (sa.select(Event.id, Event.start_at, Event.end_at, Device.code, Camera.name,
                       Camera.place, Camera.area, Camera.grid, Event.type, Event.severity,
                       Event.confidence, Event.outcome, Event.model_name, Event.model_version,
                       evidence, Event.order_id, Department.code, Order.status,
                       Event.received_at)
             .join(Order, Event.order_id == Order.id)
             .join(Camera, Event.camera_id == Camera.id).join(Device)
             .join(Department, Order.department_id == Department.id)
             .where(order_scope(actor)))
    query = where.apply(query, Event.start_at, Event.type).order_by(Event.start_at, Event.id)
    return Ledger("alerts", ("event_id", "start_utc", "end_utc", "device", "camera", "place",
                             "area", "grid", "type", "severity", "confidence",
                             "warning_outcome", "model", "model_version", "evidence_files",
                             "order_id", "department", "order_status", "received_utc"),
                  _stream(session, query))


def orders_ledger(session: Session, actor: Actor, where: LedgerFilter) -> Ledger:
    """Every work order, by (latest) dispatch time."""
    escalated = aliased(Department)
    query = (sa.select(Order.id, Order.dispatched_at, Department.code, Camera.area, Camera.grid,
                       Camera.place, Camera.name, Order.type, Order.severity, Order.status,
                       Order.round, Order.sign_due_at, Order.signed_at, Order.resolve_due_at,
                       Order.feedback_at, Order.closed_at, Order.disposition,
                       Order.analyst_verdict, Order.event_count, Order.return_count,
                       Order.chase_count, Order.first_overdue_at, escalated.code)
             .join(Camera, Order.camera_id == Camera.id)
             .join(Department, Order.department_id == Department.id)
             .outerjoin(escalated, Order.escalated_to_id == escalated.id)
             .where(order_scope(actor)))
    query = where.apply(query, Order.dispatched_at, Order.type).order_by(Order.dispatched_at,
                                                                         Order.id)
    return Ledger("orders", ("order_id", "dispatched_utc", "department", "area", "grid",
                             "place", "camera", "type", "severity", "status", "round",
                             "sign_due_utc", "signed_utc", "resolve_due_utc", "feedback_utc",
                             "closed_utc", "disposition", "analyst_verdict", "alerts",
                             "returns", "chases", "first_overdue_utc", "escalated_to"),
                  _stream(session, query))


def cases_ledger(session: Session, actor: Actor, where: LedgerFilter, *,
                 at: datetime) -> Ledger:
    """The commission's cases, by opening time; no personal data."""
    require(actor, {Role.COMMISSION}, "export the commission's ledger")
    query = (sa.select(CommissionCase.id, CommissionCase.opened_at, CommissionCase.order_id,
                       Department.code, Camera.area, Order.type, CommissionCase.trigger,
                       CommissionCase.status, CommissionCase.filed_at,
                       CommissionCase.concluded_at, CommissionCase.outcome)
             .join(Order, CommissionCase.order_id == Order.id)
             .join(Camera, Order.camera_id == Camera.id)
             .join(Department, CommissionCase.department_id == Department.id))
    query = where.apply(query, CommissionCase.opened_at, Order.type).order_by(
        CommissionCase.opened_at, CommissionCase.id)
    audit.record(session, at=at, actor=actor, action="case.ledger_exported",
                 entity_type=COMMISSION_ENTITY, entity_id="*",
                 data={"since": where.since, "until": where.until, "area": where.area,
                       "department": where.department, "type": where.type})
    return Ledger("cases", ("case_id", "opened_utc", "order_id", "department", "area", "type",
                            "trigger", "status", "filed_utc", "concluded_utc", "outcome"),
                  _stream(session, query))


def _cell(value: Any) -> Any:
    """A value as a spreadsheet should see it: plain types, UTC, no formulas."""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    if value is None or isinstance(value, (int, float, str)):
        return value
    return str(value)


def write_csv(ledger: Ledger, stream: IO[str]) -> int:
    """Write the ledger as CSV (UTF-8 text, ISO times); returns the number of rows."""
    writer = csv.writer(stream)
    writer.writerow(ledger.columns)
    count = 0
    for row in ledger.rows:
        writer.writerow("" if v is None else (v.isoformat(sep=" ") if isinstance(v, datetime)
                                              else v) for v in map(_cell, row))
        count += 1
    return count


def write_xlsx(ledger: Ledger, path: Path | IO[bytes]) -> int:
    """Write the ledger as one XLSX sheet (constant memory); returns the number of rows."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(ledger.title)
    sheet.append(list(ledger.columns))
    count = 0
    for row in ledger.rows:
        sheet.append([_cell(v) for v in row])
        count += 1
    workbook.save(path)
    return count
