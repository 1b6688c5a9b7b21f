"""Ledgers (台账) as CSV or XLSX: alerts and orders for every reader (scoped like every read),
the commission's cases for the commission only (its export is audited, so it commits)."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from api.deps import ActorDep, CentreDep, SessionDep
from api.schemas import operation_id
from dispatch.ledgers import (
    LedgerFilter,
    alerts_ledger,
    cases_ledger,
    orders_ledger,
    write_csv,
    write_xlsx,
)
from dispatch.schemas import EventType

router = APIRouter(prefix="/api/v1/ledgers", tags=["ledgers"],
                   generate_unique_id_function=operation_id)

#: Bytes of a ledger kept in memory while it is written; beyond, a temporary file.
SPOOL_BYTES = 16 * 2**20

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class LedgerKind(StrEnum):
    ALERTS = "alerts"
    ORDERS = "orders"
    CASES = "cases"


class LedgerFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


@router.get("/{ledger}", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}, XLSX: {}}}})
def export_ledger(ledger: LedgerKind, actor: ActorDep, centre: CentreDep, session: SessionDep,
                  format: LedgerFormat = LedgerFormat.XLSX,
                  since: AwareDatetime | None = None, until: AwareDatetime | None = None,
                  area: Annotated[str | None, Query(max_length=100)] = None,
                  department: Annotated[str | None, Query(max_length=63)] = None,
                  type: EventType | None = None) -> StreamingResponse:
    """The ledger of the period [since, until) in UTC: alerts by start, orders by (latest)
    dispatch, cases by opening; ``cases`` is the commission's and carries no personal data."""
    where = LedgerFilter(since=since, until=until, area=area, department=department, type=type)
    now = centre.clock()
    if ledger is LedgerKind.CASES:
        rows = cases_ledger(session, actor, where, at=now)
    else:
        rows = (alerts_ledger if ledger is LedgerKind.ALERTS else orders_ledger)(
            session, actor, where)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    if format is LedgerFormat.CSV:
        text = io.TextIOWrapper(spool, encoding="utf-8-sig", newline="")  # BOM: Excel reads UTF-8
        write_csv(rows, text)
        text.flush()
        text.detach()
        media_type = "text/csv; charset=utf-8"
    else:
        write_xlsx(rows, spool)
        media_type = XLSX
    session.commit()  # the cases ledger's export is audited; the others wrote nothing
    size = spool.tell()
    spool.seek(0)

    def chunks() -> Iterator[bytes]:
        with spool:
            while chunk := spool.read(1 << 20):
                yield chunk

    name = f"fishwatch-{ledger.value}-{now:%Y%m%d-%H%M}.{format.value}"
    return StreamingResponse(chunks(), media_type=media_type, headers={
        "Content-Length": str(size), "Content-Disposition": f'attachment; filename="{name}"'})
