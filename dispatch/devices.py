"""Edge boxes at the centre: registration, bearer tokens, heartbeats and fleet status.

A token is 256 random bits, shown once when issued; the table keeps only its sha256, so a
leaked table cannot be replayed. Tokens are revoked, never deleted; issuing and revoking are
audited. A box's latest heartbeat is one row per device, overwritten.

Cameras a box reports are registered for it on first use (:func:`ensure_camera`) without a
place, area or grid: their alerts route by type or to the fallback department until an
administrator places them (``fishwatch dispatch add-camera``). A camera belongs to the box
that sends for it (cameras are named per box), so a box can never speak for another's.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Annotated, Literal
from uuid import UUID

import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dispatch import audit
from dispatch.access import Actor, require
from dispatch.errors import InvalidRequest, NotFound
from dispatch.models import Camera, Device, DeviceHeartbeat, DeviceToken, new_id
from dispatch.schemas import Role, View

MANAGERS = frozenset({Role.ADMIN, Role.SYSTEM})
FLEET_READERS = frozenset({Role.ADMIN, Role.DISPATCHER, Role.AUDITOR, Role.SYSTEM})

#: The uplink contract's ``device_id``.
DEVICE_CODE = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
#: Text the uplink sends: no control characters (PostgreSQL refuses NUL, pages show the rest).
PLAIN = r"^[^\x00-\x1f\x7f]*$"
#: ``last_used_at`` is written at most this often per token (a write per request is waste).
LAST_USED_RESOLUTION = timedelta(minutes=1)

CameraState = Literal["connecting", "online", "offline", "reconnecting", "ended", "failed",
                      "stopped"]


class Ignoring(BaseModel):
    """Uplink documents: unknown fields are ignored (the box may add some), values frozen."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class DetectorReport(Ignoring):
    """The detector a box runs, as the uplink documents name it."""

    name: Annotated[str, Field(min_length=1, max_length=100, pattern=PLAIN)]
    version: Annotated[str, Field(min_length=1, max_length=100, pattern=PLAIN)]


class CameraReport(Ignoring):
    name: Annotated[str, Field(min_length=1, max_length=100, pattern=PLAIN)]
    state: CameraState
    fps: Annotated[float, Field(ge=0, le=1000)] | None = None
    last_frame_at: AwareDatetime | None = None


class HeartbeatIn(Ignoring):
    """A box's ``POST /api/v1/ingest/heartbeat`` document (docs/uplink.md)."""

    device_id: Annotated[str, Field(pattern=DEVICE_CODE)]
    sent_at: AwareDatetime
    software_version: Annotated[str, Field(max_length=40, pattern=PLAIN)] = ""
    model: DetectorReport | None = None
    cameras: Annotated[list[CameraReport], Field(max_length=256)] = []


class DeviceIdentity(View):
    """The box a valid token belongs to."""

    device_id: UUID
    code: str
    token_id: UUID


class IssuedToken(View):
    """A new token: ``token`` is shown this once and never stored."""

    id: UUID
    device: str
    label: str
    token: str


class TokenView(View):
    id: UUID
    label: str
    created_at: datetime
    created_by: str
    last_used_at: datetime | None
    revoked_at: datetime | None


class DeviceStatus(View):
    """One box as the fleet page shows it.

    ``online``: a heartbeat or another authenticated request within the offline threshold.
    ``cameras_online`` counts only while the box is online (else its last report is stale).
    """

    code: str
    registered_at: datetime
    online: bool
    last_seen_at: datetime | None
    last_heartbeat_at: datetime | None
    #: The box's clock minus the centre's at the last heartbeat (a wrong clock shows here).
    clock_offset_s: float | None
    software_version: str
    model_name: str
    model_version: str
    cameras_online: int
    cameras_total: int
    cameras: list[CameraReport]
    active_tokens: int


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_device(session: Session, *, actor: Actor, at: datetime, code: str) -> tuple[UUID, bool]:
    """Register a box by its ``device_id``; (its id, whether it is new)."""
    require(actor, MANAGERS, "register devices")
    if re.fullmatch(DEVICE_CODE, code) is None:
        raise InvalidRequest(f"device id {code!r} must match {DEVICE_CODE} (as in the box's "
                             "uplink.device_id)")
    found = session.scalar(sa.select(Device.id).where(Device.code == code))
    if found is not None:
        return found, False
    device = Device(code=code, registered_at=at)
    session.add(device)
    session.flush()
    audit.record(session, at=at, actor=actor, action="device.registered", entity_type="device",
                 entity_id=device.id, data={"code": code})
    return device.id, True


