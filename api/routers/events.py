"""Alerts from the edge boxes, scoped like their orders (an alert of an order the reader may
not see is 404)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from api.deps import ActorDep, SessionDep
from api.schemas import Page, operation_id
from dispatch.schemas import EventType
from dispatch.search import MAX_PAGE, EventFilter, EventRecord, find_events, get_event

router = APIRouter(prefix="/api/v1/events", tags=["events"],
                   generate_unique_id_function=operation_id)


@router.get("")
def list_events(actor: ActorDep, session: SessionDep, order_id: UUID | None = None,
                type: EventType | None = None,
                device: Annotated[str | None, Query(max_length=100)] = None,
                camera: Annotated[str | None, Query(max_length=100)] = None,
                zone: Annotated[str | None, Query(max_length=100)] = None,
                since: AwareDatetime | None = None, until: AwareDatetime | None = None,
                limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
                offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> Page[EventRecord]:
    """Alerts, newest first; ``since``/``until`` bound their start."""
    where = EventFilter(order_id=order_id, type=type, device=device, camera=camera, zone=zone,
                        since=since, until=until)
    data, count = find_events(session, actor, where, limit=limit, offset=offset)
    return Page(data=data, count=count, limit=limit, offset=offset)


@router.get("/{event_id}")
def get_event_detail(event_id: UUID, actor: ActorDep, session: SessionDep) -> EventRecord:
    """One alert with its evidence references (download them from the evidence routes)."""
    return get_event(session, actor, event_id)
