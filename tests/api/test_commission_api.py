"""The commission's cases over HTTP, and the promise around them: a party member's or
official's personal details reach the commission and no one else, through any route."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from api.centre import Centre

from ..conftest import ManualClock, make_event

Client = Callable[[str], TestClient]

SUBJECT = {"name": "Zhang Weiguo", "id_number": "420102197001011234", "phone": "13800138000",
           "employer": "Riverside Township Office", "position": "deputy head",
           "party_member": True, "public_official": True, "notes": "owns the boat shed"}
#: What must never appear in an answer to anyone but the commission.
SECRETS = ["Zhang Weiguo", "420102197001011234", "13800138000", "Riverside Township Office",
           "deputy head", "owns the boat shed", "party_member", "public_official", "id_number"]


@pytest.fixture
def subject_order(as_user: Client, centre: Centre, clock: ManualClock) -> str:
    """A north order whose feedback named a party member; the case it opened."""
    with centre.db.transaction() as session:
        order_id = centre.orders.ingest(session=session, event=make_event(clock)).order_id
    north = as_user("north")
    url = f"/api/v1/orders/{order_id}"
    north.post(f"{url}/sign")
    north.post(f"{url}/start")
    response = north.post(f"{url}/feedback", json={
        "disposition": "violation_confirmed", "notes": "rod confiscated", "subject": SUBJECT})
    assert response.status_code == 200, response.text
    assert not any(secret in response.text for secret in SECRETS)
    return str(order_id)


@pytest.mark.parametrize("user", ["dispatcher", "north", "analyst", "auditor", "admin"])
def test_personal_fields_never_reach_anyone_but_the_commission(
        as_user: Client, subject_order: str, user: str) -> None:
    client = as_user(user)
    event = client.get(f"/api/v1/orders/{subject_order}").json()["events"][0]["id"]
    answers = []
    for url in [f"/api/v1/orders/{subject_order}", "/api/v1/orders", "/api/v1/events",
                f"/api/v1/events/{event}", "/api/v1/reviews", "/api/v1/reviews?reviewed=true",
                "/api/v1/reviews/dataset", "/api/v1/audit?limit=1000",
                "/api/v1/ledgers/orders?format=csv", "/api/v1/ledgers/alerts?format=csv",
                "/api/v1/ledgers/cases?format=csv", "/api/v1/stats/overview",
                "/api/v1/stats/checkpoints", "/api/v1/commission/cases",
                f"/api/v1/commission/cases?order_id={subject_order}", "/api/v1/users"]:
        response = client.get(url)
        answers.append(response)
        leaked = [secret for secret in SECRETS if secret in response.text]
        assert leaked == [], f"{url} as {user}: {leaked}"
    assert any(r.status_code == 200 and "rod confiscated" in r.text for r in answers)
    assert client.get("/api/v1/commission/cases").status_code == 403


def test_the_commission_reads_the_subject_and_works_the_case(
        as_user: Client, subject_order: str) -> None:
    commission = as_user("commission")
    board = commission.get("/api/v1/commission/cases").json()
    assert board["count"] == 1
    summary = board["data"][0]
    assert (summary["order_id"], summary["trigger"], summary["status"]) == (
        subject_order, "subject", "preliminary_check")
    assert not any(secret in str(summary) for secret in SECRETS)  # the board lists no subjects
    url = f"/api/v1/commission/cases/{summary['id']}"
    case = commission.get(url).json()
    assert case["subjects"] == [SUBJECT]
    assert case["history"]["order"]["id"] == subject_order

    early = commission.post(f"{url}/conclude", json={"outcome": "warning", "findings": "x"})
    assert early.status_code == 409 and "steps allowed from preliminary_check: file, dismiss" \
        in early.json()["detail"]
    assert commission.post(f"{url}/file", json={"reason": ""}).status_code == 422
    assert commission.post(f"{url}/file", json={"reason": "official confirmed"}
                           ).json()["status"] == "filed"
    assert commission.post(f"{url}/dismiss", json={"reason": "late"}).status_code == 409
    assert commission.post(f"{url}/conclude", json={"outcome": "sentence", "findings": "x"}
                           ).status_code == 422
    done = commission.post(f"{url}/conclude", json={"outcome": "serious_warning",
                                                    "findings": "admitted fishing"}).json()
    assert (done["status"], done["outcome"]) == ("concluded", "serious_warning")
    assert "admitted fishing" in done["findings"]
    assert commission.get(f"/api/v1/commission/cases/{uuid.uuid4()}").status_code == 404

    actions = [r["action"] for r in commission.get("/api/v1/audit?limit=1000").json()
               if r["entity_type"] == "commission_case"]
    assert {"case.opened", "case.subject_recorded", "case.listed", "case.read", "case.filed",
            "case.concluded"} <= set(actions)
    ledger = commission.get("/api/v1/ledgers/cases", params={"format": "csv"})
    assert summary["id"] in ledger.text and "concluded" in ledger.text
    assert not any(secret in ledger.text for secret in SECRETS)
    assert "case.ledger_exported" in {r["action"] for r in commission.get(
        "/api/v1/audit?limit=1000").json()}


def test_the_case_board_filters_and_pages(as_user: Client, subject_order: str,
                                          centre: Centre, clock: ManualClock) -> None:
    with centre.db.transaction() as session:
        other = centre.orders.ingest(session=session,
                                     event=make_event(clock, type="net_fishing")).order_id
    north = as_user("north")
    for reason in ("not ours", "still not ours"):  # two returns open a case (config: 2)
        north.post(f"/api/v1/orders/{other}/return", json={"reason": reason})
        as_user("dispatcher").post(f"/api/v1/orders/{other}/redispatch",
                                   json={"department": "fishery-north"})
    commission = as_user("commission")
    assert commission.get("/api/v1/commission/cases").json()["count"] == 2
    page = commission.get("/api/v1/commission/cases", params={"limit": 1, "offset": 1}).json()
    assert (page["count"], len(page["data"]), page["offset"]) == (2, 1, 1)
    by_order = commission.get("/api/v1/commission/cases", params={"order_id": str(other)})
    assert [c["trigger"] for c in by_order.json()["data"]] == ["repeated_returns"]
    assert commission.get("/api/v1/commission/cases",
                          params={"status": "filed"}).json()["count"] == 0
