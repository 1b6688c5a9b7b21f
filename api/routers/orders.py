"""Work orders: the filtered list, one order with its history, every life-cycle step, and
the department's field photos.

Reads are open to every role, scoped by dispatch: department staff see their department's
orders (and those escalated to it); an order outside the scope is 404, never 403, so its
existence does not leak. Each step is allowed to the role the life cycle names
(``dispatch.orders.STEPS``); a step the order's state does not allow is 409 with the steps
it does allow.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime
from starlette.datastructures import UploadFile

from api.deps import ActorDep, CentreDep, SessionDep, allow
from api.evidence import EvidenceMissing
from api.field_photos import PhotoRefused, store_field_photo
from api.schemas import (
    FeedbackRequest,
    NoteIn,
    OrderDetail,
    Page,
    ReasonIn,
    RedispatchIn,
    operation_id,
)
from dispatch.access import Actor
from dispatch.inbox import get_order, order_history
from dispatch.orders import allowed_steps
from dispatch.photos import PHOTO_TYPES, PhotoView, get_photo, order_photos
from dispatch.schemas import EventType, FeedbackIn, OrderStatus, OrderView, Role
from dispatch.search import (
    MAX_PAGE,
    Deadline,
    OrderFilter,
    OrderSort,
    find_orders,
    order_event_records,
)

router = APIRouter(prefix="/api/v1/orders", tags=["orders"],
                   generate_unique_id_function=operation_id)

Staff = Annotated[Actor, allow(Role.DEPARTMENT_STAFF)]
Dispatcher = Annotated[Actor, allow(Role.DISPATCHER)]

@router.get("")
def list_orders(
        actor: ActorDep, centre: CentreDep, session: SessionDep,
        status: Annotated[list[OrderStatus], Query()] = [],  # noqa: B006 (FastAPI copies it)
        department: Annotated[str | None, Query(max_length=63)] = None,
        type: EventType | None = None,
        device: Annotated[str | None, Query(max_length=100)] = None,
        camera: Annotated[str | None, Query(max_length=100)] = None,
        zone: Annotated[str | None, Query(max_length=100)] = None,
        since: AwareDatetime | None = None, until: AwareDatetime | None = None,
        deadline: Annotated[Deadline | None, Query(
            description="overdue: past the current phase's deadline; due_soon: within "
                        "due_within_min of it")] = None,
        due_within_min: Annotated[int, Query(ge=1, le=7 * 24 * 60)] = 60,
        sort: OrderSort = OrderSort.NEWEST,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
        offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> Page[OrderView]:
    """Orders the reader may see, filtered; ``since``/``until`` bound the latest dispatch."""
    where = OrderFilter(statuses=status, department=department, type=type, device=device,
                        camera=camera, zone=zone, since=since, until=until, deadline=deadline,
                        due_within=timedelta(minutes=due_within_min))
    data, count = find_orders(session, actor, where, now=centre.clock(), sort=sort, limit=limit,
                              offset=offset)
    return Page(data=data, count=count, limit=limit, offset=offset)


@router.get("/{order_id}")
def get_order_detail(order_id: UUID, actor: ActorDep, session: SessionDep) -> OrderDetail:
    """The order, its history (oldest first), its alerts and photos, and the steps next."""
    order = get_order(session, actor, order_id)
    return OrderDetail(order=order, history=order_history(session, actor, order_id),
                       events=order_event_records(session, actor, order_id),
                       photos=order_photos(session, actor, order_id),
                       next_steps=allowed_steps(order.status))


# --- department staff -------------------------------------------------------------------------
@router.post("/{order_id}/sign")
def sign(order_id: UUID, actor: Staff, centre: CentreDep, session: SessionDep) -> OrderView:
    """签收: the department takes the order (dispatched → signed)."""
    view = centre.orders.sign(session=session, actor=actor, order_id=order_id)
    session.commit()
    return view


@router.post("/{order_id}/start")
def start(order_id: UUID, actor: Staff, centre: CentreDep, session: SessionDep) -> OrderView:
    """Staff are on their way or on site (signed → in progress)."""
    view = centre.orders.start(session=session, actor=actor, order_id=order_id)
    session.commit()
    return view


@router.post("/{order_id}/feedback")
def submit_feedback(order_id: UUID, body: FeedbackRequest, actor: Staff, centre: CentreDep,
                    session: SessionDep) -> OrderView:
    """What was found (in progress → feedback submitted), with photos uploaded before."""
    view = centre.orders.submit_feedback(
        session=session, actor=actor, order_id=order_id,
        feedback=FeedbackIn(disposition=body.disposition, notes=body.notes,
                            photo_ids=body.photo_ids, subject=body.subject))
    session.commit()
    return view


@router.post("/{order_id}/return")
def return_order(order_id: UUID, body: ReasonIn, actor: Staff, centre: CentreDep,
                 session: SessionDep) -> OrderView:
    """退单: give the order back to the dispatchers, with the reason."""
    view = centre.orders.return_order(session=session, actor=actor, order_id=order_id,
                                      reason=body.reason)
    session.commit()
    return view


# --- dispatchers ------------------------------------------------------------------------------
@router.post("/{order_id}/close")
def close(order_id: UUID, body: NoteIn, actor: Dispatcher, centre: CentreDep,
          session: SessionDep) -> OrderView:
    """销号: the feedback is verified; the order is done."""
    view = centre.orders.close(session=session, actor=actor, order_id=order_id, note=body.note)
    session.commit()
    return view


@router.post("/{order_id}/reject-feedback")
def reject_feedback(order_id: UUID, body: ReasonIn, actor: Dispatcher, centre: CentreDep,
                    session: SessionDep) -> OrderView:
    """The feedback is not good enough: back to the department, in progress."""
    view = centre.orders.reject_feedback(session=session, actor=actor, order_id=order_id,
                                         reason=body.reason)
    session.commit()
    return view


@router.post("/{order_id}/redispatch")
def redispatch(order_id: UUID, body: RedispatchIn, actor: Dispatcher, centre: CentreDep,
               session: SessionDep) -> OrderView:
    """Send a returned order to a department (the same or another), with new deadlines."""
    view = centre.orders.redispatch(session=session, actor=actor, order_id=order_id,
                                    department=body.department, note=body.note)
    session.commit()
    return view


@router.post("/{order_id}/reopen")
def reopen(order_id: UUID, body: ReasonIn, actor: Dispatcher, centre: CentreDep,
           session: SessionDep) -> OrderView:
    """A closed order needs more work: back to its department, with new deadlines."""
    view = centre.orders.reopen(session=session, actor=actor, order_id=order_id,
                                reason=body.reason)
    session.commit()
    return view


# --- field photos -----------------------------------------------------------------------------
async def photo_part(request: Request) -> UploadFile:
    """The multipart field ``file`` of a request that declares its length (a larger one than
    ``centre.max_upload_mb`` was refused before its body was read: :mod:`api.body_limit`)."""
    if request.headers.get("content-length") is None:
        raise HTTPException(411, "send a Content-Length header with the upload")
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HTTPException(415, "send the photo as multipart/form-data, field 'file'")
    form = await request.form(max_files=1, max_fields=1)
    part = form.get("file")
    if not isinstance(part, UploadFile):
        raise HTTPException(422, "send the photo as the multipart field 'file'")
    return part


PHOTO_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "image/jpeg, image/png or image/webp"}}}}}}}


@router.post("/{order_id}/photos", status_code=201, openapi_extra=PHOTO_BODY,
             responses={411: {"description": "no Content-Length"},
                        413: {"description": "larger than centre.max_upload_mb"},
                        415: {"description": "not a JPEG, PNG or WebP picture"}})
def upload_photo(order_id: UUID, actor: Staff, centre: CentreDep, session: SessionDep,
                 part: Annotated[UploadFile, Depends(photo_part)]) -> PhotoView:
    """A field photo for the order (its department, while dispatched, signed or in
    progress); name it in the feedback's ``photo_ids``. The same picture twice is one photo."""
    try:
        return store_field_photo(centre, session, actor, order_id, part)
    except PhotoRefused as exc:
        raise HTTPException(exc.status, exc.message) from None


@router.get("/{order_id}/photos/{photo_id}", response_class=StreamingResponse,
            responses={200: {"content": {t: {} for t in sorted(PHOTO_TYPES)}}})
def download_photo(order_id: UUID, photo_id: UUID, actor: ActorDep, centre: CentreDep,
                   session: SessionDep) -> StreamingResponse:
    """The bytes of a field photo, for whoever may read the order."""
    photo = get_photo(session, actor, order_id, photo_id)
    try:
        reader = centre.evidence.open(photo.storage_key)
    except EvidenceMissing:
        raise HTTPException(404, f"photo {photo_id} is recorded but its file is missing from "
                                 "the evidence store") from None

    def chunks() -> Iterator[bytes]:
        with reader:
            while chunk := reader.read(1 << 16):
                yield chunk

    return StreamingResponse(chunks(), media_type=photo.content_type, headers={
        "Content-Length": str(photo.size), "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=3600",
        "Content-Disposition": f'inline; filename="{photo.id}"'})
