"""The dispatch database: SQLAlchemy 2 ORM classes; Alembic (``dispatch/migrations``) owns the DDL.

Conventions: uuid keys made in Python, timezone-aware UTC timestamps (naive ones are refused),
enums stored as their string values with a CHECK, explicit ``ondelete``. Nothing is ever
deleted (the migration installs triggers that refuse DELETE), so foreign keys restrict.
Commission-only data lives in ``commission_cases`` and ``case_subjects``: only
``dispatch.commission`` reads them, and the cases ledger and count of filed cases, each
behind the commission role check; ``case_subjects`` only ``dispatch.commission``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from dispatch.schemas import (
    ActionKind,
    AnalystVerdict,
    CaseStatus,
    CaseTrigger,
    DeliveryStatus,
    DisciplinaryOutcome,
    Disposition,
    EventType,
    EvidenceKind,
    NotificationKind,
    OrderStatus,
    ReminderKind,
    ReminderPhase,
    Role,
    Severity,
    WarningOutcome,
)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """``timestamptz`` on PostgreSQL, text on SQLite; always an aware UTC datetime in Python."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()}: dispatch stores UTC-aware times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_type(enum: type[StrEnum], column: str) -> sa.Enum:
    """A VARCHAR holding the enum's values, with a CHECK named after the column (no PG enum)."""
    return sa.Enum(enum, native_enum=False, create_constraint=True, length=32, name=column,
                   values_callable=lambda e: [m.value for m in e], validate_strings=True)


