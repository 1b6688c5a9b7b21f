"""Logging in: sessions, lockout after repeated failures, CSRF on state-changing requests."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.centre import Centre
from api.sessions import CSRF_HEADER

from ..conftest import ManualClock
from .conftest import PASSWORD, login


def test_login_opens_a_session_and_me_names_the_user(app_client: TestClient) -> None:
    assert app_client.get("/api/v1/me").status_code == 401
    login(app_client, "north")
    me = app_client.get("/api/v1/me").json()
    assert (me["username"], me["role"], me["language"]) == ("north", "department_staff", "zh")
    cookie = app_client.cookies.get("fishwatch_session")
    assert cookie and len(cookie) >= 40


def test_wrong_password_and_unknown_user_get_the_same_answer(app_client: TestClient) -> None:
    wrong = app_client.post("/api/v1/auth/login",
                            json={"username": "north", "password": "wrong password!"})
    unknown = app_client.post("/api/v1/auth/login",
                              json={"username": "nobody", "password": "wrong password!"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"].startswith("wrong user name or password")
    assert unknown.json()["detail"].startswith("wrong user name or password")


def test_five_failures_lock_the_account_until_the_lockout_ends(
        app_client: TestClient, clock: ManualClock) -> None:
    for _ in range(5):
        assert app_client.post("/api/v1/auth/login", json={
            "username": "north", "password": "guess guess guess"}).status_code == 401
    locked = app_client.post("/api/v1/auth/login",
                             json={"username": "north", "password": PASSWORD})
    assert locked.status_code == 401
    clock.advance(minutes=16)
    login(app_client, "north")


def test_state_changes_need_the_csrf_token(app_client: TestClient) -> None:
    login(app_client, "dispatcher")
    token = app_client.headers.pop(CSRF_HEADER)
    refused = app_client.post("/api/v1/auth/logout")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    wrong = app_client.post("/api/v1/auth/logout", headers={CSRF_HEADER: token[:-2] + "xx"})
    assert wrong.status_code == 403
    assert app_client.post("/api/v1/auth/logout", headers={CSRF_HEADER: token}).status_code == 204
    assert app_client.get("/api/v1/me").status_code == 401


def test_a_logout_ends_the_session_for_every_copy_of_the_cookie(
        app_client: TestClient, centre: Centre) -> None:
    login(app_client, "analyst")
    stolen = TestClient(app_client.app, cookies={
        "fishwatch_session": app_client.cookies["fishwatch_session"]})
    assert stolen.get("/api/v1/me").status_code == 200
    assert app_client.post("/api/v1/auth/logout").status_code == 204
    assert stolen.get("/api/v1/me").status_code == 401


def test_sessions_expire(app_client: TestClient, clock: ManualClock) -> None:
    login(app_client, "auditor")
    clock.advance(hours=13)
    assert app_client.get("/api/v1/me").status_code == 401
