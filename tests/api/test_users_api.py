"""Users over HTTP: administrators manage accounts; everyone changes their own password and
language; departments and the routing rules are readable."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from .conftest import PASSWORD, login

Client = Callable[[str], TestClient]

NEW_PASSWORD = "river bank at dawn"


def test_an_administrator_adds_a_user_who_can_then_sign_in(as_user: Client,
                                                           app_client: TestClient) -> None:
    admin = as_user("admin")
    created = admin.post("/api/v1/users", json={
        "username": "wang", "display_name": "Wang Fang", "role": "department_staff",
        "department": "fishery-south", "password": NEW_PASSWORD})
    assert created.status_code == 201, created.text
    assert (created.json()["role"], created.json()["department"], created.json()["active"]) \
        == ("department_staff", "fishery-south", True)
    login(app_client, "wang", NEW_PASSWORD)
    assert app_client.get("/api/v1/me").json()["role"] == "department_staff"
    assert "wang" in {u["username"] for u in admin.get("/api/v1/users").json()}
    assert admin.get("/api/v1/users/wang").json()["display_name"] == "Wang Fang"
    assert admin.get("/api/v1/users/nobody").status_code == 404

    for body, reason in [
            ({"username": "wang", "display_name": "W", "role": "analyst"}, "already exists"),
            ({"username": "li", "display_name": "L", "role": "department_staff"},
             "need a department"),
            ({"username": "li", "display_name": "L", "role": "analyst", "department": "it"},
             "only they have one"),
            ({"username": "li", "display_name": "L", "role": "system"}, "reserved"),
            ({"username": "li", "display_name": "L", "role": "analyst", "password": "short"},
             "at least 10 characters"),
            ({"username": "li", "display_name": "L", "role": "department_staff",
              "department": "atlantis"}, "no active department")]:
        refused = admin.post("/api/v1/users", json=body)
        assert refused.status_code in (404, 422), body
        assert reason in str(refused.json()["detail"]), (body, refused.text)
    assert "li" not in {u["username"] for u in admin.get("/api/v1/users").json()}
    for body in [{"username": "../x", "display_name": "X", "role": "analyst"},
                 {"username": "x", "display_name": "", "role": "analyst"},
                 {"username": "x", "display_name": "X", "role": "analyst", "admin": True}]:
        assert admin.post("/api/v1/users", json=body).status_code == 422, body


def test_role_changes_apply_at_once_and_deactivation_ends_sessions(as_user: Client) -> None:
    admin, analyst = as_user("admin"), as_user("analyst")
    changed = admin.put("/api/v1/users/analyst/role",
                        json={"role": "department_staff", "department": "fishery-north"})
    assert changed.status_code == 200, changed.text
    assert analyst.get("/api/v1/me").json()["role"] == "department_staff"
    assert analyst.get("/api/v1/reviews").status_code == 403
    assert admin.put("/api/v1/users/analyst/role",
                     json={"role": "department_staff"}).status_code == 422
    own = admin.put("/api/v1/users/admin/role", json={"role": "auditor"})
    assert own.status_code == 422 and "your own role" in own.json()["detail"]

    assert admin.post("/api/v1/users/analyst/deactivate").json()["active"] is False
    assert analyst.get("/api/v1/me").status_code == 401
    itself = admin.post("/api/v1/users/admin/deactivate")
    assert itself.status_code == 422 and "yourself" in itself.json()["detail"]
    assert admin.post("/api/v1/users/nobody/deactivate").status_code == 404


def test_passwords_set_by_an_administrator_and_by_oneself(as_user: Client,
                                                          app_client: TestClient) -> None:
    admin, north = as_user("admin"), as_user("north")
    assert admin.put("/api/v1/users/north/password",
                     json={"password": NEW_PASSWORD}).status_code == 204
    assert north.get("/api/v1/me").status_code == 401  # their sessions ended
    login(app_client, "north", NEW_PASSWORD)
    assert admin.put("/api/v1/users/north/password", json={"password": "short"}
                     ).status_code == 422

    dispatcher = as_user("dispatcher")
    wrong = dispatcher.put("/api/v1/me/password", json={"current_password": "guess guess",
                                                        "new_password": NEW_PASSWORD})
    assert wrong.status_code == 422 and "current password is wrong" in wrong.json()["detail"]
    weak = dispatcher.put("/api/v1/me/password", json={"current_password": PASSWORD,
                                                       "new_password": "short"})
    assert weak.status_code == 422
    assert dispatcher.get("/api/v1/me").status_code == 200  # nothing changed
    assert dispatcher.put("/api/v1/me/password", json={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD}).status_code == 204
    assert dispatcher.get("/api/v1/me").status_code == 401
    login(dispatcher, "dispatcher", NEW_PASSWORD)


def test_everyone_chooses_their_language(as_user: Client) -> None:
    auditor = as_user("auditor")
    assert auditor.put("/api/v1/me/language", json={"language": "en"}).status_code == 204
    assert auditor.get("/api/v1/me").json()["language"] == "en"
    assert auditor.put("/api/v1/me/language", json={"language": "fr"}).status_code == 422
    assert auditor.get("/api/v1/me").json()["language"] == "en"


def test_departments_and_routing_are_readable(as_user: Client) -> None:
    departments = {d["code"]: d for d in as_user("north").get("/api/v1/departments").json()}
    assert departments["fishery-north"]["supervisor"] == "bureau"
    assert set(departments) == {"centre", "bureau", "fishery-north", "fishery-south",
                                "river-police", "it"}
    routing = as_user("dispatcher").get("/api/v1/departments/routing").json()
    assert routing["fallback"] == "centre"
    assert routing["rules"][0] == {"department": "it", "areas": [], "grids": [],
                                   "types": ["camera_fault"], "severities": []}
