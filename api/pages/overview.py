"""The overview: checkpoints on a map drawn from the cameras' coordinates, figures, trends,
the overdue list; a printable report of the same and the orders ledger as XLSX.

Every figure is scoped to the reader by dispatch (a department's staff see their own
department's); the cases-filed figure exists only for the commission.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.centre import Centre
from api.deps import CentreDep, SessionDep
from api.i18n import Translator
from api.pages.charts import bar_chart, checkpoint_map, trend_chart
from api.pages.deps import allow
from api.pages.templating import department_names, render, request_language
from api.sessions import SignedIn
from dispatch.inbox import Deadline, inbox
from dispatch.ledgers import LedgerFilter, orders_ledger, write_xlsx
from dispatch.schemas import Role
from dispatch.stats import checkpoints, daily_orders, overview

router = APIRouter(include_in_schema=False)

Reader = Annotated[SignedIn, Depends(allow(*(frozenset(Role) - {Role.SYSTEM})))]
Days = Annotated[int, Query(ge=1, le=366)]
#: The periods offered, in days.
PERIODS = (7, 30, 90)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _figures(request: Request, centre: Centre, session: Session, signed_in: SignedIn,
             days: int) -> dict[str, Any]:
    now = centre.clock()
    where = LedgerFilter(since=now - timedelta(days=days))
    t = Translator(request_language(request, signed_in))
    actor = signed_in.actor
    figures = overview(session, actor, where, now=now)
    names = department_names(request)
    labelled = {
        "by_type": {t.label(k, "EventType"): v for k, v in figures.by_type.items()},
        "by_area": figures.by_area,
        "by_department": {names.get(k, k): v for k, v in figures.by_department.items()},
    }
    return {
        "figures": figures, "days": days, "periods": PERIODS, "now": now,
        "map": checkpoint_map(checkpoints(session, actor, where, now=now),
                              label=t("overview.map")),
        "charts": {key: bar_chart(values, label=t(f"overview.{key}"))
                   for key, values in labelled.items()},
        "trend": trend_chart(daily_orders(session, actor, where),
                             (now - timedelta(days=days - 1)).date(), now.date(),
                             label=t("overview.trend")),
        "overdue": inbox(session, actor, deadline=Deadline.OVERDUE, now=now, limit=100),
    }


@router.get("/overview")
def overview_page(request: Request, centre: CentreDep, session: SessionDep, signed_in: Reader,
                  days: Days = 30) -> Response:
    return render(request, "overview.html", signed_in,
                  **_figures(request, centre, session, signed_in, days))


@router.get("/overview/report")
def report_page(request: Request, centre: CentreDep, session: SessionDep, signed_in: Reader,
                days: Days = 30) -> Response:
    """The same figures laid out for paper (the print stylesheet drops the page furniture)."""
    return render(request, "report.html", signed_in,
                  **_figures(request, centre, session, signed_in, days))


@router.get("/overview/orders.xlsx")
def orders_xlsx(centre: CentreDep, session: SessionDep, signed_in: Reader,
                days: Days = 30) -> Response:
    """The orders ledger (台账) of the period, as the reader may see it."""
    where = LedgerFilter(since=centre.clock() - timedelta(days=days))
    out = io.BytesIO()
    write_xlsx(orders_ledger(session, signed_in.actor, where), out)
    return Response(out.getvalue(), media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="fishwatch-orders-{days}d.xlsx"'})
