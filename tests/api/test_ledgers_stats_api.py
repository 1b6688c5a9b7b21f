"""Ledgers (CSV and XLSX), figures and the audit trail over HTTP, each scoped to its reader."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from api.centre import Centre

from ..conftest import ManualClock, make_event

Client = Callable[[str], TestClient]


@pytest.fixture
def district(centre: Centre, clock: ManualClock) -> dict[str, str]:
    """Two north orders and a south one, dispatched now."""
    ids = {}
    with centre.db.transaction() as session:
        for name, camera, kind in [("n1", "cam-n1", "angling"), ("n2", "cam-n1", "net_fishing"),
                                   ("s1", "cam-s1", "angling")]:
            ids[name] = str(centre.orders.ingest(session=session, event=make_event(
                clock, camera=camera, type=kind)).order_id)
    return ids


def rows(response: object) -> list[dict[str, str]]:
    text = response.content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_orders_ledger_as_csv_and_xlsx_with_filters(as_user: Client, district: dict[str, str],
                                                    centre: Centre,
                                                    clock: ManualClock) -> None:
    clock.advance(days=1)
    with centre.db.transaction() as session:
        later = str(centre.orders.ingest(session=session, event=make_event(
            clock, camera="cam-s1", type="net_fishing")).order_id)
    dispatcher = as_user("dispatcher")
    response = dispatcher.get("/api/v1/ledgers/orders", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    assert response.content.startswith(b"\xef\xbb\xbf")  # Excel opens it as UTF-8
    assert [r["order_id"] for r in rows(response)][-1] == later
    assert len(rows(response)) == 4
    since = dispatcher.get("/api/v1/ledgers/orders",
                           params={"format": "csv", "since": clock().isoformat()})
    assert [r["order_id"] for r in rows(since)] == [later]
    north = dispatcher.get("/api/v1/ledgers/orders", params={"format": "csv", "area": "north"})
    assert {r["order_id"] for r in rows(north)} == {district["n1"], district["n2"]}
    nets = dispatcher.get("/api/v1/ledgers/orders", params={"format": "csv",
                                                            "type": "net_fishing"})
    assert {r["order_id"] for r in rows(nets)} == {district["n2"], later}

    xlsx = dispatcher.get("/api/v1/ledgers/orders", params={"department": "fishery-south"})
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(xlsx.content), read_only=True).active
    table = list(sheet.iter_rows(values_only=True))
    assert table[0][:3] == ("order_id", "dispatched_utc", "department")
    assert {r[0] for r in table[1:]} == {district["s1"], later}

    alerts = rows(dispatcher.get("/api/v1/ledgers/alerts", params={"format": "csv"}))
    assert len(alerts) == 4 and {a["device"] for a in alerts} == {"box-1"}
    staff = rows(as_user("north").get("/api/v1/ledgers/orders", params={"format": "csv"}))
    assert {r["order_id"] for r in staff} == {district["n1"], district["n2"]}
    assert dispatcher.get("/api/v1/ledgers/minutes").status_code == 422
    assert dispatcher.get("/api/v1/ledgers/orders", params={"format": "pdf"}).status_code == 422


def test_the_cases_ledger_is_the_commissions(as_user: Client, district: dict[str, str]) -> None:
    for user in ("dispatcher", "admin", "auditor", "north", "analyst"):
        refused = as_user(user).get("/api/v1/ledgers/cases")
        assert refused.status_code == 403, user
        assert "may not export the commission's ledger" in refused.json()["detail"]
    commission = as_user("commission")
    assert commission.get("/api/v1/ledgers/cases", params={"format": "csv"}).status_code == 200
    exported = [r for r in commission.get("/api/v1/audit", params={"limit": 1000}).json()
                if r["action"] == "case.ledger_exported"]
    assert len(exported) == 1 and exported[0]["actor"] == "commission:commission"


def test_figures_follow_the_reader(as_user: Client, district: dict[str, str], centre: Centre,
                                   clock: ManualClock) -> None:
    north = as_user("north")
    clock.advance(minutes=6)
    north.post(f"/api/v1/orders/{district['n1']}/sign")
    clock.advance(minutes=30)  # the other orders are now past their 30-minute signing time
    dispatcher = as_user("dispatcher")
    figures = dispatcher.get("/api/v1/stats/overview").json()
    assert (figures["orders"], figures["alerts"]) == (3, 3)
    assert figures["by_department"] == {"fishery-north": 2, "fishery-south": 1}
    assert figures["median_minutes_to_sign"] == pytest.approx(6.0, abs=1e-3)  # julianday
    assert figures["overdue_rate"] == pytest.approx(2 / 3)
    assert figures["cases_filed"] is None
    assert north.get("/api/v1/stats/overview").json()["by_department"] == {"fishery-north": 2}
    assert as_user("commission").get("/api/v1/stats/overview").json()["cases_filed"] == 0
    only_nets = dispatcher.get("/api/v1/stats/overview", params={"type": "net_fishing"}).json()
    assert only_nets["orders"] == 1

    points = {p["camera"]: p for p in dispatcher.get("/api/v1/stats/checkpoints").json()}
    assert (points["cam-n1"]["orders"], points["cam-n1"]["overdue"]) == (2, 1)
    assert (points["cam-s9"]["orders"], points["cam-s9"]["lat"]) == (0, 30.5)
    assert dispatcher.get("/api/v1/stats/daily").json() == [{"day": "2026-05-01",
                                                             "orders": 3}]
    assert dispatcher.get("/api/v1/stats/overview",
                          params={"since": "2026-05-01"}).status_code == 422


def test_the_audit_trail_pages_and_hides_the_commissions_records(
        as_user: Client, district: dict[str, str]) -> None:
    north = as_user("north")
    north.post(f"/api/v1/orders/{district['n1']}/sign")
    north.post(f"/api/v1/orders/{district['n1']}/start")
    north.post(f"/api/v1/orders/{district['n1']}/feedback", json={
        "disposition": "violation_confirmed",
        "subject": {"name": "Li", "public_official": True}})
    admin, auditor = as_user("admin"), as_user("auditor")
    everything = admin.get("/api/v1/audit", params={"limit": 1000}).json()
    assert [r["seq"] for r in everything] == sorted(r["seq"] for r in everything)
    assert "order.signed" in {r["action"] for r in everything}
    assert all(r["entity_type"] != "commission_case" for r in everything)
    assert all(r["entity_type"] != "commission_case"
               for r in auditor.get("/api/v1/audit", params={"limit": 1000}).json())
    first = admin.get("/api/v1/audit", params={"limit": 5}).json()
    after = admin.get("/api/v1/audit", params={"limit": 5, "after_seq": first[-1]["seq"]}).json()
    assert [r["seq"] for r in first + after] == [r["seq"] for r in everything[:10]]
    mine = admin.get("/api/v1/audit", params={"entity_type": "order",
                                              "entity_id": district["n1"]}).json()
    assert [r["action"] for r in mine] == ["order.dispatched", "order.signed", "order.started",
                                           "order.feedback_submitted"]
    assert as_user("dispatcher").get("/api/v1/audit").status_code == 403