def issue_token(session: Session, *, actor: Actor, at: datetime, device: str,
                label: str = "") -> IssuedToken:
    """A new token for a registered box (its other tokens stay valid until revoked, so a box
    can be switched over without a gap)."""
    require(actor, MANAGERS, "issue device tokens")
    if re.fullmatch(PLAIN, label) is None:
        raise InvalidRequest("a token label is plain text, without control characters")
    box = _device(session, device)
    token = secrets.token_urlsafe(32)
    row = DeviceToken(device_id=box.id, token_hash=_digest(token), label=label[:100],
                      created_at=at, created_by=actor.label[:120])
    session.add(row)
    session.flush()
    audit.record(session, at=at, actor=actor, action="device.token_issued",
                 entity_type="device", entity_id=box.id,
                 data={"device": device, "token": row.id, "label": row.label})
    return IssuedToken(id=row.id, device=device, label=row.label, token=token)


def revoke_tokens(session: Session, *, actor: Actor, at: datetime, device: str,
                  token_id: UUID | None = None) -> list[UUID]:
    """Revoke one token of the box, or all its live ones; the ids revoked now."""
    require(actor, MANAGERS, "revoke device tokens")
    box = _device(session, device)
    query = sa.select(DeviceToken).where(DeviceToken.device_id == box.id,
                                         DeviceToken.revoked_at.is_(None))
    if token_id is not None:
        query = query.where(DeviceToken.id == token_id)
    rows = list(session.scalars(query.order_by(DeviceToken.created_at).with_for_update()))
    if token_id is not None and not rows:
        known = session.scalar(sa.select(DeviceToken.id).where(DeviceToken.id == token_id,
                                                               DeviceToken.device_id == box.id))
        if known is None:
            raise NotFound(f"device {device!r} has no token {token_id}")
    for row in rows:
        row.revoked_at = at
        audit.record(session, at=at, actor=actor, action="device.token_revoked",
                     entity_type="device", entity_id=box.id,
                     data={"device": device, "token": row.id})
    return [row.id for row in rows]


def list_tokens(session: Session, *, actor: Actor, device: str) -> list[TokenView]:
    require(actor, MANAGERS, "list device tokens")
    box = _device(session, device)
    return [TokenView.model_validate(row) for row in session.scalars(
        sa.select(DeviceToken).where(DeviceToken.device_id == box.id)
        .order_by(DeviceToken.created_at, DeviceToken.id))]


def authenticate(session: Session, token: str, *, at: datetime) -> DeviceIdentity | None:
    """The box behind a bearer token, or None (unknown or revoked)."""
    if not token:
        return None
    found = session.execute(
        sa.select(DeviceToken, Device.code).join(Device)
        .where(DeviceToken.token_hash == _digest(token), DeviceToken.revoked_at.is_(None))
    ).first()
    if found is None:
        return None
    row, code = found
    if row.last_used_at is None or at - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = at
    return DeviceIdentity(device_id=row.device_id, code=code, token_id=row.id)


