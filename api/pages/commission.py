"""The commission's board: its cases, each with the order's history as it stood at opening,
the subjects (party members, officials) and findings; file, dismiss, conclude.

Only the commission role opens these pages (everyone else gets the 403 page), and dispatch
checks the role again and records every listing and reading of a case in the audit trail,
so these handlers commit after reads too.
"""

from __future__ import annotations

import io
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from api.centre import Centre
from api.deps import CentreDep, SessionDep
from api.pages.deps import PageError, allow, checked_form
from api.pages.templating import render
from api.sessions import SignedIn
from dispatch.errors import DispatchError
from dispatch.ledgers import LedgerFilter, cases_ledger, write_xlsx
from dispatch.schemas import CaseStatus, DisciplinaryOutcome, Role

router = APIRouter(include_in_schema=False)

Member = Annotated[SignedIn, Depends(allow(Role.COMMISSION))]


def _member_form(signed_in: Annotated[SignedIn, Depends(checked_form)]) -> SignedIn:
    if signed_in.actor.role is not Role.COMMISSION:
        raise PageError(403, "error.403")
    return signed_in


MemberForm = Annotated[SignedIn, Depends(_member_form)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/commission")
def board(request: Request, centre: CentreDep, session: SessionDep, signed_in: Member,
          status: CaseStatus | None = None) -> Response:
    try:
        cases = centre.commission.list_cases(session=session, actor=signed_in.actor,
                                             status=status, limit=200)
    except DispatchError as exc:
        raise PageError.of(exc) from None
    session.commit()  # the listing is an audit record
    return render(request, "commission.html", signed_in, cases=cases, shown=status,
                  statuses=list(CaseStatus))


def _case_page(request: Request, centre: Centre, session: Session, signed_in: SignedIn,
               case_id: UUID, *, status: int = 200, error: str = "", done: str = "") -> Response:
    try:
        case = centre.commission.get_case(session=session, actor=signed_in.actor,
                                          case_id=case_id)
    except DispatchError as exc:
        raise PageError.of(exc) from None
    session.commit()  # the reading is an audit record
    return render(request, "case.html", signed_in, status=status, case=case, error=error,
                  done=done, outcomes=list(DisciplinaryOutcome))


@router.get("/commission/cases/{case_id}")
def case_page(request: Request, centre: CentreDep, session: SessionDep, signed_in: Member,
              case_id: UUID, done: str = "") -> Response:
    return _case_page(request, centre, session, signed_in, case_id,
                      done=done if done in {"file", "dismiss", "conclude"} else "")


@router.post("/commission/cases/{case_id}/{step}")
def case_step(request: Request, centre: CentreDep, session: SessionDep, signed_in: MemberForm,
              case_id: UUID, step: Literal["file", "dismiss", "conclude"],
              reason: Annotated[str, Form(max_length=4000)] = "",
              outcome: Annotated[DisciplinaryOutcome | None, Form()] = None) -> Response:
    """立案 (file), 不予立案 (dismiss) with a reason; 结案 (conclude) with the outcome."""
    service, actor = centre.commission, signed_in.actor
    if step == "conclude" and outcome is None:
        return _case_page(request, centre, session, signed_in, case_id, status=422,
                          error="conclude: choose the disciplinary outcome")
    try:
        if step == "file":
            service.file_case(session=session, actor=actor, case_id=case_id, reason=reason)
        elif step == "dismiss":
            service.dismiss_case(session=session, actor=actor, case_id=case_id, reason=reason)
        else:
            assert outcome is not None
            service.conclude_case(session=session, actor=actor, case_id=case_id,
                                  outcome=outcome, findings=reason)
    except DispatchError as exc:
        session.rollback()
        refusal = PageError.of(exc)
        return _case_page(request, centre, session, signed_in, case_id, status=refusal.status,
                          error=refusal.detail)
    session.commit()
    return RedirectResponse(f"/commission/cases/{case_id}?done={step}", status_code=303)


@router.get("/commission/cases.xlsx")
def cases_xlsx(centre: CentreDep, session: SessionDep, signed_in: Member) -> Response:
    """The cases ledger (no personal data); the export is an audit record."""
    out = io.BytesIO()
    write_xlsx(cases_ledger(session, signed_in.actor, LedgerFilter(), at=centre.clock()), out)
    session.commit()
    return Response(out.getvalue(), media_type=XLSX, headers={
        "Content-Disposition": 'attachment; filename="fishwatch-cases.xlsx"'})
