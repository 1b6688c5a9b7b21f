"""Value types that cross the package boundary: the edge's event contract, inputs and views.

ORM classes stay inside ``dispatch``; callers send these validated models in and get frozen
views out, so the API layer never touches a session-bound object.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from fishwatch.common.strict import StrictModel
from fishwatch.common.vocabulary import EventType, EvidenceKind, FaultKind, Severity, WarningOutcome


class OrderStatus(StrEnum):
    DISPATCHED = "dispatched"
    SIGNED = "signed"
    IN_PROGRESS = "in_progress"
    FEEDBACK_SUBMITTED = "feedback_submitted"
    CLOSED = "closed"
    RETURNED = "returned"


#: States in which the department still has to act: deadlines run, reminders go out.
ACTIVE_STATES = frozenset({OrderStatus.DISPATCHED, OrderStatus.SIGNED, OrderStatus.IN_PROGRESS})


class Disposition(StrEnum):
    VIOLATION_CONFIRMED = "violation_confirmed"
    DISPERSED = "dispersed"
    NOT_FOUND = "not_found"
    FALSE_ALARM = "false_alarm"


class AnalystVerdict(StrEnum):
    CONFIRMED = "confirmed"
    FALSE_POSITIVE = "false_positive"


class ActionKind(StrEnum):
    """One line of an order's history."""

    DISPATCHED = "dispatched"
    EVENT_ATTACHED = "event_attached"
    SIGNED = "signed"
    STARTED = "started"
    FEEDBACK_SUBMITTED = "feedback_submitted"
    FEEDBACK_REJECTED = "feedback_rejected"
    CLOSED = "closed"
    RETURNED = "returned"
    REDISPATCHED = "redispatched"
    REOPENED = "reopened"
    ANALYST_VERDICT = "analyst_verdict"
    REMINDED = "reminded"
    OVERDUE = "overdue"
    CHASED = "chased"
    ESCALATED = "escalated"


class ReminderPhase(StrEnum):
    SIGN = "sign"
    RESOLVE = "resolve"


class ReminderKind(StrEnum):
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    CHASE = "chase"
    ESCALATION = "escalation"


class CaseStatus(StrEnum):
    PRELIMINARY_CHECK = "preliminary_check"
    FILED = "filed"
    CONCLUDED = "concluded"
    DISMISSED = "dismissed"


class CaseTrigger(StrEnum):
    """Why a commission case was opened."""

    SUBJECT = "subject"  # the person caught is a party member or public official
    OVERDUE = "overdue"
    REPEATED_RETURNS = "repeated_returns"
    FALSE_ALARM_AGAINST_ANALYST = "false_alarm_against_analyst"


class DisciplinaryOutcome(StrEnum):
    """处分: the outcome a concluded case records."""

    NONE = "none"
    ADMONITION = "admonition"
    WARNING = "warning"
    SERIOUS_WARNING = "serious_warning"
    REMOVAL_FROM_POST = "removal_from_post"
    PROBATION = "probation"
    EXPULSION = "expulsion"


class Role(StrEnum):
    ADMIN = "admin"
    DISPATCHER = "dispatcher"
    DEPARTMENT_STAFF = "department_staff"
    ANALYST = "analyst"
    COMMISSION = "commission"
    AUDITOR = "auditor"
    #: The centre's own jobs (sweeps, ingest, CLI); never a user's role.
    SYSTEM = "system"


class NotificationKind(StrEnum):
    ORDER_DISPATCHED = "order.dispatched"
    ORDER_UPDATED = "order.updated"
    ORDER_EVENT_ATTACHED = "order.event_attached"
    ORDER_DUE_SOON = "order.due_soon"
    ORDER_OVERDUE = "order.overdue"
    ORDER_CHASED = "order.chased"
    ORDER_ESCALATED = "order.escalated"
    CASE_OPENED = "case.opened"
    CASE_UPDATED = "case.updated"

    @property
    def commission_only(self) -> bool:
        return self.value.startswith("case.")


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


def utc_now() -> datetime:
    """The default clock; services take a clock argument so tests can move time."""
    return datetime.now(UTC)


Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="lower-case hex SHA-256")]


class EvidenceRef(StrictModel):
    """An evidence file of an event (snapshot, clip); the bytes live behind the API's store."""

    kind: EvidenceKind
    sha256: Sha256
    size: Annotated[int, Field(ge=0, le=2**40)]
    content_type: Annotated[str, Field(pattern=r"^[\w.+-]+/[\w.+-]+$", max_length=100)]
    storage_key: Annotated[str, Field(min_length=1, max_length=512)]