#: Rows still being worked on; partial indexes use the same predicate, literally, so the
#: PostgreSQL planner can match them whatever the parameter binding.
OPEN_SQL = "status <> 'closed'"

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class Base(DeclarativeBase):
    #: Constraint names: CHECKs are named after their table and column (or a short name).
    metadata = sa.MetaData(naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    })
    type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012 (SQLAlchemy's own protocol)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def fk(target: str) -> sa.ForeignKey:
    """Nothing is deleted, so a reference never cascades: RESTRICT says so explicitly."""
    return sa.ForeignKey(target, ondelete="RESTRICT")


class Department(Base):
    """A routing unit (fishery enforcement team, police, IT); synced from the config."""

    __tablename__ = "departments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(sa.String(63), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    supervisor_id: Mapped[uuid.UUID | None] = mapped_column(fk("departments.id"))
    active: Mapped[bool] = mapped_column(default=True)

    supervisor: Mapped[Department | None] = relationship(remote_side=[id])


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint("role <> 'system'", name="not_system"),
        sa.CheckConstraint("role <> 'department_staff' OR department_id IS NOT NULL",
                           name="staff_department"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(sa.String(100), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[Role] = mapped_column(enum_type(Role, "role"))
    department_id: Mapped[uuid.UUID | None] = mapped_column(fk("departments.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    #: Argon2id hash; ``None`` until a password is set (such a user cannot log in).
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    #: Language of the pages for this user: ``zh`` or ``en``.
    language: Mapped[str] = mapped_column(sa.String(8), default="zh")


class UserSession(Base):
    """A browser login; only the hash of its cookie token is stored, so a leaked table
    cannot be replayed. Logout and expiry revoke it (rows are never deleted)."""

    __tablename__ = "user_sessions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(sa.String(64))
    user_id: Mapped[uuid.UUID] = mapped_column(fk("users.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    client: Mapped[str] = mapped_column(sa.String(200), default="")

    user: Mapped[User] = relationship()


class DeviceToken(Base):
    """A bearer token an edge box sends; stored as its sha256 (tokens are random, 256 bits)."""

    __tablename__ = "device_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    device_id: Mapped[uuid.UUID] = mapped_column(fk("devices.id"))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    label: Mapped[str] = mapped_column(sa.String(100), default="")
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(sa.String(120))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    device: Mapped[Device] = relationship()


class DeviceHeartbeat(Base):
    """The latest heartbeat of a box (one row per device, overwritten): fleet status."""

    __tablename__ = "device_heartbeats"

    device_id: Mapped[uuid.UUID] = mapped_column(fk("devices.id"), primary_key=True)
    received_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    software_version: Mapped[str] = mapped_column(sa.String(40), default="")
    model_name: Mapped[str] = mapped_column(sa.String(100), default="")
    model_version: Mapped[str] = mapped_column(sa.String(100), default="")
    cameras: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)

    device: Mapped[Device] = relationship()


class Device(Base):
    """An edge box, known by the ``device_id`` it sends."""

    __tablename__ = "devices"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(sa.String(100), unique=True)
    registered_at: Mapped[datetime]


class Camera(Base):
    __tablename__ = "cameras"
    __table_args__ = (
        sa.UniqueConstraint("device_id", "name"),
        sa.CheckConstraint("lat IS NULL OR (lat BETWEEN -90 AND 90)", name="lat"),
        sa.CheckConstraint("lon IS NULL OR (lon BETWEEN -180 AND 180)", name="lon"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    device_id: Mapped[uuid.UUID] = mapped_column(fk("devices.id"))
    name: Mapped[str] = mapped_column(sa.String(100))
    place: Mapped[str] = mapped_column(sa.String(200), default="")
    area: Mapped[str] = mapped_column(sa.String(100), default="")
    grid: Mapped[str] = mapped_column(sa.String(100), default="")
    lat: Mapped[float | None]
    lon: Mapped[float | None]

    device: Mapped[Device] = relationship()


class Order(Base):
    """A work order: one incident, one responsible department at a time."""

    __tablename__ = "work_orders"
    __table_args__ = (
        sa.Index("ix_orders_inbox", "department_id", "resolve_due_at",
                 postgresql_where=sa.text(OPEN_SQL), sqlite_where=sa.text(OPEN_SQL)),
        sa.Index("ix_orders_escalated", "escalated_to_id", "resolve_due_at",
                 postgresql_where=sa.text(f"{OPEN_SQL} AND escalated_to_id IS NOT NULL"),
                 sqlite_where=sa.text(f"{OPEN_SQL} AND escalated_to_id IS NOT NULL")),
        sa.Index("ix_orders_open_due", "resolve_due_at",
                 postgresql_where=sa.text(OPEN_SQL), sqlite_where=sa.text(OPEN_SQL)),
        sa.Index("ix_orders_incident", "camera_id", "type", "last_event_at",
                 postgresql_where=sa.text(OPEN_SQL), sqlite_where=sa.text(OPEN_SQL)),
        sa.Index("ix_orders_sweep", "next_check_at",
                 postgresql_where=sa.text("next_check_at IS NOT NULL"),
                 sqlite_where=sa.text("next_check_at IS NOT NULL")),
        sa.Index("ix_orders_department_dispatched", "department_id", "dispatched_at"),
        sa.Index("ix_orders_dispatched", "dispatched_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    department_id: Mapped[uuid.UUID] = mapped_column(fk("departments.id"))
    escalated_to_id: Mapped[uuid.UUID | None] = mapped_column(fk("departments.id"))
    camera_id: Mapped[uuid.UUID] = mapped_column(fk("cameras.id"))
    type: Mapped[EventType] = mapped_column(enum_type(EventType, "type"))
    severity: Mapped[Severity] = mapped_column(enum_type(Severity, "severity"))
    status: Mapped[OrderStatus] = mapped_column(enum_type(OrderStatus, "status"))
    round: Mapped[int] = mapped_column(default=1)
    dispatched_at: Mapped[datetime]
    sign_due_at: Mapped[datetime]
    resolve_due_at: Mapped[datetime]
    signed_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    feedback_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    disposition: Mapped[Disposition | None] = mapped_column(enum_type(Disposition, "disposition"))
    analyst_verdict: Mapped[AnalystVerdict | None] = mapped_column(
        enum_type(AnalystVerdict, "analyst_verdict"))
    return_count: Mapped[int] = mapped_column(default=0)
    chase_count: Mapped[int] = mapped_column(default=0)
    first_overdue_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    next_check_at: Mapped[datetime | None]
    first_event_at: Mapped[datetime]
    last_event_at: Mapped[datetime]
    event_count: Mapped[int] = mapped_column(default=1)

    department: Mapped[Department] = relationship(foreign_keys=[department_id])
    escalated_to: Mapped[Department | None] = relationship(foreign_keys=[escalated_to_id])
    camera: Mapped[Camera] = relationship()

    @classmethod
    def is_open(cls) -> sa.ColumnElement[bool]:
        """``status <> 'closed'`` with the literal inline, matching the partial indexes."""
        return cls.status != sa.literal_column("'closed'")


class Event(Base):
    """An alert from an edge box; its id is the edge's ``event_id`` (the idempotency key)."""

    __tablename__ = "events"
    __table_args__ = (
        sa.CheckConstraint("confidence BETWEEN 0 AND 1", name="confidence"),
        sa.Index("ix_events_order", "order_id"),
        sa.Index("ix_events_start", "start_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(fk("work_orders.id"))
    camera_id: Mapped[uuid.UUID] = mapped_column(fk("cameras.id"))
    type: Mapped[EventType] = mapped_column(enum_type(EventType, "type"))
    severity: Mapped[Severity] = mapped_column(enum_type(Severity, "severity"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime | None]
    confidence: Mapped[float]
    track_ids: Mapped[list[int]] = mapped_column(sa.JSON)
    model_name: Mapped[str] = mapped_column(sa.String(100))
    model_version: Mapped[str] = mapped_column(sa.String(100))
    outcome: Mapped[WarningOutcome | None] = mapped_column(enum_type(WarningOutcome, "outcome"))
    #: The uplink revision stored last (the centre ignores a revision not above it).
    revision: Mapped[int] = mapped_column(default=1)
    zone: Mapped[str] = mapped_column(sa.String(100), default="")
    #: For ``camera_fault`` events: offline, black, frozen, covered; and a human detail.
    fault: Mapped[str | None] = mapped_column(sa.String(40))
    detail: Mapped[str] = mapped_column(sa.String(500), default="")
    received_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    order: Mapped[Order] = relationship()
    camera: Mapped[Camera] = relationship()
    evidence: Mapped[list[Evidence]] = relationship(order_by="Evidence.id")


class Evidence(Base):
    """A reference to an evidence file of an event; the bytes are the API's store's."""

    __tablename__ = "evidence"
    __table_args__ = (sa.UniqueConstraint("event_id", "kind", "sha256"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(fk("events.id"))
    kind: Mapped[EvidenceKind] = mapped_column(enum_type(EvidenceKind, "kind"))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    content_type: Mapped[str] = mapped_column(sa.String(100))
    storage_key: Mapped[str] = mapped_column(sa.String(512))


class OrderAction(Base):
    """One step of an order's history: who did what, from which state to which."""

    __tablename__ = "order_actions"
    __table_args__ = (sa.Index("ix_order_actions_order", "order_id", "id"),)

    #: Increasing: orders lines that share a timestamp.
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[uuid.UUID] = mapped_column(fk("work_orders.id"))
    at: Mapped[datetime]
    kind: Mapped[ActionKind] = mapped_column(enum_type(ActionKind, "kind"))
    actor: Mapped[str] = mapped_column(sa.String(120))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(fk("users.id"))
    from_status: Mapped[OrderStatus | None] = mapped_column(enum_type(OrderStatus, "from_status"))
    to_status: Mapped[OrderStatus | None] = mapped_column(enum_type(OrderStatus, "to_status"))
    department_id: Mapped[uuid.UUID | None] = mapped_column(fk("departments.id"))
    disposition: Mapped[Disposition | None] = mapped_column(enum_type(Disposition, "disposition"))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    photos: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    event_id: Mapped[uuid.UUID | None] = mapped_column(fk("events.id"))

    order: Mapped[Order] = relationship()
    event: Mapped[Event | None] = relationship()
    department: Mapped[Department | None] = relationship()


class OrderPhoto(Base):
    """A photo a department took on site, uploaded while it works on the order and named in
    its feedback; the bytes are the API's store's, under ``storage_key``."""

    __tablename__ = "order_photos"
    __table_args__ = (sa.UniqueConstraint("order_id", "sha256"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    order_id: Mapped[uuid.UUID] = mapped_column(fk("work_orders.id"))
    storage_key: Mapped[str] = mapped_column(sa.String(512))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    content_type: Mapped[str] = mapped_column(sa.String(100))
    uploaded_by: Mapped[str] = mapped_column(sa.String(120))
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(fk("users.id"))
    uploaded_at: Mapped[datetime]


class Reminder(Base):
    """A reminder, overdue alarm, chase or escalation; unique per slot, so sent once."""

    __tablename__ = "reminders"
    __table_args__ = (sa.UniqueConstraint("order_id", "round", "phase", "kind", "seq"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    order_id: Mapped[uuid.UUID] = mapped_column(fk("work_orders.id"))
    round: Mapped[int]
    phase: Mapped[ReminderPhase] = mapped_column(enum_type(ReminderPhase, "phase"))
    kind: Mapped[ReminderKind] = mapped_column(enum_type(ReminderKind, "kind"))
    seq: Mapped[int]
    due_at: Mapped[datetime]
    sent_at: Mapped[datetime]
    department_id: Mapped[uuid.UUID | None] = mapped_column(fk("departments.id"))

    order: Mapped[Order] = relationship()


class CommissionCase(Base):
    """A discipline commission case; read only through ``dispatch.commission``."""

    __tablename__ = "commission_cases"
    __table_args__ = (sa.UniqueConstraint("order_id", "trigger"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    order_id: Mapped[uuid.UUID] = mapped_column(fk("work_orders.id"))
    department_id: Mapped[uuid.UUID] = mapped_column(fk("departments.id"))
    trigger: Mapped[CaseTrigger] = mapped_column(enum_type(CaseTrigger, "trigger"))
    status: Mapped[CaseStatus] = mapped_column(enum_type(CaseStatus, "status"))
    opened_at: Mapped[datetime]
    filed_at: Mapped[datetime | None]
    concluded_at: Mapped[datetime | None]
    outcome: Mapped[DisciplinaryOutcome | None] = mapped_column(
        enum_type(DisciplinaryOutcome, "outcome"))
    findings_enc: Mapped[str | None] = mapped_column(sa.Text)
    history: Mapped[str] = mapped_column(sa.Text)

    order: Mapped[Order] = relationship()
    department: Mapped[Department] = relationship()
    subjects: Mapped[list[CaseSubject]] = relationship(order_by="CaseSubject.recorded_at",
                                                       back_populates="case")


class CaseSubject(Base):
    """The person a case is about: party-member status and personal data, encrypted."""

    __tablename__ = "case_subjects"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(fk("commission_cases.id"))
    recorded_at: Mapped[datetime]
    data_enc: Mapped[str] = mapped_column(sa.Text)

    case: Mapped[CommissionCase] = relationship(back_populates="subjects")


class Notification(Base):
    """Outbox row: written in the transaction that caused it; its id is the stream cursor."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    kind: Mapped[NotificationKind] = mapped_column(enum_type(NotificationKind, "kind"))
    order_id: Mapped[uuid.UUID | None] = mapped_column(fk("work_orders.id"))
    case_id: Mapped[uuid.UUID | None] = mapped_column(fk("commission_cases.id"))
    department_id: Mapped[uuid.UUID | None] = mapped_column(fk("departments.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON)

    order: Mapped[Order | None] = relationship()
    case: Mapped[CommissionCase | None] = relationship()
    department: Mapped[Department | None] = relationship()


class Delivery(Base):
    """One notification to one webhook: retried until delivered or out of attempts."""

    __tablename__ = "deliveries"
    __table_args__ = (
        sa.UniqueConstraint("notification_id", "webhook"),
        sa.Index("ix_deliveries_due", "next_attempt_at",
                 postgresql_where=sa.text("status = 'pending'"),
                 sqlite_where=sa.text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    notification_id: Mapped[int] = mapped_column(fk("notifications.id"))
    webhook: Mapped[str] = mapped_column(sa.String(63))
    status: Mapped[DeliveryStatus] = mapped_column(enum_type(DeliveryStatus, "status"))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(sa.Text, default="")

    notification: Mapped[Notification] = relationship()


class AuditRecord(Base):
    """Append-only, hash-chained: ``hash`` covers this record and ``prev_hash``."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_entity", "entity_type", "entity_id"),)

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(sa.String(120))
    action: Mapped[str] = mapped_column(sa.String(60))
    entity_type: Mapped[str] = mapped_column(sa.String(40))
    entity_id: Mapped[str] = mapped_column(sa.String(64))
    data: Mapped[str] = mapped_column(sa.Text)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))


class AuditHead(Base):
    """The chain's single head row: its lock serialises appends across processes."""

    __tablename__ = "audit_head"
    __table_args__ = (sa.CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(sa.BigInteger)
    hash: Mapped[str] = mapped_column(sa.String(64))
