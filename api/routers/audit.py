"""The audit trail, read page by page (``after_seq`` is the cursor); the commission's case
records are shown to the commission only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import SessionDep, allow
from api.schemas import operation_id
from dispatch.access import Actor
from dispatch.audit import list_records
from dispatch.schemas import AuditRecordView, Role

router = APIRouter(prefix="/api/v1/audit", tags=["audit"],
                   generate_unique_id_function=operation_id)

AuditReader = Annotated[Actor, allow(Role.ADMIN, Role.AUDITOR, Role.COMMISSION)]


@router.get("")
def list_audit_records(actor: AuditReader, session: SessionDep,
                       entity_type: Annotated[str | None, Query(max_length=40)] = None,
                       entity_id: Annotated[str | None, Query(max_length=64)] = None,
                       after_seq: Annotated[int, Query(ge=0, le=2**62)] = 0,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                       ) -> list[AuditRecordView]:
    """Records after ``after_seq``, oldest first; pass the last ``seq`` to get the next page."""
    return list_records(session, actor, entity_type=entity_type, entity_id=entity_id,
                        after_seq=after_seq, limit=limit)
