"""Ledgers (CSV, XLSX) and overview figures over a small, known district day."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from dispatch.access import Actor
from dispatch.commission import CommissionService
from dispatch.db import Database
from dispatch.errors import PermissionDenied
from dispatch.ledgers import (
    LedgerFilter,
    alerts_ledger,
    cases_ledger,
    orders_ledger,
    write_csv,
    write_xlsx,
)
from dispatch.orders import OrderService
from dispatch.registry import register_camera
from dispatch.schemas import (
    AnalystVerdict,
    Disposition,
    EventIn,
    EventType,
    FeedbackIn,
    SubjectInfo,
)
from dispatch.settings import DispatchConfig
from dispatch.stats import overview

from ..conftest import T0, Cast, ManualClock

Alert = Callable[..., EventIn]


@pytest.fixture
def day(db: Database, cast: Cast, config: DispatchConfig, clock: ManualClock,
        alert: Alert) -> Database:
    """Four orders: closed in 30 min (official caught), a false alarm reported by the south
    team, one left alone past its deadline, one dismissed by an analyst."""
    orders = OrderService(config, clock=clock)
    with db.transaction() as session:
        register_camera(session, actor=Actor.system("t"), at=clock(), device="box-1",
                        camera="cam-s1", place="=HYPERLINK(\"x\")", area="south", grid="S1")
        a = orders.ingest(session=session, event=alert()).order_id
        b = orders.ingest(session=session, event=alert(camera="cam-s1", type="net_fishing")
                          ).order_id
        orders.ingest(session=session, event=alert(camera="cam-s9", type="loitering"))
        d = orders.ingest(session=session, event=alert(type="boat_intrusion")).order_id
    steps: list[tuple[int, Callable[..., object], dict[str, object]]] = [
        (2, orders.record_verdict, {"actor": cast.analyst, "order_id": d,
                                    "verdict": AnalystVerdict.FALSE_POSITIVE}),
        (4, orders.sign, {"actor": cast.north, "order_id": a}),
        (10, orders.sign, {"actor": cast.south, "order_id": b}),
        (11, orders.start, {"actor": cast.south, "order_id": b}),
        (12, orders.start, {"actor": cast.north, "order_id": a}),
        (25, orders.submit_feedback, {"actor": cast.north, "order_id": a, "feedback": FeedbackIn(
            disposition=Disposition.VIOLATION_CONFIRMED, subject=SubjectInfo(
                name="Wang Wu", party_member=True))}),
        (30, orders.close, {"actor": cast.dispatcher, "order_id": a}),
        (50, orders.submit_feedback, {"actor": cast.south, "order_id": b,
                                      "feedback": FeedbackIn(disposition=Disposition.FALSE_ALARM)}),
        (60, orders.close, {"actor": cast.dispatcher, "order_id": b}),
    ]
    for minute, step, kwargs in steps:
        clock.now = T0 + timedelta(minutes=minute)
        with db.transaction() as session:
            step(session=session, **kwargs)
    clock.now = T0 + timedelta(hours=3)
    return db


def test_overview_figures(day: Database, cast: Cast, clock: ManualClock) -> None:
    with day.transaction() as session:
        figures = overview(session, cast.dispatcher, LedgerFilter(), now=clock())
        north = overview(session, cast.north, LedgerFilter(), now=clock())
        later = overview(session, cast.dispatcher, LedgerFilter(since=T0 + timedelta(days=1)),
                         now=clock())
    assert (figures.orders, figures.alerts) == (4, 4)
    assert figures.by_area == {"north": 2, "south": 2}
    assert figures.by_type == {"angling": 1, "boat_intrusion": 1, "loitering": 1,
                               "net_fishing": 1}
    assert figures.by_department == {"centre": 1, "fishery-north": 1, "fishery-south": 1,
                                     "river-police": 1}
    assert figures.median_minutes_to_sign == pytest.approx(7.0, abs=1e-3)
    assert figures.median_minutes_to_close == pytest.approx(30.0, abs=1e-3)
    assert figures.overdue_rate == 0.25  # the one left alone
    assert figures.false_alarm_rate == pytest.approx(2 / 3)
    assert figures.cases_filed is None  # not the commission's reader
    assert (north.orders, north.by_department) == (1, {"fishery-north": 1})
    assert (later.orders, later.median_minutes_to_sign, later.overdue_rate) == (0, None, None)


def test_cases_filed_count_for_the_commission(day: Database, cast: Cast,
                                              config: DispatchConfig,
                                              clock: ManualClock) -> None:
    cases = CommissionService(config, clock=clock)
    with day.transaction() as session:
        [case] = cases.list_cases(session=session, actor=cast.commission)
        cases.file_case(session=session, actor=cast.commission, case_id=case.id,
                        reason="member caught angling")
    with day.transaction() as session:
        assert overview(session, cast.commission, LedgerFilter(), now=clock()).cases_filed == 1


def test_orders_ledger_as_csv_with_filters(day: Database, cast: Cast) -> None:
    with day.transaction() as session:
        out = io.StringIO()
        count = write_csv(orders_ledger(session, cast.dispatcher,
                                        LedgerFilter(area="south")), out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert count == len(rows) == 2
    net = next(r for r in rows if r["type"] == "net_fishing")
    assert (net["department"], net["status"], net["disposition"]) == (
        "fishery-south", "closed", "false_alarm")
    assert net["place"] == "'=HYPERLINK(\"x\")"  # not a formula in a spreadsheet
    assert net["signed_utc"] == "2026-05-01 08:10:00"
    with day.transaction() as session:
        by_type = list(orders_ledger(session, cast.dispatcher,
                                     LedgerFilter(type=EventType.LOITERING, department="centre"))
                       .rows)
        mine = list(orders_ledger(session, cast.south, LedgerFilter()).rows)
    assert len(by_type) == 1 and len(mine) == 1


def test_alerts_ledger_as_xlsx(day: Database, cast: Cast, tmp_path: Path) -> None:
    path = tmp_path / "alerts.xlsx"
    with day.transaction() as session:
        count = write_xlsx(alerts_ledger(session, cast.auditor,
                                         LedgerFilter(until=T0 + timedelta(hours=1))), path)
    sheet = load_workbook(path).active
    rows = list(sheet.iter_rows(values_only=True))
    assert count == 4 and len(rows) == 5
    header = rows[0]
    assert header[:3] == ("event_id", "start_utc", "end_utc")
    first = dict(zip(header, rows[1], strict=True))
    assert first["start_utc"] == T0.replace(tzinfo=None) and first["evidence_files"] == 1


def test_cases_ledger_is_the_commissions(day: Database, cast: Cast, clock: ManualClock) -> None:
    with day.transaction() as session:
        rows = list(cases_ledger(session, cast.commission, LedgerFilter(), at=clock()).rows)
        with pytest.raises(PermissionDenied):
            cases_ledger(session, cast.dispatcher, LedgerFilter(), at=clock())
    assert len(rows) == 1 and rows[0][6] == "subject"
    assert "Wang" not in str(rows)
