"""Who may call what: every route of the JSON API, every role, from one table.

The table is written here, independently of the routers' gates, and must name every route
of the JSON API's routers (a new route fails the coverage test until it is added). A role
the table allows must get past the role checks (whatever the request's own fate: 2xx, 404,
409, 422); any other role gets 403. Department staff of one department get 404 for another
department's orders, so existence does not leak; the auditor reads and never writes; every
state-changing router checks the CSRF token.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.centre import Centre
from api.sessions import CSRF_HEADER
from dispatch.schemas import Role

from ..conftest import ManualClock, make_event

Client = Callable[[str], TestClient]

#: The routers this table covers (by their OpenAPI tag).
TAGS = {"orders", "events", "reviews", "commission", "ledgers", "stats", "users", "departments",
        "audit"}

#: The signed-in user of each role.
USERS = {Role.ADMIN: "admin", Role.DISPATCHER: "dispatcher", Role.DEPARTMENT_STAFF: "north",
         Role.ANALYST: "analyst", Role.COMMISSION: "commission", Role.AUDITOR: "auditor"}
ALL = frozenset(USERS)
A, D, S, N, C, U = (Role.ADMIN, Role.DISPATCHER, Role.DEPARTMENT_STAFF, Role.ANALYST,
                    Role.COMMISSION, Role.AUDITOR)
JPEG = b"\xff\xd8\xff\xe0" + bytes(300)


@dataclass(frozen=True)
class Call:
    """One request of the table; ``{order}``, ``{event}``, ``{photo}``, ``{case}`` are filled
    from the story."""

    method: str
    route: str
    allowed: frozenset[Role]
    url: str = ""
    json: dict[str, Any] | None = None
    files: dict[str, Any] | None = field(default=None, hash=False)

    def path(self, ids: dict[str, str]) -> str:
        return (self.url or self.route).format(**ids)


ORDER = "/api/v1/orders/{order_id}"
TABLE = [
    Call("GET", "/api/v1/orders", ALL),
    Call("GET", ORDER, ALL, "/api/v1/orders/{order}"),
    Call("POST", f"{ORDER}/sign", {S}, "/api/v1/orders/{order}/sign"),
    Call("POST", f"{ORDER}/start", {S}, "/api/v1/orders/{order}/start"),
    Call("POST", f"{ORDER}/feedback", {S}, "/api/v1/orders/{order}/feedback",
         json={"disposition": "dispersed"}),
    Call("POST", f"{ORDER}/return", {S}, "/api/v1/orders/{order}/return",
         json={"reason": "not our bank"}),
    Call("POST", f"{ORDER}/close", {D}, "/api/v1/orders/{order}/close", json={}),
    Call("POST", f"{ORDER}/reject-feedback", {D}, "/api/v1/orders/{order}/reject-feedback",
         json={"reason": "no photo"}),
    Call("POST", f"{ORDER}/redispatch", {D}, "/api/v1/orders/{order}/redispatch",
         json={"department": "fishery-south"}),
    Call("POST", f"{ORDER}/reopen", {D}, "/api/v1/orders/{order}/reopen", json={"reason": "back"}),
    Call("POST", f"{ORDER}/photos", {S}, "/api/v1/orders/{order}/photos",
         files={"file": ("a.jpg", JPEG, "image/jpeg")}),
    Call("GET", f"{ORDER}/photos/{{photo_id}}", ALL, "/api/v1/orders/{order}/photos/{photo}"),
    Call("GET", "/api/v1/events", ALL),
    Call("GET", "/api/v1/events/{event_id}", ALL, "/api/v1/events/{event}"),
    Call("GET", "/api/v1/reviews", {N, A, U}),
    Call("GET", "/api/v1/reviews/filters", {N, A, U}),
    Call("POST", "/api/v1/reviews/{order_id}/verdict", {N}, "/api/v1/reviews/{order}/verdict",
         json={"verdict": "confirmed"}),
    Call("GET", "/api/v1/reviews/dataset", {N, A}),
    Call("GET", "/api/v1/commission/cases", {C}),
    Call("GET", "/api/v1/commission/cases/{case_id}", {C}, "/api/v1/commission/cases/{case}"),
    Call("POST", "/api/v1/commission/cases/{case_id}/file", {C},
         "/api/v1/commission/cases/{case}/file", json={"reason": "an official"}),
    Call("POST", "/api/v1/commission/cases/{case_id}/dismiss", {C},
         "/api/v1/commission/cases/{case}/dismiss", json={"reason": "no grounds"}),
    Call("POST", "/api/v1/commission/cases/{case_id}/conclude", {C},
         "/api/v1/commission/cases/{case}/conclude",
         json={"outcome": "warning", "findings": "admitted"}),
    Call("GET", "/api/v1/ledgers/{ledger}", ALL, "/api/v1/ledgers/orders?format=csv"),
    Call("GET", "/api/v1/ledgers/{ledger}", ALL, "/api/v1/ledgers/alerts"),
    Call("GET", "/api/v1/ledgers/{ledger}", {C}, "/api/v1/ledgers/cases"),
    Call("GET", "/api/v1/stats/overview", ALL),
    Call("GET", "/api/v1/stats/checkpoints", ALL),
    Call("GET", "/api/v1/stats/daily", ALL),
    Call("GET", "/api/v1/users", {A}),
    Call("POST", "/api/v1/users", {A}, json={"username": "{new_user}", "display_name": "New",
                                             "role": "analyst"}),
    Call("GET", "/api/v1/users/{username}", {A}, "/api/v1/users/temp"),
    Call("PUT", "/api/v1/users/{username}/role", {A}, "/api/v1/users/temp/role",
         json={"role": "auditor"}),
    Call("POST", "/api/v1/users/{username}/deactivate", {A}, "/api/v1/users/temp/deactivate"),
    Call("PUT", "/api/v1/users/{username}/password", {A}, "/api/v1/users/temp/password",
         json={"password": "a long new password"}),
    Call("PUT", "/api/v1/me/password", ALL,
         json={"current_password": "not my password", "new_password": "another long one"}),
    Call("PUT", "/api/v1/me/language", ALL, json={"language": "en"}),
    Call("GET", "/api/v1/departments", ALL),
    Call("GET", "/api/v1/departments/routing", {A, D, U}),
    Call("GET", "/api/v1/audit", {A, U, C}),
]


def test_the_table_names_every_route_of_the_json_api(centre: Centre) -> None:
    routes = {(method.upper(), path)
              for path, operations in create_app(centre).openapi()["paths"].items()
              for method, operation in operations.items() if TAGS & set(operation["tags"])}
    assert {(call.method, call.route) for call in TABLE} == routes


def test_the_auditor_writes_nothing_but_their_own_account() -> None:
    assert [c.route for c in TABLE if c.method != "GET" and Role.AUDITOR in c.allowed] == [
        "/api/v1/me/password", "/api/v1/me/language"]


@dataclass(frozen=True)
class Story:
    order: str
    event: str
    photo: str
    case: str


@pytest.fixture
def story(as_user: Client, centre: Centre, clock: ManualClock) -> Story:
    """A north order with a photo, and a north order whose feedback opened a case."""
    with centre.db.transaction() as session:
        order = centre.orders.ingest(session=session, event=make_event(clock)).order_id
        other = centre.orders.ingest(session=session,
                                     event=make_event(clock, type="net_fishing")).order_id
    north = as_user("north")
    photo = north.post(f"/api/v1/orders/{order}/photos",
                       files={"file": ("a.jpg", JPEG[:-1], "image/jpeg")}).json()["id"]
    north.post(f"/api/v1/orders/{other}/sign")
    north.post(f"/api/v1/orders/{other}/start")
    north.post(f"/api/v1/orders/{other}/feedback", json={
        "disposition": "violation_confirmed",
        "subject": {"name": "Wang Wu", "public_official": True}})
    case = as_user("commission").get("/api/v1/commission/cases").json()["data"][0]["id"]
    event = north.get(f"/api/v1/orders/{order}").json()["events"][0]["id"]
    as_user("admin").post("/api/v1/users", json={"username": "temp", "display_name": "Temp",
                                                  "role": "analyst"})
    return Story(order=str(order), event=event, photo=photo, case=case)


def test_every_route_lets_in_exactly_the_roles_of_the_table(as_user: Client,
                                                            story: Story) -> None:
    clients = {role: as_user(name) for role, name in USERS.items()}
    ids = {"order": story.order, "event": story.event, "photo": story.photo,
           "case": story.case}
    wrong = []
    for call in TABLE:
        for role, client in clients.items():
            body = call.json
            if body is not None and body.get("username") == "{new_user}":
                body = body | {"username": f"new-{role.value}"}
            response = client.request(call.method, call.path(ids), json=body, files=call.files)
            let_in = response.status_code not in (401, 403)
            if let_in != (role in call.allowed):
                wrong.append(f"{call.method} {call.path(ids)} as {role.value}: "
                             f"{response.status_code} {response.text[:120]}")
            elif not let_in:
                assert "may not" in response.json()["detail"], response.text
    assert wrong == []


def test_another_departments_orders_do_not_exist_for_staff(as_user: Client,
                                                          story: Story) -> None:
    south = as_user("south")
    order = f"/api/v1/orders/{story.order}"
    for method, url, kwargs in [
            ("GET", order, {}), ("GET", f"{order}/photos/{story.photo}", {}),
            ("GET", f"/api/v1/events/{story.event}", {}),
            ("POST", f"{order}/sign", {}), ("POST", f"{order}/start", {}),
            ("POST", f"{order}/return", {"json": {"reason": "not ours"}}),
            ("POST", f"{order}/feedback", {"json": {"disposition": "dispersed"}}),
            ("POST", f"{order}/photos", {"files": {"file": ("a.jpg", JPEG, "image/jpeg")}})]:
        response = south.request(method, url, **kwargs)
        assert response.status_code == 404, f"{method} {url}: {response.text}"
        assert response.json()["detail"].startswith(("no order", "no event")), response.text
    assert story.order not in {o["id"] for o in south.get("/api/v1/orders").json()["data"]}
    assert south.get("/api/v1/events", params={"order_id": story.order}).json()["count"] == 0
    assert south.get("/api/v1/stats/overview").json()["orders"] == 0
    ledger = south.get("/api/v1/ledgers/orders", params={"format": "csv"}).text
    assert story.order not in ledger
    assert as_user("north").get(order).json()["order"]["status"] == "dispatched"


@pytest.mark.parametrize(("user", "method", "url", "body"), [
    ("north", "POST", "/api/v1/orders/{order}/sign", None),
    ("analyst", "POST", "/api/v1/reviews/{order}/verdict", {"verdict": "confirmed"}),
    ("commission", "POST", "/api/v1/commission/cases/{case}/file", {"reason": "grounds"}),
    ("admin", "POST", "/api/v1/users", {"username": "x", "display_name": "X", "role": "analyst"}),
    ("auditor", "PUT", "/api/v1/me/language", {"language": "en"}),
])
def test_state_changes_need_the_csrf_token(as_user: Client, story: Story, user: str,
                                           method: str, url: str, body: dict | None) -> None:
    client = as_user(user)
    token = client.headers.pop(CSRF_HEADER)
    url = url.format(order=story.order, case=story.case)
    refused = client.request(method, url, json=body)
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    wrong = client.request(method, url, json=body, headers={CSRF_HEADER: token[::-1]})
    assert wrong.status_code == 403
    assert client.request(method, url, json=body,
                          headers={CSRF_HEADER: token}).status_code in (200, 201, 204)


def test_signed_out_callers_get_401_everywhere(app_client: TestClient) -> None:
    ids = {"order": str(uuid.uuid4()), "event": str(uuid.uuid4()),
           "photo": str(uuid.uuid4()), "case": str(uuid.uuid4())}
    for call in TABLE:
        response = app_client.request(call.method, call.path(ids), json=call.json)
        assert response.status_code == 401, f"{call.method} {call.path(ids)}"
