"""The department inbox and the order page: sign for, start, feedback with field photos,
return; and for the dispatchers close, reject feedback, redispatch, reopen.

Every read and step goes through dispatch (:mod:`dispatch.inbox`, :class:`OrderService`),
which scopes department staff to their department's orders; a step dispatch refuses is shown
on the order page with dispatch's reason and the matching status code, and nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from api.centre import Centre
from api.deps import CentreDep, SessionDep
from api.field_photos import PhotoRefused, store_field_photo
from api.pages.deps import FormUser, PageError, allow
from api.pages.templating import render
from api.sessions import SignedIn
from dispatch.errors import DispatchError
from dispatch.inbox import Deadline, get_order, inbox, order_events, order_history
from dispatch.models import Department
from dispatch.notifications import latest_notification_id
from dispatch.orders import STEPS, allowed_steps
from dispatch.photos import order_photos
from dispatch.schemas import (
    AnalystVerdict,
    Disposition,
    FeedbackIn,
    OrderStatus,
    OrderView,
    Role,
    SubjectInfo,
)

router = APIRouter(include_in_schema=False)

#: Who reads orders on these pages (analysts have their review queue, the commission its
#: board; both may still open an order from there).
ORDER_PAGE_ROLES = (Role.DEPARTMENT_STAFF, Role.DISPATCHER, Role.ADMIN, Role.AUDITOR,
                    Role.ANALYST, Role.COMMISSION)
InboxReader = Annotated[SignedIn, Depends(allow(Role.DEPARTMENT_STAFF, Role.DISPATCHER,
                                                Role.ADMIN, Role.AUDITOR))]
OrderReader = Annotated[SignedIn, Depends(allow(*ORDER_PAGE_ROLES))]

#: "Due soon" on the inbox: the current deadline comes within this.
DUE_SOON = timedelta(hours=1)


class Tab(StrEnum):
    NEW = "new"  # dispatched, not yet signed for
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    OPEN = "open"  # every open order


def _tab_orders(session: Session, centre: Centre, signed_in: SignedIn, tab: Tab,
                department: str | None) -> list[OrderView]:
    common: dict[str, Any] = {"department": department, "limit": 200}
    if tab is Tab.NEW:
        return inbox(session, signed_in.actor, statuses=[OrderStatus.DISPATCHED], **common)
    if tab is Tab.OPEN:
        return inbox(session, signed_in.actor, **common)
    deadline = Deadline.OVERDUE if tab is Tab.OVERDUE else Deadline.DUE_SOON
    return inbox(session, signed_in.actor, deadline=deadline, now=centre.clock(), **common)


@router.get("/inbox")
def inbox_page(request: Request, centre: CentreDep, session: SessionDep,
               signed_in: InboxReader, tab: Tab = Tab.NEW,
               department: str | None = None) -> Response:
    """One tab of the inbox; the page follows the live stream from the cursor read first."""
    if signed_in.actor.role is Role.DEPARTMENT_STAFF:
        department = None  # their scope is their department already
    cursor = latest_notification_id(session)
    try:
        orders = _tab_orders(session, centre, signed_in, tab, department or None)
    except DispatchError as exc:
        raise PageError.of(exc) from None
    return render(request, "inbox.html", signed_in, orders=orders, tab=tab, tabs=list(Tab),
                  department=department or "", cursor=cursor, now=centre.clock(),
                  departments=[d.code for d in centre.dispatch.departments])


@router.get("/inbox/cards/{order_id}")
def inbox_card(request: Request, centre: CentreDep, session: SessionDep, signed_in: InboxReader,
               order_id: UUID) -> Response:
    """One inbox card, for the page's script to insert when the stream announces an order."""
    try:
        order = get_order(session, signed_in.actor, order_id)
    except DispatchError as exc:
        raise PageError.of(exc) from None
    return render(request, "_order_card.html", signed_in, order=order, now=centre.clock(),
                  fresh=True)


def _my_department(session: Session, signed_in: SignedIn) -> str | None:
    if signed_in.actor.department_id is None:
        return None
    department = session.get(Department, signed_in.actor.department_id)
    return department.code if department else None


