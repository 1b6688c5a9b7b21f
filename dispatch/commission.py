"""The discipline commission: cases opened from orders, visible to the commission only.

A case opens when feedback names a subject who is a party member or public official, or
when a department's handling is improper (overdue beyond the threshold, returned too often,
closed as a false alarm although the analyst confirmed it). It carries a frozen copy of the
order's whole history at opening. Its own states: preliminary check → filed (立案) →
concluded with a disciplinary outcome (处分), or preliminary check → dismissed.

Visibility: this module is the only code that reads ``case_subjects`` and the cases' contents
(the cases ledger and the count of filed cases read states and dates, also for the
commission only); every function here requires the commission role, and every read of a
case is itself an audit record. Subjects and findings are encrypted at rest
(:mod:`dispatch.crypto`); audit records and notifications about cases carry ids, states and
triggers only, never personal data.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from dispatch import audit
from dispatch.access import Actor, require
from dispatch.audit import COMMISSION_ENTITY, canonical_json
from dispatch.crypto import PersonalDataCipher
from dispatch.errors import InvalidRequest, NotFound, TransitionError
from dispatch.models import CaseSubject, CommissionCase, Event, Order, OrderAction
from dispatch.notifications import Outbox
from dispatch.schemas import (
    CaseStatus,
    CaseSummary,
    CaseTrigger,
    CaseView,
    DisciplinaryOutcome,
    NotificationKind,
    Role,
    SubjectInfo,
    utc_now,
)
from dispatch.settings import DispatchConfig

COMMISSION = frozenset({Role.COMMISSION})


class OpenedCase(NamedTuple):
    id: UUID
    #: False when the order already had a case for this trigger.
    new: bool


def open_case(session: Session, *, order: Order, trigger: CaseTrigger, actor: Actor,
              at: datetime, outbox: Outbox, cipher: PersonalDataCipher | None = None,
              subject: SubjectInfo | None = None) -> OpenedCase:
    """Open the order's case for ``trigger`` (once per order and trigger); add ``subject``.

    Called with the order's row locked, so two callers cannot open the same case twice.
    """
    case = session.scalar(sa.select(CommissionCase).where(CommissionCase.order_id == order.id,
                                                          CommissionCase.trigger == trigger))
    new = case is None
    if case is None:
        case = CommissionCase(order_id=order.id, department_id=order.department_id,
                              trigger=trigger, status=CaseStatus.PRELIMINARY_CHECK,
                              opened_at=at, history=canonical_json(history_snapshot(session,
                                                                                    order, at)))
        session.add(case)
        session.flush()
        audit.record(session, at=at, actor=actor, action="case.opened",
                     entity_type=COMMISSION_ENTITY, entity_id=case.id,
                     data={"order_id": order.id, "trigger": trigger,
                           "department_id": order.department_id})
        outbox.add(session, at=at, kind=NotificationKind.CASE_OPENED, order_id=order.id,
                   case_id=case.id, payload={"case_id": case.id, "order_id": order.id,
                                             "trigger": trigger, "status": case.status})
    if subject is not None:
        if cipher is None:
            raise InvalidRequest("a subject can only be recorded with the personal data key")
        session.add(CaseSubject(case_id=case.id, recorded_at=at,
                                data_enc=cipher.encrypt(subject.model_dump_json())))
        audit.record(session, at=at, actor=actor, action="case.subject_recorded",
                     entity_type=COMMISSION_ENTITY, entity_id=case.id)
    return OpenedCase(case.id, new)


def history_snapshot(session: Session, order: Order, at: datetime) -> dict[str, Any]:
    """The order, its events and every history line, as they stand at ``at``."""
    session.flush()
    camera = order.camera
    actions = session.scalars(sa.select(OrderAction).where(OrderAction.order_id == order.id)
                              .order_by(OrderAction.id))
    events = session.scalars(sa.select(Event).where(Event.order_id == order.id)
                             .order_by(Event.start_at))
    return {
        "taken_at": at,
        "order": {
            "id": order.id, "status": order.status, "department": order.department.code,
            "device": camera.device.code, "camera": camera.name, "place": camera.place,
            "area": camera.area, "grid": camera.grid, "type": order.type,
            "severity": order.severity, "round": order.round,
            "dispatched_at": order.dispatched_at, "sign_due_at": order.sign_due_at,
            "resolve_due_at": order.resolve_due_at, "signed_at": order.signed_at,
            "feedback_at": order.feedback_at, "closed_at": order.closed_at,
            "disposition": order.disposition, "analyst_verdict": order.analyst_verdict,
            "return_count": order.return_count, "chase_count": order.chase_count,
            "first_overdue_at": order.first_overdue_at, "escalated_at": order.escalated_at,
        },
        "events": [{"id": e.id, "start": e.start_at, "end": e.end_at, "type": e.type,
                    "severity": e.severity, "confidence": e.confidence, "outcome": e.outcome,
                    "evidence": [{"kind": x.kind, "sha256": x.sha256,
                                  "storage_key": x.storage_key} for x in e.evidence]}
                   for e in events],
        "actions": [{"at": a.at, "kind": a.kind, "actor": a.actor, "from": a.from_status,
                     "to": a.to_status, "disposition": a.disposition, "note": a.note,
                     "photos": a.photos} for a in actions],
    }


@dataclass(frozen=True)
class _Step:
    name: str
    sources: frozenset[CaseStatus]
    target: CaseStatus


STEPS = {step.name: step for step in [
    _Step("file", frozenset({CaseStatus.PRELIMINARY_CHECK}), CaseStatus.FILED),
    _Step("dismiss", frozenset({CaseStatus.PRELIMINARY_CHECK}), CaseStatus.DISMISSED),
    _Step("conclude", frozenset({CaseStatus.FILED}), CaseStatus.CONCLUDED),
]}


class CommissionService:
    """The commission's work on its cases; every call requires the commission role.

    Example:
        >>> cases = CommissionService(config, clock=clock)  # doctest: +SKIP
        >>> cases.file_case(session=session, actor=member, case_id=case_id,
        ...                 reason="subject confirmed as a township official")
    """

    def __init__(self, config: DispatchConfig, *,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.cipher = PersonalDataCipher.from_config(config)
        self.outbox = Outbox(config.webhooks)
        self.clock = clock

    def list_cases(self, *, session: Session, actor: Actor, status: CaseStatus | None = None,
                   order_id: UUID | None = None, limit: int = 100,
                   offset: int = 0) -> list[CaseSummary]:
        """Cases, newest first; the listing is recorded in the audit trail."""
        require(actor, COMMISSION, "list commission cases")
        query = (sa.select(CommissionCase).options(joinedload(CommissionCase.department))
                 .where(*_case_filter(status, order_id)))
        rows = session.scalars(query.order_by(CommissionCase.opened_at.desc(),
                                              CommissionCase.id)
                               .limit(min(limit, 1000)).offset(offset)).all()
        audit.record(session, at=self.clock(), actor=actor, action="case.listed",
                     entity_type=COMMISSION_ENTITY, entity_id="*",
                     data={"cases": [r.id for r in rows]})
        return [_summary(r) for r in rows]

    def count_cases(self, *, session: Session, actor: Actor, status: CaseStatus | None = None,
                    order_id: UUID | None = None) -> int:
        """How many cases :meth:`list_cases` lists over all its pages."""
        require(actor, COMMISSION, "count commission cases")
        return session.scalar(sa.select(sa.func.count()).select_from(CommissionCase)
                              .where(*_case_filter(status, order_id))) or 0

    def get_case(self, *, session: Session, actor: Actor, case_id: UUID) -> CaseView:
        """One case with its subjects and findings, decrypted; the read is audited."""
        require(actor, COMMISSION, "read commission cases")
        case = self._load(session, case_id, lock=False)
        audit.record(session, at=self.clock(), actor=actor, action="case.read",
                     entity_type=COMMISSION_ENTITY, entity_id=case.id)
        return self._view(case)

    def file_case(self, *, session: Session, actor: Actor, case_id: UUID,
                  reason: str) -> CaseView:
        """立案: the preliminary check found grounds for a formal case."""
        return self._step(session, actor, case_id, "file", reason)

    def dismiss_case(self, *, session: Session, actor: Actor, case_id: UUID,
                     reason: str) -> CaseView:
        """The preliminary check found no grounds; the case ends without filing."""
        return self._step(session, actor, case_id, "dismiss", reason)

    def conclude_case(self, *, session: Session, actor: Actor, case_id: UUID,
                      outcome: DisciplinaryOutcome, findings: str) -> CaseView:
        """结案 with the disciplinary outcome (处分)."""
        return self._step(session, actor, case_id, "conclude", findings, outcome)

    def _step(self, session: Session, actor: Actor, case_id: UUID, name: str, text: str,
              outcome: DisciplinaryOutcome | None = None) -> CaseView:
        step = STEPS[name]
        require(actor, COMMISSION, f"{name} commission cases")
        if not text.strip():
            raise InvalidRequest(f"{name}: a reason is required")
        case = self._load(session, case_id, lock=True)
        if case.status not in step.sources:
            allowed = [s.name for s in STEPS.values() if case.status in s.sources]
            raise TransitionError.refused(f"case {case.id}", name, sorted(step.sources),
                                          step.target, case.status, allowed)
        now = self.clock()
        before, case.status = case.status, step.target
        if step.target is CaseStatus.FILED:
            case.filed_at = now
        if step.target in (CaseStatus.CONCLUDED, CaseStatus.DISMISSED):
            case.concluded_at = now
        case.outcome = outcome
        findings = self._findings(case)
        line = f"{now.isoformat()} {actor.label} {name}: {text.strip()}"
        case.findings_enc = self.cipher.encrypt(f"{findings}\n{line}" if findings else line)
        audit.record(session, at=now, actor=actor, action=f"case.{step.target.value}",
                     entity_type=COMMISSION_ENTITY, entity_id=case.id,
                     data={"from": before, "to": step.target, "outcome": outcome})
        self.outbox.add(session, at=now, kind=NotificationKind.CASE_UPDATED, case_id=case.id,
                        order_id=case.order_id, payload={"case_id": case.id,
                                                         "status": case.status,
                                                         "outcome": outcome})
        return self._view(case)

    def _load(self, session: Session, case_id: UUID, *, lock: bool) -> CommissionCase:
        query = sa.select(CommissionCase).where(CommissionCase.id == case_id)
        case = session.scalar(query.with_for_update() if lock else query)
        if case is None:
            raise NotFound(f"no commission case {case_id}")
        return case

    def _findings(self, case: CommissionCase) -> str:
        return self.cipher.decrypt(case.findings_enc) if case.findings_enc else ""

    def _view(self, case: CommissionCase) -> CaseView:
        subjects = [SubjectInfo.model_validate_json(self.cipher.decrypt(s.data_enc))
                    for s in case.subjects]
        return CaseView(**_summary(case).model_dump(), findings=self._findings(case),
                        history=json.loads(case.history), subjects=subjects)


def _case_filter(status: CaseStatus | None, order_id: UUID | None) -> list[Any]:
    conditions: list[Any] = []
    if status is not None:
        conditions.append(CommissionCase.status == status)
    if order_id is not None:
        conditions.append(CommissionCase.order_id == order_id)
    return conditions


def _summary(case: CommissionCase) -> CaseSummary:
    return CaseSummary(id=case.id, order_id=case.order_id, department=case.department.code,
                       trigger=case.trigger, status=case.status, opened_at=case.opened_at,
                       filed_at=case.filed_at, concluded_at=case.concluded_at,
                       outcome=case.outcome)
