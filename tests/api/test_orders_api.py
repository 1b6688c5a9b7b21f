"""Orders over HTTP: the filtered list and its pages, the detail, every step with its refusals,
field photos (good and bad uploads), and events scoped like their orders."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.centre import Centre
from api.settings import CentreConfig
from dispatch.schemas import AnalystVerdict

from ..conftest import Cast, ManualClock, make_event

Client = Callable[[str], TestClient]

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4
PNG = b"\x89PNG\r\n\x1a\n" + bytes(200)


@pytest.fixture
def centre_config(tmp_path: Path) -> CentreConfig:
    """A 1 MB upload limit, so that an oversize photo is cheap to send."""
    return CentreConfig.model_validate({"evidence": {"folder": str(tmp_path / "evidence")},
                                        "max_upload_mb": 1})


def ingest(centre: Centre, clock: ManualClock, **fields: object) -> uuid.UUID:
    with centre.db.transaction() as session:
        return centre.orders.ingest(session=session, event=make_event(clock, **fields)).order_id


def orders_of(client: TestClient, **params: object) -> dict:
    response = client.get("/api/v1/orders", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_list_filters_counts_and_pages_in_a_stable_order(
        as_user: Client, centre: Centre, clock: ManualClock) -> None:
    north = [ingest(centre, clock, camera="cam-n1", type=kind)
             for kind in ("angling", "net_fishing", "loitering")]
    clock.advance(minutes=5)
    south = ingest(centre, clock, camera="cam-s1", severity="high")
    police = ingest(centre, clock, camera="cam-s9", type="boat_intrusion")
    dispatcher = as_user("dispatcher")

    everything = orders_of(dispatcher)
    assert everything["count"] == 5
    assert {o["id"] for o in everything["data"]} == {str(i) for i in [*north, south, police]}
    paged = [o["id"] for offset in range(0, 5, 2)
             for o in orders_of(dispatcher, limit=2, offset=offset)["data"]]
    assert paged == [o["id"] for o in everything["data"]]  # no repeats, no gaps
    assert orders_of(dispatcher, limit=2)["count"] == 5

    assert [o["id"] for o in orders_of(dispatcher, department="fishery-north")["data"]] == \
        [o["id"] for o in everything["data"] if o["id"] in {str(i) for i in north}]
    assert orders_of(dispatcher, type="boat_intrusion")["data"][0]["id"] == str(police)
    assert orders_of(dispatcher, camera="cam-s1")["data"][0]["id"] == str(south)
    assert orders_of(dispatcher, department="no-such-team")["count"] == 0
    since = clock().isoformat()
    assert {o["id"] for o in orders_of(dispatcher, since=since)["data"]} == {str(south),
                                                                             str(police)}
    assert orders_of(dispatcher, until=since)["count"] == 3
    assert orders_of(dispatcher, status=["signed", "closed"])["count"] == 0

    # The high-severity order must be signed within 10 minutes, the others within 30:
    # 16 minutes on, the south order is overdue, the north ones due in 14, police's in 19.
    clock.advance(minutes=11)
    assert [o["id"] for o in orders_of(dispatcher, deadline="overdue")["data"]] == [str(south)]
    due_soon = orders_of(dispatcher, deadline="due_soon", due_within_min=15)["data"]
    assert {o["id"] for o in due_soon} == {str(i) for i in north}
    by_deadline = orders_of(dispatcher, sort="deadline")["data"]
    assert [o["sign_due_at"] for o in by_deadline] == sorted(o["sign_due_at"]
                                                             for o in by_deadline)

    staff = as_user("north")
    assert {o["id"] for o in orders_of(staff)["data"]} == {str(i) for i in north}
    assert orders_of(staff, department="fishery-south")["count"] == 0


def test_bad_list_parameters_are_422_with_the_reason(as_user: Client) -> None:
    dispatcher = as_user("dispatcher")
    for params in [{"limit": 0}, {"limit": 501}, {"offset": -1}, {"status": "lost"},
                   {"since": "2026-05-01T08:00:00"}, {"deadline": "yesterday"}]:
        response = dispatcher.get("/api/v1/orders", params=params)
        assert response.status_code == 422, params
        assert response.json()["detail"], params


def test_the_whole_life_cycle_with_a_field_photo(as_user: Client, centre: Centre,
                                                 clock: ManualClock) -> None:
    order_id = ingest(centre, clock)
    staff, dispatcher = as_user("north"), as_user("dispatcher")
    url = f"/api/v1/orders/{order_id}"
    assert dispatcher.get(url).json()["next_steps"] == ["sign", "return",
                                                        "dismiss_as_false_alarm"]
    assert staff.post(f"{url}/sign").json()["status"] == "signed"
    assert staff.post(f"{url}/start").json()["status"] == "in_progress"
    uploaded = staff.post(f"{url}/photos", files={"file": ("../../../etc/passwd", JPEG,
                                                           "image/jpeg")})
    assert uploaded.status_code == 201, uploaded.text
    photo = uploaded.json()
    assert photo["storage_key"].startswith(f"orders/{order_id}/photo-")  # not the file name
    assert photo["size"] == len(JPEG)
    again = staff.post(f"{url}/photos", files={"file": ("b.jpg", JPEG, "image/jpeg")})
    assert again.json()["id"] == photo["id"]

    submitted = staff.post(f"{url}/feedback", json={
        "disposition": "dispersed", "notes": "two anglers left", "photo_ids": [photo["id"]]})
    assert submitted.json()["status"] == "feedback_submitted"
    assert dispatcher.post(f"{url}/reject-feedback",
                           json={"reason": "the photo does not show the bank"}
                           ).json()["status"] == "in_progress"
    staff.post(f"{url}/feedback", json={"disposition": "dispersed", "photo_ids": [photo["id"]]})
    closed = dispatcher.post(f"{url}/close", json={"note": "checked"})
    assert closed.json()["status"] == "closed", closed.text

    detail = dispatcher.get(url).json()
    assert [line["kind"] for line in detail["history"]] == [
        "dispatched", "signed", "started", "feedback_submitted", "feedback_rejected",
        "feedback_submitted", "closed"]
    assert detail["history"][3]["photos"][0]["id"] == photo["id"]
    assert detail["history"][4]["note"] == "the photo does not show the bank"
    assert [p["id"] for p in detail["photos"]] == [photo["id"]]
    assert len(detail["events"]) == 1 and detail["events"][0]["camera"] == "cam-n1"
    assert detail["next_steps"] == ["reopen"]
    download = dispatcher.get(f"{url}/photos/{photo['id']}")
    assert download.content == JPEG
    assert download.headers["content-type"] == "image/jpeg"
    assert download.headers["x-content-type-options"] == "nosniff"

    reopened = dispatcher.post(f"{url}/reopen", json={"reason": "anglers back the next day"})
    assert (reopened.json()["status"], reopened.json()["round"]) == ("dispatched", 2)


def test_a_returned_order_goes_to_another_department(as_user: Client, centre: Centre,
                                                     clock: ManualClock) -> None:
    order_id = ingest(centre, clock)
    url = f"/api/v1/orders/{order_id}"
    north, south, dispatcher = as_user("north"), as_user("south"), as_user("dispatcher")
    assert north.post(f"{url}/return", json={"reason": "that bank is the south team's"}
                      ).json()["status"] == "returned"
    assert dispatcher.post(f"{url}/redispatch", json={"department": "no-such-team"}
                           ).status_code == 404
    moved = dispatcher.post(f"{url}/redispatch", json={"department": "fishery-south"})
    assert (moved.json()["department"], moved.json()["status"]) == ("fishery-south",
                                                                    "dispatched")
    assert north.get(url).status_code == 404
    assert south.post(f"{url}/sign").json()["status"] == "signed"


def test_refused_steps_say_why(as_user: Client, centre: Centre, clock: ManualClock) -> None:
    order_id = ingest(centre, clock)
    url = f"/api/v1/orders/{order_id}"
    staff, dispatcher = as_user("north"), as_user("dispatcher")
    early = dispatcher.post(f"{url}/close", json={})
    assert early.status_code == 409
    assert "steps allowed from dispatched: sign, return" in early.json()["detail"]
    staff.post(f"{url}/sign")
    twice = staff.post(f"{url}/sign")
    assert twice.status_code == 409 and "but it is signed" in twice.json()["detail"]
    for body in [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x", "extra": 1}]:
        assert staff.post(f"{url}/return", json=body).status_code == 422, body
    staff.post(f"{url}/start")
    foreign = staff.post(f"{url}/feedback", json={"disposition": "dispersed",
                                                  "photo_ids": [str(uuid.uuid4())]})
    assert foreign.status_code == 422 and "no photo" in foreign.json()["detail"]
    not_party = staff.post(f"{url}/feedback", json={
        "disposition": "violation_confirmed", "subject": {"name": "Li Si"}})
    assert not_party.status_code == 422
    assert dispatcher.get(url).json()["order"]["status"] == "in_progress"  # nothing lost
    missing = dispatcher.get(f"/api/v1/orders/{uuid.uuid4()}")
    assert missing.status_code == 404 and missing.json()["detail"].startswith("no order")
    assert dispatcher.get("/api/v1/orders/not-a-uuid").status_code == 422


@pytest.mark.parametrize(("name", "content", "content_type", "status", "reason"), [
    ("notes.txt", b"hello", "text/plain", 415, "a field photo is one of"),
    ("page.html", b"<html><script>alert(1)</script>", "text/html", 415, "a field photo is"),
    ("shot.png", JPEG, "image/png", 415, "not a image/png picture"),
    ("shot.jpg", b"GIF89a" + bytes(100), "image/jpeg", 415, "not a image/jpeg picture"),
    ("shot.webp", b"RIFF\x00\x00\x00\x00WAVE", "image/webp", 415, "not a image/webp"),
    ("big.jpg", JPEG[:4] + bytes(2**20), "image/jpeg", 413, "limit of 1 MB"),
])
def test_bad_photo_uploads_are_refused_and_store_nothing(
        as_user: Client, centre: Centre, clock: ManualClock, tmp_path: Path, name: str,
        content: bytes, content_type: str, status: int, reason: str) -> None:
    order_id = ingest(centre, clock)
    staff = as_user("north")
    response = staff.post(f"/api/v1/orders/{order_id}/photos",
                          files={"file": (name, content, content_type)})
    assert response.status_code == status, response.text
    assert reason in response.json()["detail"]
    assert not list((tmp_path / "evidence").glob("orders/**/*.*"))
    assert staff.get(f"/api/v1/orders/{order_id}").json()["photos"] == []


def test_photo_uploads_need_the_file_field_and_a_working_department(
        as_user: Client, centre: Centre, clock: ManualClock, cast: Cast) -> None:
    order_id = ingest(centre, clock)
    url = f"/api/v1/orders/{order_id}/photos"
    staff = as_user("north")
    assert staff.post(url, files={"picture": ("a.jpg", JPEG, "image/jpeg")}).status_code == 422
    assert staff.post(url, json={"file": "abc"}).status_code == 415
    assert as_user("south").post(url, files={"file": ("a.jpg", JPEG, "image/jpeg")}
                                 ).status_code == 404
    assert staff.post(url, files={"file": ("a.png", PNG, "image/png")}).status_code == 201
    with centre.db.transaction() as session:
        centre.orders.record_verdict(session=session, actor=cast.analyst, order_id=order_id,
                                     verdict=AnalystVerdict.FALSE_POSITIVE, note="a heron")
    closed = staff.post(url, files={"file": ("b.png", PNG + b"1", "image/png")})
    assert closed.status_code == 409 and "is closed" in closed.json()["detail"]


def test_events_are_listed_and_scoped_like_their_orders(
        as_user: Client, centre: Centre, clock: ManualClock) -> None:
    north_order = ingest(centre, clock, zone="jetty")
    clock.advance(minutes=1)
    south_order = ingest(centre, clock, camera="cam-s1")
    dispatcher, south = as_user("dispatcher"), as_user("south")
    listed = dispatcher.get("/api/v1/events").json()
    assert listed["count"] == 2
    assert [e["order_id"] for e in listed["data"]] == [str(south_order), str(north_order)]
    jetty = dispatcher.get("/api/v1/events", params={"zone": "jetty"}).json()["data"]
    assert [e["order_id"] for e in jetty] == [str(north_order)]
    north_event = jetty[0]["id"]
    assert dispatcher.get(f"/api/v1/events/{north_event}").json()["zone"] == "jetty"
    assert [e["order_id"] for e in south.get("/api/v1/events").json()["data"]] == [
        str(south_order)]
    assert south.get(f"/api/v1/events/{north_event}").status_code == 404
    assert south.get("/api/v1/events", params={"order_id": str(north_order)}
                     ).json()["count"] == 0
