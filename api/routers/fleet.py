"""Fleet status: which boxes are online, what they run, how many cameras they see."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter

from api.deps import ActorDep, CentreDep, SessionDep
from api.schemas import operation_id
from dispatch.devices import DeviceStatus, fleet

router = APIRouter(prefix="/api/v1/fleet", tags=["fleet"],
                   generate_unique_id_function=operation_id)


@router.get("", responses={403: {"description": "not an administrator, dispatcher or auditor"}})
def fleet_status(actor: ActorDep, centre: CentreDep, session: SessionDep) -> list[DeviceStatus]:
    """Every registered box: online (a sign of life within ``centre.device_offline_after_s``),
    last seen, software and model version, cameras online of those it reports."""
    return fleet(session, actor=actor, now=centre.clock(),
                 offline_after=timedelta(seconds=centre.config.device_offline_after_s))
