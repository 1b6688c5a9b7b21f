"""Device ingest: edge boxes post events with their evidence, and heartbeats (docs/uplink.md).

A box authenticates with its bearer token (``fishwatch dispatch device token``). An event
message is checked whole before anything is kept; its files then go to the evidence store
under content-addressed keys, and the event with its evidence rows is committed in one
transaction after them, so a failure can leave an unreferenced file but never a row without
its file. Copies of one message are serialised by dispatch's per-incident lock and the
event's row lock: one is stored (201 ``created``), the others are answered 200
``duplicate``.
"""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.centre import Centre
from api.deps import CentreDep, SessionDep
from api.evidence import KeyScope, evidence_key
from api.schemas import operation_id
from api.uplink import UplinkMessage, read_message
from dispatch.devices import (
    DeviceIdentity,
    HeartbeatIn,
    authenticate,
    ensure_camera,
    record_heartbeat,
)
from dispatch.errors import Conflict, InvalidRequest, NotFound
from dispatch.models import Event
from dispatch.schemas import EvidenceRef, IngestOutcome
from fishwatch.common.vocabulary import EvidenceKind

router = APIRouter(prefix="/api/v1/ingest", tags=["ingest"],
                   generate_unique_id_function=operation_id)

_bearer = HTTPBearer(auto_error=False, description="the box's device token")

#: The largest ``event`` document (a few kB in practice).
MAX_DOCUMENT_BYTES = 256 * 1024


def current_device(
        centre: CentreDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> DeviceIdentity:
    """The box whose token the request carries; 401 for a missing, unknown or revoked one."""
    if credentials is None:
        raise HTTPException(401, "missing device token (Authorization: Bearer <token>)",
                            headers={"WWW-Authenticate": "Bearer"})
    with centre.db.transaction() as session:
        device = authenticate(session, credentials.credentials, at=centre.clock())
    if device is None:
        raise HTTPException(401, "unknown or revoked device token",
                            headers={"WWW-Authenticate": "Bearer"})
    return device


DeviceDep = Annotated[DeviceIdentity, Depends(current_device)]

EVENT_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {
        "type": "object", "required": ["event"],
        "properties": {
            "event": {"type": "string", "description": "the JSON event document"},
            **{kind.value: {"type": "string", "format": "binary",
                            "description": f"the {kind.value} file, when the event lists one"}
               for kind in EvidenceKind}}}}}}}
ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "a revision already stored: nothing changed",
          "content": {"application/json": {"example": {"status": "duplicate"}}}},
    201: {"description": "stored", "content": {"application/json": {
        "example": {"status": "created"}}}},
    400: {"description": "malformed: parts, JSON, missing Idempotency-Key"},
    401: {"description": "missing, unknown or revoked device token"},
    403: {"description": "the message is another box's"},
    411: {"description": "no Content-Length"},
    413: {"description": "larger than centre.max_upload_mb"},
    415: {"description": "not multipart/form-data, or an evidence type the centre does "
                         "not keep"},
    422: {"description": "well-formed but wrong: enumerations, key, sizes, checksums"},
}


@router.post("/events", status_code=201, openapi_extra=EVENT_BODY, responses=ANSWERS)
async def ingest_event(request: Request, device: DeviceDep, centre: CentreDep) -> JSONResponse:
    """One revision of one event with its evidence files, exactly as docs/uplink.md says."""
    if request.headers.get("content-length") is None:  # larger than the limit: api.body_limit
        raise HTTPException(411, "send a Content-Length header")
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HTTPException(415, "send the message as multipart/form-data (docs/uplink.md)")
    try:
        form = await request.form(max_files=len(EvidenceKind) + 2, max_fields=3,
                                  max_part_size=MAX_DOCUMENT_BYTES)
    except StarletteHTTPException as exc:  # what the multipart parser refused
        raise HTTPException(400, f"malformed multipart body: {exc.detail}") from None
    try:
        status = await run_in_threadpool(
            _ingest, centre, device, list(form.multi_items()),
            request.headers.get("idempotency-key"))
    finally:
        await form.close()
    return JSONResponse({"status": status}, status_code=200 if status == "duplicate" else 201)


def _ingest(centre: Centre, device: DeviceIdentity, parts: list[tuple[str, str | UploadFile]],
            idempotency_key: str | None) -> str:
    message = read_message(parts, idempotency_key=idempotency_key, device=device)
    document = message.document
    with centre.db.transaction() as session:  # no files for a revision already stored
        stored = session.scalar(sa.select(Event.revision).where(Event.id == document.uuid))
    if stored is not None and stored >= document.revision:
        return "duplicate"
    refs = _store_files(centre, message)
    try:
        with centre.db.transaction() as session:
            ensure_camera(session, device=device, camera=document.camera, at=centre.clock())
            result = centre.orders.ingest(session=session, event=document.event_in(refs))
    except (Conflict, InvalidRequest) as exc:  # would fail again: the box parks it
        raise HTTPException(422, str(exc)) from None
    except NotFound as exc:  # a routing target missing from the centre's config: retried
        raise HTTPException(503, f"the centre cannot take this event now: {exc}") from None
    return "duplicate" if result.outcome is IngestOutcome.DUPLICATE else "created"


def _store_files(centre: Centre, message: UplinkMessage) -> list[EvidenceRef]:
    """Every file under its content-addressed key (the same bytes sent again are already
    there), before the transaction that will refer to them."""
    refs = []
    for item in message.files:
        entry = item.entry
        key = evidence_key(KeyScope.EVENTS, message.document.uuid, entry.kind.value, entry.sha256,
                           entry.content_type)
        if not centre.evidence.exists(key):
            centre.evidence.put(key, item.upload.file, content_type=entry.content_type,
                                expected=item.digest)
        refs.append(EvidenceRef(kind=entry.kind, sha256=entry.sha256, size=entry.size,
                                content_type=entry.content_type, storage_key=key))
    return refs


@router.post("/heartbeat", responses={401: {"description": "missing, unknown or revoked "
                                                           "device token"},
                                      403: {"description": "another box's heartbeat"}})
def heartbeat(body: HeartbeatIn, device: DeviceDep, centre: CentreDep,
              session: SessionDep) -> dict[str, str]:
    """The box's state now; the centre keeps only the latest (fleet status)."""
    if body.device_id != device.code:
        raise HTTPException(403, f"this token belongs to device {device.code!r}, the "
                                 f"heartbeat is from {body.device_id!r}")
    record_heartbeat(session, device=device, heartbeat=body, at=centre.clock())
    session.commit()
    return {"status": "ok"}
