"""The discipline commission's cases: the board, one case with its subjects and findings,
filing (立案), dismissal and the conclusion with its outcome (处分).

Every route is the commission's alone. Subjects (name, ID number, phone, party membership)
leave the server only here; reading and listing cases is itself recorded in the audit trail,
so these GETs commit too.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.deps import CentreDep, SessionDep, allow
from api.schemas import ConcludeIn, Page, ReasonIn, operation_id
from dispatch.access import Actor
from dispatch.schemas import CaseStatus, CaseSummary, CaseView, Role

router = APIRouter(prefix="/api/v1/commission", tags=["commission"],
                   generate_unique_id_function=operation_id)

Member = Annotated[Actor, allow(Role.COMMISSION)]


@router.get("/cases")
def list_cases(actor: Member, centre: CentreDep, session: SessionDep,
               status: CaseStatus | None = None, order_id: UUID | None = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100,
               offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> Page[CaseSummary]:
    """Cases, newest first (states, triggers and dates; no personal data)."""
    data = centre.commission.list_cases(session=session, actor=actor, status=status,
                                        order_id=order_id, limit=limit, offset=offset)
    count = centre.commission.count_cases(session=session, actor=actor, status=status,
                                          order_id=order_id)
    session.commit()  # the listing is audited
    return Page(data=data, count=count, limit=limit, offset=offset)


@router.get("/cases/{case_id}")
def get_case(case_id: UUID, actor: Member, centre: CentreDep, session: SessionDep) -> CaseView:
    """One case: its frozen history of the order, findings, and subjects (decrypted)."""
    view = centre.commission.get_case(session=session, actor=actor, case_id=case_id)
    session.commit()  # the read is audited
    return view


@router.post("/cases/{case_id}/file")
def file_case(case_id: UUID, body: ReasonIn, actor: Member, centre: CentreDep,
              session: SessionDep) -> CaseView:
    """立案: the preliminary check found grounds for a formal case."""
    view = centre.commission.file_case(session=session, actor=actor, case_id=case_id,
                                       reason=body.reason)
    session.commit()
    return view


@router.post("/cases/{case_id}/dismiss")
def dismiss_case(case_id: UUID, body: ReasonIn, actor: Member, centre: CentreDep,
                 session: SessionDep) -> CaseView:
    """The preliminary check found no grounds; the case ends without filing."""
    view = centre.commission.dismiss_case(session=session, actor=actor, case_id=case_id,
                                          reason=body.reason)
    session.commit()
    return view


@router.post("/cases/{case_id}/conclude")
def conclude_case(case_id: UUID, body: ConcludeIn, actor: Member, centre: CentreDep,
                  session: SessionDep) -> CaseView:
    """结案: a filed case ends with its disciplinary outcome and findings."""
    view = centre.commission.conclude_case(session=session, actor=actor, case_id=case_id,
                                           outcome=body.outcome, findings=body.findings)
    session.commit()
    return view