def _order_page(request: Request, centre: Centre, session: Session, signed_in: SignedIn,
                order_id: UUID, *, status: int = 200, error: str = "",
                done: str = "") -> Response:
    try:
        order = get_order(session, signed_in.actor, order_id)
        events = order_events(session, signed_in.actor, order_id)
        history = order_history(session, signed_in.actor, order_id)
        photos = order_photos(session, signed_in.actor, order_id)
    except DispatchError as exc:
        raise PageError.of(exc) from None
    role = signed_in.actor.role
    mine = role is not Role.DEPARTMENT_STAFF or order.department == _my_department(session,
                                                                                   signed_in)
    steps = [name for name in allowed_steps(order.status)
             if role in STEPS[name].roles and mine]
    can_confirm = role is Role.ANALYST and order.analyst_verdict is None
    return render(request, "order.html", signed_in, status=status, order=order, events=events,
                  history=history, photos=photos, steps=steps, can_confirm=can_confirm, error=error,
                  done=done, now=centre.clock(), dispositions=list(Disposition),
                  departments=[d.code for d in centre.dispatch.departments])


@router.get("/orders/{order_id}")
def order_page(request: Request, centre: CentreDep, session: SessionDep, signed_in: OrderReader,
               order_id: UUID, done: str = "") -> Response:
    return _order_page(request, centre, session, signed_in, order_id,
                       done=done if done in STEPS or done == "confirm" else "")


def _act(request: Request, centre: Centre, session: Session, signed_in: SignedIn,
         order_id: UUID, step: str, action: Callable[[], object]) -> Response:
    """Run one step; on success commit and show the order again (POST-redirect-GET), on a
    refusal show the order with dispatch's reason and nothing changed."""
    try:
        action()
    except DispatchError as exc:
        session.rollback()
        refusal = PageError.of(exc)
        return _order_page(request, centre, session, signed_in, order_id,
                           status=refusal.status, error=refusal.detail)
    session.commit()
    return RedirectResponse(f"/orders/{order_id}?done={step}", status_code=303)


Text = Annotated[str, Form(max_length=4000)]

#: Photos one feedback form may carry (the script sends photos one by one instead).
MAX_FORM_PHOTOS = 20


@router.post("/orders/{order_id}/sign")
def sign(request: Request, centre: CentreDep, session: SessionDep, signed_in: FormUser,
         order_id: UUID) -> Response:
    return _act(request, centre, session, signed_in, order_id, "sign", lambda: centre.orders.sign(
        session=session, actor=signed_in.actor, order_id=order_id))


@router.post("/orders/{order_id}/start")
def start(request: Request, centre: CentreDep, session: SessionDep, signed_in: FormUser,
          order_id: UUID) -> Response:
    return _act(request, centre, session, signed_in, order_id, "start",
                lambda: centre.orders.start(session=session, actor=signed_in.actor,
                                            order_id=order_id))


@router.post("/orders/{order_id}/return")
def return_order(request: Request, centre: CentreDep, session: SessionDep, signed_in: FormUser,
                 order_id: UUID, reason: Text = "") -> Response:
    return _act(request, centre, session, signed_in, order_id, "return",
                lambda: centre.orders.return_order(session=session, actor=signed_in.actor,
                                                   order_id=order_id, reason=reason))


