"""Reading evidence records (snapshots, clips) with the access of the order they belong to.

An evidence file is as visible as its event's order: department staff reach their own
department's (and those escalated to it), other readers all of them; anything out of scope is
reported as not found, so its existence does not leak. A later file of the same kind for the
same event supersedes an earlier one (``current``); both stay, as every record does.
"""

from __future__ import annotations

from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from dispatch.access import Actor, order_scope
from dispatch.errors import NotFound
from dispatch.models import Event, Evidence, Order
from dispatch.schemas import EvidenceKind, Sha256, View


class EvidenceFile(View):
    """An evidence record and where its bytes are."""

    id: int
    event_id: UUID
    order_id: UUID
    kind: EvidenceKind
    sha256: Sha256
    size: int
    content_type: str
    storage_key: str
    #: False once a later file of the same kind came for the event.
    current: bool


def _query(actor: Actor) -> sa.Select[tuple[Evidence, UUID, bool]]:
    later = aliased(Evidence)
    superseded = sa.exists().where(later.event_id == Evidence.event_id,
                                   later.kind == Evidence.kind, later.id > Evidence.id)
    return (sa.select(Evidence, Event.order_id, ~superseded)
            .join(Event, Event.id == Evidence.event_id).join(Order, Order.id == Event.order_id)
            .where(order_scope(actor)))


def _view(row: Evidence, order_id: UUID, current: bool) -> EvidenceFile:
    return EvidenceFile(id=row.id, event_id=row.event_id, order_id=order_id, kind=row.kind,
                        sha256=row.sha256, size=row.size, content_type=row.content_type,
                        storage_key=row.storage_key, current=bool(current))


def get_evidence(session: Session, actor: Actor, evidence_id: int) -> EvidenceFile:
    found = session.execute(_query(actor).where(Evidence.id == evidence_id)).first()
    if found is None:
        raise NotFound(f"no evidence {evidence_id}")
    return _view(*found)


def find_evidence(session: Session, actor: Actor, event_id: UUID, kind: EvidenceKind,
                  sha256: str) -> EvidenceFile:
    """The file of an event by kind and sha256 (how event views name their evidence)."""
    found = session.execute(_query(actor).where(Evidence.event_id == event_id,
                                                Evidence.kind == kind,
                                                Evidence.sha256 == sha256)).first()
    if found is None:
        raise NotFound(f"event {event_id} has no {kind.value} with sha256 {sha256}")
    return _view(*found)


def event_evidence(session: Session, actor: Actor, event_id: UUID) -> list[EvidenceFile]:
    """Every file of the event, oldest first; 404 for an event the actor may not see."""
    visible = session.scalar(sa.select(Event.id).join(Order, Order.id == Event.order_id)
                             .where(Event.id == event_id, order_scope(actor)))
    if visible is None:
        raise NotFound(f"no event {event_id}")
    rows = session.execute(_query(actor).where(Evidence.event_id == event_id)
                           .order_by(Evidence.id))
    return [_view(*row) for row in rows]