def ensure_camera(session: Session, *, device: DeviceIdentity, camera: str,
                  at: datetime) -> None:
    """Register the box's camera on first use (see the module docstring); a known camera is
    left as it is. Safe when two requests register it at once."""
    exists = sa.select(Camera.id).where(Camera.device_id == device.device_id,
                                        Camera.name == camera)
    if session.scalar(exists) is not None:
        return
    values = {"id": new_id(), "device_id": device.device_id, "name": camera, "place": "",
              "area": "", "grid": ""}
    inserted = session.scalar(_insert(session, Camera).values(**values)
                              .on_conflict_do_nothing(index_elements=["device_id", "name"])
                              .returning(Camera.id))
    if inserted is not None:
        audit.record(session, at=at, actor=Actor.system(f"edge/{device.code}"),
                     action="camera.registered", entity_type="camera", entity_id=values["id"],
                     data={"device": device.code, "camera": camera, "automatic": True})


def record_heartbeat(session: Session, *, device: DeviceIdentity, heartbeat: HeartbeatIn,
                     at: datetime) -> None:
    """Keep the box's latest heartbeat (one row per box, replaced)."""
    values = {
        "received_at": at, "sent_at": heartbeat.sent_at,
        "software_version": heartbeat.software_version,
        "model_name": heartbeat.model.name if heartbeat.model else "",
        "model_version": heartbeat.model.version if heartbeat.model else "",
        "cameras": [c.model_dump(mode="json") for c in heartbeat.cameras],
    }
    session.execute(_insert(session, DeviceHeartbeat)
                    .values(device_id=device.device_id, **values)
                    .on_conflict_do_update(index_elements=["device_id"], set_=values))


def fleet(session: Session, *, actor: Actor, now: datetime,
          offline_after: timedelta) -> list[DeviceStatus]:
    """Every registered box with its latest heartbeat, in code order."""
    require(actor, FLEET_READERS, "see the fleet")
    last_used = (sa.select(DeviceToken.device_id,
                           sa.func.max(DeviceToken.last_used_at).label("last_used_at"),
                           sa.func.count(DeviceToken.id).filter(
                               DeviceToken.revoked_at.is_(None)).label("active"))
                 .group_by(DeviceToken.device_id).subquery())
    rows = session.execute(
        sa.select(Device, DeviceHeartbeat, last_used.c.last_used_at, last_used.c.active)
        .outerjoin(DeviceHeartbeat, DeviceHeartbeat.device_id == Device.id)
        .outerjoin(last_used, last_used.c.device_id == Device.id)
        .order_by(Device.code))
    return [_status(device, beat, used, active or 0, now, offline_after)
            for device, beat, used, active in rows]


def _status(device: Device, beat: DeviceHeartbeat | None, used: datetime | None, active: int,
            now: datetime, offline_after: timedelta) -> DeviceStatus:
    seen = [t for t in (beat.received_at if beat else None, used) if t is not None]
    last_seen = max(seen) if seen else None
    online = last_seen is not None and now - last_seen <= offline_after
    cameras = [CameraReport.model_validate(c) for c in beat.cameras] if beat else []
    return DeviceStatus(
        code=device.code, registered_at=device.registered_at, online=online,
        last_seen_at=last_seen, last_heartbeat_at=beat.received_at if beat else None,
        clock_offset_s=((beat.sent_at - beat.received_at).total_seconds()
                        if beat and beat.sent_at else None),
        software_version=beat.software_version if beat else "",
        model_name=beat.model_name if beat else "",
        model_version=beat.model_version if beat else "",
        cameras_online=sum(c.state == "online" for c in cameras) if online else 0,
        cameras_total=len(cameras), cameras=cameras, active_tokens=active)


def _device(session: Session, code: str) -> Device:
    device = session.scalar(sa.select(Device).where(Device.code == code))
    if device is None:
        raise NotFound(f"no device {code!r} (register it with 'fishwatch dispatch device add')")
    return device


def _insert(session: Session, table: type) -> sqlite.Insert | postgresql.Insert:
    """INSERT with ON CONFLICT, in the session's dialect (both speak it)."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