@router.post("/orders/{order_id}/feedback")
def submit_feedback(request: Request, centre: CentreDep, session: SessionDep,
                    signed_in: FormUser, order_id: UUID,
                    disposition: Annotated[Disposition, Form()], notes: Text = "",
                    photo_ids: Annotated[list[UUID], Form(max_length=50)] = [],  # noqa: B006
                    subject_name: Annotated[str, Form(max_length=100)] = "",
                    subject_id_number: Annotated[str, Form(max_length=40)] = "",
                    subject_phone: Annotated[str, Form(max_length=40)] = "",
                    subject_employer: Annotated[str, Form(max_length=200)] = "",
                    subject_position: Annotated[str, Form(max_length=200)] = "",
                    subject_party_member: Annotated[bool, Form()] = False,
                    subject_public_official: Annotated[bool, Form()] = False,
                    photos: Annotated[list[UploadFile], File(max_length=MAX_FORM_PHOTOS)] = [],  # noqa: B006
                    ) -> Response:
    """Feedback naming the field photos uploaded for the order (the page's script sends them
    to ``POST /api/v1/orders/{id}/photos`` as they are taken) and carrying those picked
    without the script (``photos``: stored first, so a refused feedback keeps them); a subject
    only when the person caught is a party member or public official (for the commission)."""
    carried = []
    for part in photos:
        if not part.filename and not part.size:
            continue  # the form's empty file field
        try:
            carried.append(store_field_photo(centre, session, signed_in.actor, order_id, part).id)
        except PhotoRefused as exc:
            return _order_page(request, centre, session, signed_in, order_id,
                               status=exc.status, error=f"{part.filename}: {exc.message}")
        except DispatchError as exc:
            session.rollback()
            refusal = PageError.of(exc)
            return _order_page(request, centre, session, signed_in, order_id,
                               status=refusal.status, error=refusal.detail)
    try:
        subject = SubjectInfo(
            name=subject_name.strip(), id_number=subject_id_number.strip() or None,
            phone=subject_phone.strip() or None, employer=subject_employer.strip() or None,
            position=subject_position.strip() or None, party_member=subject_party_member,
            public_official=subject_public_official) if subject_name.strip() else None
    except ValidationError as exc:
        return _order_page(request, centre, session, signed_in, order_id, status=422,
                           error="; ".join(e["msg"] for e in exc.errors()))
    feedback = FeedbackIn(disposition=disposition, notes=notes,
                          photo_ids=list(dict.fromkeys([*photo_ids, *carried])), subject=subject)
    return _act(request, centre, session, signed_in, order_id, "submit_feedback",
                lambda: centre.orders.submit_feedback(session=session, actor=signed_in.actor,
                                                      order_id=order_id, feedback=feedback))


@router.post("/orders/{order_id}/close")
def close(request: Request, centre: CentreDep, session: SessionDep, signed_in: FormUser,
          order_id: UUID, note: Text = "") -> Response:
    return _act(request, centre, session, signed_in, order_id, "close",
                lambda: centre.orders.close(session=session, actor=signed_in.actor,
                                            order_id=order_id, note=note))


@router.post("/orders/{order_id}/reject_feedback")
def reject_feedback(request: Request, centre: CentreDep, session: SessionDep,
                    signed_in: FormUser, order_id: UUID, reason: Text = "") -> Response:
    return _act(request, centre, session, signed_in, order_id, "reject_feedback",
                lambda: centre.orders.reject_feedback(session=session, actor=signed_in.actor,
                                                      order_id=order_id, reason=reason))


@router.post("/orders/{order_id}/redispatch")
def redispatch(request: Request, centre: CentreDep, session: SessionDep, signed_in: FormUser,
               order_id: UUID, department: Annotated[str, Form(max_length=63)],
               note: Text = "") -> Response:
    return _act(request, centre, session, signed_in, order_id, "redispatch",
                lambda: centre.orders.redispatch(session=session, actor=signed_in.actor,
                                                 order_id=order_id, department=department,
                                                 note=note))


@router.post("/orders/{order_id}/reopen")
def reopen(request: Request, centre: CentreDep, session: SessionDep, signed_in: FormUser,
           order_id: UUID, reason: Text = "") -> Response:
    return _act(request, centre, session, signed_in, order_id, "reopen",
                lambda: centre.orders.reopen(session=session, actor=signed_in.actor,
                                             order_id=order_id, reason=reason))


@router.post("/orders/{order_id}/verdict")
def verdict(request: Request, centre: CentreDep, session: SessionDep, signed_in: FormUser,
            order_id: UUID, verdict: Annotated[AnalystVerdict, Form()],
            note: Text = "", back: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """An analyst's verdict from the order page or the review queue (``back`` returns
    there); a false positive needs its reason."""
    step = ("dismiss_as_false_alarm" if verdict is AnalystVerdict.FALSE_POSITIVE
            else "confirm")

    if verdict is AnalystVerdict.FALSE_POSITIVE and not note.strip():
        return _order_page(request, centre, session, signed_in, order_id, status=422,
                           error="a false positive needs its reason")
    response = _act(request, centre, session, signed_in, order_id, step,
                    lambda: centre.orders.record_verdict(session=session, actor=signed_in.actor,
                                                         order_id=order_id, verdict=verdict,
                                                         note=note.strip()))
    if back.startswith("/reviews?") and response.status_code == 303:
        return RedirectResponse(f"{back}&done={step}", status_code=303)
    return response
