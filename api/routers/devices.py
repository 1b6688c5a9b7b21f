"""Administrators register edge boxes and issue and revoke their uplink tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from api.deps import ActorDep, CentreDep, SessionDep
from api.schemas import operation_id
from dispatch.access import require
from dispatch.devices import (
    DEVICE_CODE,
    PLAIN,
    DeviceStatus,
    IssuedToken,
    TokenView,
    add_device,
    fleet,
    issue_token,
    list_tokens,
    revoke_tokens,
)
from dispatch.registry import MANAGERS
from fishwatch.common.strict import StrictModel

router = APIRouter(prefix="/api/v1/devices", tags=["devices"],
                   generate_unique_id_function=operation_id)

DeviceCode = Annotated[str, Field(pattern=DEVICE_CODE)]
CodeInPath = Annotated[str, Path(pattern=DEVICE_CODE, description="the box's device_id")]


class DeviceIn(StrictModel):
    code: DeviceCode = Field(description="the box's uplink.device_id")


class TokenIn(StrictModel):
    label: Annotated[str, Field(max_length=100, pattern=PLAIN,
                                description="a note: where, who installed it")] = ""


class DeviceAdmin(BaseModel):
    """A box with its status and every token it was given (live and revoked)."""

    status: DeviceStatus
    tokens: list[TokenView]


@router.get("")
def list_devices(actor: ActorDep, centre: CentreDep, session: SessionDep) -> list[DeviceAdmin]:
    """Every box with its fleet status and tokens (administrators)."""
    require(actor, MANAGERS, "manage devices")
    boxes = fleet(session, actor=actor, now=centre.clock(),
                  offline_after=timedelta(seconds=centre.config.device_offline_after_s))
    return [DeviceAdmin(status=box, tokens=list_tokens(session, actor=actor, device=box.code))
            for box in boxes]


@router.post("", status_code=201, responses={200: {"description": "already registered"}})
def register_device(body: DeviceIn, actor: ActorDep, centre: CentreDep, session: SessionDep,
                    response: Response) -> dict[str, str]:
    """Register a box; its cameras are registered when they first send."""
    device_id, created = add_device(session, actor=actor, at=centre.clock(), code=body.code)
    session.commit()
    if not created:
        response.status_code = 200
    return {"id": str(device_id), "code": body.code}


@router.post("/{code}/tokens", status_code=201)
def new_token(code: CodeInPath, body: TokenIn, actor: ActorDep, centre: CentreDep,
              session: SessionDep, response: Response) -> IssuedToken:
    """A new token for the box, in ``token``: shown this once (only its hash is kept). Put it
    in the box's ``uplink.token_file``; its older tokens stay valid until revoked."""
    issued = issue_token(session, actor=actor, at=centre.clock(), device=code, label=body.label)
    session.commit()
    response.headers["Cache-Control"] = "no-store"
    return issued


@router.post("/{code}/tokens/{token_id}/revoke")
def revoke_token(code: CodeInPath, token_id: UUID, actor: ActorDep, centre: CentreDep,
                 session: SessionDep) -> TokenView:
    """Revoke one token: the box's next request with it is refused (401)."""
    revoke_tokens(session, actor=actor, at=centre.clock(), device=code, token_id=token_id)
    session.commit()  # an unknown token was refused above (404)
    return next(t for t in list_tokens(session, actor=actor, device=code) if t.id == token_id)
