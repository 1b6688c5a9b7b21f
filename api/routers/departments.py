"""Departments (from the config, synced at start-up) and the routing rules that feed them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from api.deps import ActorDep, CentreDep, SessionDep, allow
from api.schemas import operation_id
from dispatch.access import Actor
from dispatch.registry import DepartmentView, list_departments
from dispatch.schemas import Role
from dispatch.settings import RoutingConfig

router = APIRouter(prefix="/api/v1/departments", tags=["departments"],
                   generate_unique_id_function=operation_id)

RoutingReader = Annotated[Actor, allow(Role.ADMIN, Role.DISPATCHER, Role.AUDITOR)]


@router.get("")
def list_all_departments(_actor: ActorDep, session: SessionDep) -> list[DepartmentView]:
    """Every department by code, with its supervisor (escalations go there)."""
    return list_departments(session)


@router.get("/routing")
def get_routing(_actor: RoutingReader, centre: CentreDep) -> RoutingConfig:
    """The routing rules as configured: tried in order, the first match wins, else the
    fallback department. They change with the config file, not here."""
    return centre.dispatch.routing
