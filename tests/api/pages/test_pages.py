"""The pages without a browser: sign-in and redirects, role boundaries, CSRF on forms, what
each role may see, exports, the live stream's refusal, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from api.app import create_app
from api.centre import Centre
from dispatch.inbox import get_order, order_history
from dispatch.schemas import Disposition, FeedbackIn, OrderStatus, SubjectInfo

from ...conftest import Cast, ManualClock, make_event
from ..conftest import PASSWORD

PAGES = ["/inbox", "/reviews", "/commission", "/overview", "/overview/report", "/admin"]
#: Which role opens which page (the others get the 403 page).
ALLOWED = {
    "north": {"/inbox", "/overview", "/overview/report"},
    "dispatcher": {"/inbox", "/overview", "/overview/report"},
    "analyst": {"/reviews", "/overview", "/overview/report"},
    "commission": {"/commission", "/overview", "/overview/report"},
    "auditor": {"/inbox", "/reviews", "/overview", "/overview/report"},
    "admin": set(PAGES) - {"/commission"},
}


def sign_in(centre: Centre, username: str) -> TestClient:
    client = TestClient(create_app(centre))
    response = client.post("/login", data={"username": username, "password": PASSWORD},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


@pytest.fixture
def page_as(centre: Centre) -> Callable[[str], TestClient]:
    return lambda username: sign_in(centre, username)


@pytest.fixture
def north_order(centre: Centre, clock: ManualClock) -> str:
    with centre.db.transaction() as session:
        return str(centre.orders.ingest(session=session, event=make_event(clock)).order_id)


def test_pages_send_a_visitor_to_the_login_and_back_to_this_site_only(
        app_client: TestClient) -> None:
    for path in [*PAGES, "/orders/00000000-0000-0000-0000-000000000000", "/"]:
        response = app_client.get(path, follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (
            303, f"/login?next={path}"), path
    assert app_client.get("/live/stream").status_code == 401  # no redirect for a script
    response = app_client.post("/login", follow_redirects=False, data={
        "username": "north", "password": PASSWORD, "next": "/overview?days=7"})
    assert response.headers["location"] == "/overview?days=7"
    for target in ["//evil.example/x", "https://evil.example/", "/\\evil"]:
        response = app_client.post("/login", follow_redirects=False, data={
            "username": "north", "password": PASSWORD, "next": target})
        assert response.headers["location"] == "/inbox", target  # never another site


def test_wrong_passwords_then_the_lockout_message(app_client: TestClient,
                                                  clock: ManualClock) -> None:
    for _ in range(5):
        refused = app_client.post("/login", data={"username": "north", "password": "nope"})
        assert refused.status_code == 401 and "锁定" in refused.text
    locked = app_client.post("/login", data={"username": "north", "password": PASSWORD})
    assert locked.status_code == 401
    clock.advance(minutes=16)
    assert app_client.post("/login", data={"username": "north", "password": PASSWORD},
                           follow_redirects=False).status_code == 303


def test_each_role_opens_its_pages_and_gets_403_pages_elsewhere(
        page_as: Callable[[str], TestClient]) -> None:
    for username, allowed in ALLOWED.items():
        client = page_as(username)
        for path in PAGES:
            response = client.get(path)
            expected = 200 if path in allowed else 403
            assert response.status_code == expected, (username, path)
            assert response.headers["content-type"].startswith("text/html")


def test_staff_see_only_their_departments_orders(page_as: Callable[[str], TestClient],
                                                 north_order: str) -> None:
    north, south = page_as("north"), page_as("south")
    inbox = north.get("/inbox").text
    assert north_order in inbox
    assert "Fishery enforcement, north" in inbox  # the department's name, not its code
    assert north_order not in south.get("/inbox?tab=open").text
    assert south.get(f"/orders/{north_order}").status_code == 404
    assert south.get(f"/inbox/cards/{north_order}").status_code == 404
    page = south.get("/inbox").text
    refused = south.post(f"/orders/{north_order}/sign", data={"csrf_token": csrf_of(page)})
    assert refused.status_code == 404


def test_forms_need_the_sessions_csrf_token(page_as: Callable[[str], TestClient],
                                            centre: Centre, cast: Cast,
                                            north_order: str) -> None:
    north = page_as("north")
    page = north.get(f"/orders/{north_order}").text
    for data in [{}, {"csrf_token": "forged"}, {"csrf_token": csrf_of(page)[:-1]}]:
        assert north.post(f"/orders/{north_order}/sign", data=data).status_code == 403
    with centre.db.transaction() as session:
        assert get_order(session, cast.north, UUID(north_order)).status is OrderStatus.DISPATCHED
    signed = north.post(f"/orders/{north_order}/sign", data={"csrf_token": csrf_of(page)},
                        follow_redirects=False)
    assert signed.headers["location"].endswith("?done=sign")
    again = north.post(f"/orders/{north_order}/sign", data={"csrf_token": csrf_of(page)})
    assert again.status_code == 409 and "steps allowed from signed" in again.text


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4


def test_feedback_carries_its_photos_without_the_script(page_as: Callable[[str], TestClient],
                                                         centre: Centre, cast: Cast,
                                                         north_order: str) -> None:
    """A phone without JavaScript: the photos go with the feedback form itself."""
    order_id = UUID(north_order)
    with centre.db.transaction() as session:
        centre.orders.sign(session=session, actor=cast.north, order_id=order_id)
        centre.orders.start(session=session, actor=cast.north, order_id=order_id)
    north = page_as("north")
    page = north.get(f"/orders/{north_order}").text
    assert 'enctype="multipart/form-data"' in page and 'name="photos"' in page
    form = {"csrf_token": csrf_of(page), "disposition": Disposition.DISPERSED.value,
            "notes": "劝离"}

    too_many = north.post(f"/orders/{north_order}/feedback", data=form, files=[
        ("photos", (f"{i}.jpg", JPEG[:-1] + bytes([i]), "image/jpeg")) for i in range(21)])
    assert too_many.status_code == 422 and "at most 20 items" in too_many.text

    # A file that is not a picture refuses the feedback but keeps the good photo before it.
    refused = north.post(f"/orders/{north_order}/feedback", data=form, files=[
        ("photos", ("site.jpg", JPEG, "image/jpeg")),
        ("photos", ("notes.txt", b"hello", "text/plain"))])
    assert refused.status_code == 415 and "notes.txt: a field photo is one of" in refused.text
    with centre.db.transaction() as session:
        assert get_order(session, cast.north, order_id).status is OrderStatus.IN_PROGRESS
    kept = re.findall(r'name="photo_ids" value="([0-9a-f-]{36})" checked', refused.text)
    assert len(kept) == 1

    # The kept photo ticked, the same picture again and a second one: two photos in all.
    second = JPEG[:-1] + b"\x01"
    done = north.post(f"/orders/{north_order}/feedback", data={**form, "photo_ids": kept},
                      files=[("photos", ("site.jpg", JPEG, "image/jpeg")),
                             ("photos", ("more.jpg", second, "image/jpeg"))],
                      follow_redirects=False)
    assert done.status_code == 303, done.text
    with centre.db.transaction() as session:
        order = get_order(session, cast.north, order_id)
        feedback = next(line for line in order_history(session, cast.north, order_id)
                        if line.kind.value == "feedback_submitted")
    assert order.status is OrderStatus.FEEDBACK_SUBMITTED
    assert len(feedback.photos) == 2 and feedback.photos[0].id == UUID(kept[0])


def test_bodies_over_the_upload_limit_are_refused_unread(page_as: Callable[[str], TestClient],
                                                         centre: Centre, cast: Cast,
                                                         north_order: str) -> None:
    north = page_as("north")
    limit = centre.config.max_upload_mb * 2**20
    page = north.get(f"/orders/{north_order}").text
    declared = north.post(f"/orders/{north_order}/sign", data={"csrf_token": csrf_of(page)},
                          files={"photos": ("big.jpg", JPEG[:4] + bytes(limit), "image/jpeg")})
    assert declared.status_code == 413
    assert declared.json()["detail"] == (f"the request is larger than the centre's limit of "
                                         f"{centre.config.max_upload_mb} MB (centre.max_upload_mb)")

    def chunks():  # no Content-Length: the body is counted as it arrives
        for _ in range(limit // 2**20 + 1):
            yield bytes(2**20)

    for path in ["sign", "feedback"]:  # the form read by a dependency, and by FastAPI itself
        chunked = north.post(f"/orders/{north_order}/{path}", content=chunks(),
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert chunked.status_code == 413 and chunked.json()["detail"] == declared.json()["detail"]
    with centre.db.transaction() as session:
        assert get_order(session, cast.north, UUID(north_order)).status is OrderStatus.DISPATCHED


def test_subjects_reach_the_commission_pages_only(page_as: Callable[[str], TestClient],
                                                  centre: Centre, cast: Cast,
                                                  north_order: str) -> None:
    orders, order_id = centre.orders, UUID(north_order)
    with centre.db.transaction() as session:
        orders.sign(session=session, actor=cast.north, order_id=order_id)
        orders.start(session=session, actor=cast.north, order_id=order_id)
        orders.submit_feedback(session=session, actor=cast.north, order_id=order_id,
                               feedback=FeedbackIn(disposition=Disposition.VIOLATION_CONFIRMED,
                                                   subject=SubjectInfo(name="Zhao Liu",
                                                                       phone="13800000000",
                                                                       party_member=True)))
    for username in ["north", "dispatcher", "auditor", "admin"]:
        client = page_as(username)
        for path in [f"/orders/{north_order}", "/overview", "/inbox?tab=open"]:
            text = client.get(path).text
            assert "Zhao Liu" not in text and "13800000000" not in text, (username, path)
    board = page_as("commission")
    case_id = re.search(r"/commission/cases/([0-9a-f-]{36})", board.get("/commission").text)
    case = board.get(f"/commission/cases/{case_id.group(1)}").text  # type: ignore[union-attr]
    assert "Zhao Liu" in case and "13800000000" in case


def test_the_orders_ledger_downloads_as_xlsx(page_as: Callable[[str], TestClient],
                                             north_order: str) -> None:
    response = page_as("dispatcher").get("/overview/orders.xlsx?days=7")
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "order_id" and [r[0] for r in rows[1:]] == [north_order]
    assert page_as("south").get("/overview/orders.xlsx").status_code == 200
    south = load_workbook(io.BytesIO(page_as("south").get("/overview/orders.xlsx").content))
    assert len(list(south.active.iter_rows())) == 1  # the header: north's order is not theirs


def test_the_language_follows_the_cookie_then_the_account(app_client: TestClient,
                                                          page_as: Callable[[str], TestClient]
                                                          ) -> None:
    assert "登录" in app_client.get("/login").text
    app_client.post("/language", data={"lang": "en", "next": "/login"})
    assert "Sign in" in app_client.get("/login").text
    assert app_client.post("/language", data={"lang": "fr"}).status_code == 422
    north = page_as("north")
    page = north.get("/inbox").text
    assert "部门工单" in page
    assert north.post("/language", data={"lang": "en"}).status_code == 403  # no CSRF field
    north.post("/language", data={"lang": "en", "csrf_token": csrf_of(page)})
    assert "Department orders" in page_as("north").get("/inbox").text  # kept in the account
