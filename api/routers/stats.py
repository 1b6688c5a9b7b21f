"""Figures for the overview: totals and rates, checkpoints for the map, orders per day.

Every reader gets the figures of what they may see (department staff: their department);
the count of filed commission cases is the commission's only.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel

from api.deps import ActorDep, CentreDep, SessionDep
from api.schemas import operation_id
from dispatch.ledgers import LedgerFilter
from dispatch.schemas import EventType
from dispatch.stats import Checkpoint, Overview, checkpoints, daily_orders, overview

router = APIRouter(prefix="/api/v1/stats", tags=["stats"],
                   generate_unique_id_function=operation_id)


class DayCount(BaseModel):
    day: date
    orders: int


def period(since: AwareDatetime | None = None, until: AwareDatetime | None = None,
           area: Annotated[str | None, Query(max_length=100)] = None,
           department: Annotated[str | None, Query(max_length=63)] = None,
           type: EventType | None = None) -> LedgerFilter:
    """The filter every figure takes: a half-open UTC period and exact matches."""
    return LedgerFilter(since=since, until=until, area=area, department=department, type=type)


Period = Annotated[LedgerFilter, Depends(period)]


@router.get("/overview")
def get_overview(actor: ActorDep, centre: CentreDep, session: SessionDep,
                 where: Period) -> Overview:
    """Counts by area, type and department, median minutes to sign and close, overdue and
    false-alarm rates (orders by their latest dispatch in the period)."""
    return overview(session, actor, where, now=centre.clock())


@router.get("/checkpoints")
def list_checkpoints(actor: ActorDep, centre: CentreDep, session: SessionDep,
                     where: Period) -> list[Checkpoint]:
    """Every camera with its coordinates and its orders, open and overdue ones in the period."""
    return checkpoints(session, actor, where, now=centre.clock())


@router.get("/daily")
def list_daily_orders(actor: ActorDep, session: SessionDep, where: Period) -> list[DayCount]:
    """Orders dispatched per UTC day in the period (days without orders left out)."""
    return [DayCount(day=day, orders=n) for day, n in daily_orders(session, actor, where).items()]