class ModelInfo(StrictModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    version: Annotated[str, Field(min_length=1, max_length=100)]


class EventIn(StrictModel):
    """An alert from an edge box; ``event_id`` makes resends and updates idempotent.

    Example:
        >>> EventIn.model_validate_json(request_body)  # doctest: +SKIP
    """

    event_id: UUID
    device_id: Annotated[str, Field(min_length=1, max_length=100)]
    camera: Annotated[str, Field(min_length=1, max_length=100)]
    type: EventType
    severity: Severity
    start: AwareDatetime
    end: AwareDatetime | None = None
    confidence: Annotated[float, Field(ge=0, le=1)]
    track_ids: Annotated[list[int], Field(max_length=1000)] = []
    model: ModelInfo
    evidence: Annotated[list[EvidenceRef], Field(max_length=100)] = []
    outcome: WarningOutcome | None = None
    #: The uplink's revision of the event (1, 2, ...): one not above the stored one changes
    #: nothing. None for alerts from elsewhere, which are merged into a known event as they come.
    revision: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    zone: Annotated[str, Field(max_length=100)] = ""
    #: What failed, for a ``camera_fault`` only; ``detail`` is the measurement that showed it.
    fault: FaultKind | None = None
    detail: Annotated[str, Field(max_length=500)] = ""

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    @model_validator(mode="after")
    def _ends_after_start(self) -> EventIn:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end.isoformat()} is before start {self.start.isoformat()}")
        if self.type is not EventType.CAMERA_FAULT and (self.fault is not None or self.detail):
            raise ValueError(f"fault and detail belong to camera_fault events, not {self.type}")
        return self


class SubjectInfo(StrictModel):
    """The person caught, recorded only when the commission must review them."""

    name: Annotated[str, Field(min_length=1, max_length=100)]
    id_number: Annotated[str, Field(max_length=40)] | None = None
    phone: Annotated[str, Field(max_length=40)] | None = None
    employer: Annotated[str, Field(max_length=200)] | None = None
    position: Annotated[str, Field(max_length=200)] | None = None
    party_member: bool = False
    public_official: bool = False
    notes: Annotated[str, Field(max_length=2000)] = ""

    @model_validator(mode="after")
    def _reviewable(self) -> SubjectInfo:
        if not (self.party_member or self.public_official):
            raise ValueError("subject details are recorded only for party members or public "
                             "officials (for the discipline commission); leave subject out")
        return self


class FeedbackIn(StrictModel):
    """What the department found on site; ``photo_ids`` name photos recorded for the order
    (:func:`dispatch.photos.record_photo`)."""

    disposition: Disposition
    notes: Annotated[str, Field(max_length=4000)] = ""
    photo_ids: Annotated[list[UUID], Field(max_length=50)] = []
    subject: SubjectInfo | None = None


class View(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


class IngestOutcome(StrEnum):
    DISPATCHED = "dispatched"  # a new order was opened and routed
    ATTACHED = "attached"  # a new alert of an incident that already has an open order
    UPDATED = "updated"  # a known event_id with new facts (end time, outcome, evidence)
    UNCHANGED = "unchanged"  # a resend of a known event: nothing to do
    DUPLICATE = "duplicate"  # an uplink revision not above the stored one: nothing looked at


class IngestResult(View):
    event_id: UUID
    order_id: UUID
    outcome: IngestOutcome


class OrderView(View):
    id: UUID
    status: OrderStatus
    department: str
    escalated_to: str | None
    camera: str
    device: str
    place: str
    area: str
    grid: str
    type: EventType
    severity: Severity
    round: int
    dispatched_at: datetime
    sign_due_at: datetime
    resolve_due_at: datetime
    signed_at: datetime | None
    feedback_at: datetime | None
    closed_at: datetime | None
    disposition: Disposition | None
    analyst_verdict: AnalystVerdict | None
    return_count: int
    chase_count: int
    event_count: int
    first_event_at: datetime
    last_event_at: datetime


class PhotoRef(View):
    """A field photo named by a history line; the bytes live behind the API's store."""

    id: UUID
    sha256: Sha256
    size: int
    content_type: str
    storage_key: str


class ActionView(View):
    id: int
    at: datetime
    kind: ActionKind
    actor: str
    from_status: OrderStatus | None
    to_status: OrderStatus | None
    department: str | None
    disposition: Disposition | None
    note: str
    photos: list[PhotoRef]


class EventView(View):
    id: UUID
    order_id: UUID
    type: EventType
    severity: Severity
    start: datetime
    end: datetime | None
    confidence: float
    track_ids: list[int]
    model_name: str
    model_version: str
    outcome: WarningOutcome | None
    received_at: datetime
    evidence: list[EvidenceRef]


class CaseSummary(View):
    id: UUID
    order_id: UUID
    department: str
    trigger: CaseTrigger
    status: CaseStatus
    opened_at: datetime
    filed_at: datetime | None
    concluded_at: datetime | None
    outcome: DisciplinaryOutcome | None


class CaseView(CaseSummary):
    """A case with what only the commission reads: findings, history, subjects."""

    findings: str
    history: dict[str, Any]
    subjects: list[SubjectInfo]


class NotificationView(View):
    id: int
    at: datetime
    kind: NotificationKind
    order_id: UUID | None
    case_id: UUID | None
    department: str | None
    payload: dict[str, Any]


class AuditRecordView(View):
    seq: int
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    data: dict[str, Any]
    hash: str
