"""POST /api/v1/ingest/events and /heartbeat against docs/uplink.md: every answer of the
contract, what is stored for each, and that a refused message stores nothing."""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.app import create_app
from api.centre import Centre
from api.settings import CentreConfig
from dispatch.access import Actor
from dispatch.db import Database
from dispatch.devices import add_device, issue_token, revoke_tokens
from dispatch.models import AuditRecord, Camera, Event, Evidence, Order
from dispatch.settings import DispatchConfig

from ..conftest import Cast, ManualClock, district_config, seed
from .messages import (
    EVENT_ID,
    JPEG,
    JPEG_CLEAN,
    MP4,
    document,
    parts_of,
    send,
    snapshots,
)
from .serving import serve

ADMIN = Actor.system("test-setup")


@pytest.fixture
def centre_config(tmp_path: Path) -> CentreConfig:
    """A 1 MB limit, so that the oversize case stays small."""
    return CentreConfig.model_validate({"evidence": {"folder": str(tmp_path / "evidence")},
                                        "max_upload_mb": 1})


@pytest.fixture
def box_centre(db: Database, config: DispatchConfig, clock: ManualClock, cast: Cast,
               centre_config: CentreConfig) -> Centre:
    """The seeded district without passwords (boxes need none, and hashing them is slow)."""
    return Centre.open(centre_config, config, clock=clock, db=db)


@pytest.fixture
def client(box_centre: Centre) -> Iterator[TestClient]:
    with TestClient(create_app(box_centre)) as client:
        yield client


@pytest.fixture
def token(db: Database, cast: Cast, clock: ManualClock) -> str:
    """A token of box-1, which owns the seeded cameras cam-n1, cam-s1 and cam-s9."""
    with db.transaction() as session:
        return issue_token(session, actor=ADMIN, at=clock(), device="box-1").token


def counts(db: Database) -> tuple[int, int, int]:
    with db.transaction() as session:
        return tuple(session.scalar(sa.select(sa.func.count()).select_from(table))
                     for table in (Order, Event, Evidence))  # type: ignore[return-value]


def stored_files(centre: Centre) -> list[Path]:
    root = Path(centre.config.evidence.folder)
    return sorted(p for p in root.rglob("*") if p.is_file() and ".incoming" not in p.parts)


# --- the happy path ---------------------------------------------------------------------------
def test_open_then_close_then_resends(client: TestClient, token: str,
                                      box_centre: Centre) -> None:
    opened = send(client, token, document(files=snapshots()), snapshots())
    assert (opened.status_code, opened.json()) == (201, {"status": "created"})
    again = send(client, token, document(files=snapshots()), snapshots())
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    clip = {"clip.mp4": MP4}
    closed = send(client, token, document(3, status="closed", outcome="stayed", files=clip),
                  clip)
    assert (closed.status_code, closed.json()) == (201, {"status": "created"})
    older = send(client, token, document(2, files=clip), clip)  # parked at the box once
    assert (older.status_code, older.json()) == (200, {"status": "duplicate"})

    assert counts(box_centre.db) == (1, 1, 3)
    with box_centre.db.transaction() as session:
        event = session.get_one(Event, uuid.UUID(EVENT_ID))
        assert (event.revision, event.zone, event.outcome, event.type) == (
            3, "bank", "stayed", "net_fishing")
        assert event.end_at is not None and event.end_at.isoformat() == "2026-05-01T08:00:30+00:00"
        evidence = {e.kind.value: e for e in event.evidence}
        order = session.get_one(Order, event.order_id)
        assert order.department.code == "fishery-north"
    for kind, data in (("snapshot", JPEG), ("snapshot_clean", JPEG_CLEAN), ("clip", MP4)):
        row = evidence[kind]
        assert (row.size, row.sha256) == (len(data), hashlib.sha256(data).hexdigest())
        assert row.storage_key == f"events/{EVENT_ID}/{kind}-{row.sha256[:16]}" + (
            ".mp4" if kind == "clip" else ".jpg")
        with box_centre.evidence.open(row.storage_key) as reader:
            assert reader.read() == data
    assert len(stored_files(box_centre)) == 3


def test_unknown_fields_are_ignored_and_a_camera_fault_is_kept(
        client: TestClient, token: str, box_centre: Centre) -> None:
    doc = document(camera="cam-s1", type="camera_fault", severity="high", zone=None,
                   track_ids=[], confidence=1.0, fault="black", detail="mean luma 3.1",
                   files={"snapshot.jpg": JPEG}, firmware="2.1", extra={"nested": True})
    doc["model"]["quantised"] = True
    doc["evidence"][0]["width"] = 1920
    answer = send(client, token, doc, {"snapshot.jpg": JPEG})
    assert answer.status_code == 201, answer.text
    with box_centre.db.transaction() as session:
        event = session.scalars(sa.select(Event)).one()
        assert (event.fault, event.detail, event.zone) == ("black", "mean luma 3.1", "")
        assert event.order.department.code == "it"  # camera faults route to IT


def test_an_unknown_camera_of_the_box_is_registered_and_routed_by_type(
        client: TestClient, token: str, box_centre: Centre) -> None:
    answer = send(client, token, document(camera="pier-9"))
    assert answer.status_code == 201, answer.text
    with box_centre.db.transaction() as session:
        camera = session.scalars(sa.select(Camera).where(Camera.name == "pier-9")).one()
        assert (camera.device.code, camera.area, camera.grid) == ("box-1", "", "")
        order = session.scalars(sa.select(Order)).one()
        assert order.department.code == "centre"  # the fallback: no area to route by yet
    with box_centre.db.transaction() as session:
        action = session.scalar(sa.select(AuditRecord.actor)
                                .where(AuditRecord.action == "camera.registered")
                                .order_by(AuditRecord.seq.desc()))
    assert action == "system:edge/box-1"


# --- refusals -------------------------------------------------------------------------------
def test_tokens_missing_unknown_or_revoked_are_401(client: TestClient, token: str,
                                                   box_centre: Centre, clock: ManualClock) -> None:
    doc = document()
    assert send(client, "", doc).status_code == 401
    wrong = send(client, token[:-2] + "zz", doc)
    assert (wrong.status_code, wrong.json()) == (401, {"detail": "unknown or revoked device "
                                                                 "token"})
    assert wrong.headers["www-authenticate"] == "Bearer"
    basic = client.post("/api/v1/ingest/events", headers={"Authorization": "Basic eDp5"},
                            files=parts_of(doc, {}))
    assert basic.status_code == 401
    with box_centre.db.transaction() as session:
        revoke_tokens(session, actor=ADMIN, at=clock(), device="box-1")
    assert send(client, token, doc).status_code == 401
    assert counts(box_centre.db) == (0, 0, 0)


def test_another_boxs_message_is_403(client: TestClient, box_centre: Centre,
                                     clock: ManualClock) -> None:
    with box_centre.db.transaction() as session:
        other = issue_token(session, actor=ADMIN, at=clock(), device="box-1").token
        add_device(session, actor=ADMIN, at=clock(), code="box-2")
        box2 = issue_token(session, actor=ADMIN, at=clock(), device="box-2").token
    refused = send(client, box2, document())  # box-2's token, box-1's message
    assert refused.status_code == 403
    assert refused.json()["detail"] == ("this token belongs to device 'box-2', the message is "
                                        "from 'box-1'")
    assert send(client, other, document()).status_code == 201


def jpeg_entry(**changes: Any) -> dict[str, Any]:
    entry = {"kind": "snapshot", "filename": "snapshot.jpg", "content_type": "image/jpeg",
             "size": len(JPEG), "sha256": hashlib.sha256(JPEG).hexdigest()}
    entry.update(changes)
    return entry


def file_part(name: str = "snapshot", filename: str = "snapshot.jpg", data: bytes = JPEG,
              content_type: str = "image/jpeg") -> tuple[str, Any]:
    return (name, (filename, data, content_type))


EVENT_PART = ("event", (None, json.dumps(document(evidence=[jpeg_entry()])).encode(),
                        "application/json"))
KEY = f"{EVENT_ID}:1"


@pytest.mark.parametrize(("doc", "parts", "key", "status", "detail"), [
    # malformed: 400
    (None, [file_part(), EVENT_PART], KEY, 400, "the first part must be 'event'"),
    (None, [("event", (None, b"{not json", "application/json"))], KEY, 400,
     "the 'event' part is not JSON"),
    (None, [("event", (None, b"[1, 2]", "application/json"))], KEY, 400,
     "must be a JSON object"),
    (document(evidence=[jpeg_entry()]), None, None, 400, "missing Idempotency-Key"),
    (None, [EVENT_PART, ("note", (None, b"hello", "text/plain")), file_part()], KEY, 400,
     "part 'note' is a form field"),
    # well-formed but wrong: 422
    (document(evidence=[jpeg_entry()]), None, f"{EVENT_ID}:2", 422,
     f"Idempotency-Key '{EVENT_ID}:2' is not '{EVENT_ID}:1'"),
    (document(type="poaching"), [], KEY, 422, "event: type: Input should be 'angling'"),
    (document(severity="urgent"), [], KEY, 422, "event: severity: Input should be"),
    (document(status="closed", end=None), [], KEY, 422, "'closed' exactly when end is set"),
    (document(end="2026-05-01T08:00:30.000Z"), [], KEY, 422, "'closed' exactly when end is set"),
    (document(status="closed", end="2026-05-01T07:00:00.000Z"), [], KEY, 422,
     "is before start"),
    (document(revision=0), [], f"{EVENT_ID}:0", 422,
     "revision: Input should be greater than or equal to 1"),
    (document(event_id=EVENT_ID.upper()), [], f"{EVENT_ID.upper()}:1", 422,
     "event_id: String should match pattern"),
    (document(type="camera_fault"), [], KEY, 422, "a camera_fault needs 'fault' and 'detail'"),
    (document(fault="black", detail="x"), [], KEY, 422, "belong to camera_fault events"),
    (document(zone=None), [], KEY, 422, "a net_fishing event needs its zone"),
    (document(confidence=1.5), [], KEY, 422, "confidence: Input should be less than or equal"),
    (document(camera="cam\x00-n1"), [], KEY, 422, "event: camera: String should match pattern"),
    ({k: v for k, v in document().items() if k != "start"}, [], KEY, 422,
     "event: start: Field required"),
    (document(evidence=[jpeg_entry(), jpeg_entry()]), None, KEY, 422, "at most one of each"),
    (document(evidence=[jpeg_entry(filename="../../etc/passwd.jpg")]),
     [file_part(filename="../../etc/passwd.jpg")], KEY, 422,
     "filename '../../etc/passwd.jpg' must be 'snapshot' and an extension"),
    (document(evidence=[jpeg_entry(filename="snapshot.jpg/x")]),
     [file_part(filename="snapshot.jpg/x")], KEY, 422, "must be 'snapshot' and an extension"),
    (document(evidence=[jpeg_entry()]), [file_part(filename="../snapshot.jpg")], KEY, 422,
     "file part 'snapshot' is named '../snapshot.jpg', its entry says 'snapshot.jpg'"),
    (document(evidence=[jpeg_entry(sha256="0" * 64)]), [file_part()], KEY, 422,
     f"file part 'snapshot' has {len(JPEG)} bytes with sha256 "
     f"{hashlib.sha256(JPEG).hexdigest()}; its entry says {len(JPEG)} bytes with sha256 000"),
    (document(evidence=[jpeg_entry(size=len(JPEG) + 1)]), [file_part()], KEY, 422,
     f"its entry says {len(JPEG) + 1} bytes"),
    (document(evidence=[jpeg_entry(sha256="ABC")]), [file_part()], KEY, 422,
     "sha256: String should match pattern"),
    (document(evidence=[jpeg_entry()]), [], KEY, 422,
     "evidence ['snapshot'] announced in the event has no file part"),
    (document(), [file_part()], KEY, 422,
     "file part 'snapshot' has no entry in the event's evidence (entries: none)"),
    (document(evidence=[jpeg_entry()]), [file_part(), file_part()], KEY, 422,
     "file parts ['snapshot', 'snapshot']: one part per evidence entry"),
    (document(evidence=[jpeg_entry(), jpeg_entry(kind="snapshot_clean",
                                                 filename="snapshot_clean.jpg")]),
     [file_part("snapshot_clean", "snapshot_clean.jpg"), file_part()], KEY, 422,
     "must follow the order of the evidence entries ['snapshot', 'snapshot_clean']"),
    (document(evidence=[jpeg_entry()]), [file_part(content_type="image/png")], KEY, 422,
     "file part 'snapshot' has Content-Type 'image/png', its entry says 'image/jpeg'"),
    (document(evidence=[jpeg_entry(kind="photo", filename="photo.jpg")]), [], KEY, 422,
     "evidence.0.kind: Input should be 'snapshot'"),
    # content types the centre does not keep: 415
    (document(evidence=[jpeg_entry(content_type="text/html", filename="snapshot.html")]),
     [file_part(filename="snapshot.html", content_type="text/html")], KEY, 415,
     "evidence snapshot: content type 'text/html' is not stored"),
    (document(evidence=[jpeg_entry(size=13, sha256=hashlib.sha256(b"<html>x</html>"[:13])
                                   .hexdigest())]),
     [file_part(data=b"<html>x</html>"[:13])], KEY, 415,
     "file part 'snapshot': its bytes are not image/jpeg"),
])
# Refusals happen before the database is touched: SQLite only (40 cases, ~2 min on PostgreSQL).
@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_bad_messages_are_refused_whole(client: TestClient, token: str, box_centre: Centre,
                                        doc: dict[str, Any] | None, parts: list[Any] | None,
                                        key: str | None, status: int, detail: str) -> None:
    if doc is not None and parts is not None:
        parts = [("event", (None, json.dumps(doc).encode(), "application/json")), *parts]
    elif doc is not None:
        parts = parts_of(doc, {"snapshot.jpg": JPEG} if doc["evidence"] else {})
    answer = send(client, token, doc or {}, parts=parts, key=key)
    assert answer.status_code == status, answer.text
    assert answer.json()["detail"].startswith(detail) or detail in answer.json()["detail"], \
        answer.json()["detail"]
    assert counts(box_centre.db) == (0, 0, 0)
    assert stored_files(box_centre) == []


def test_requests_that_are_not_messages(client: TestClient, token: str,
                                        box_centre: Centre) -> None:
    auth = {"Authorization": f"Bearer {token}", "Idempotency-Key": KEY}
    as_json = client.post("/api/v1/ingest/events", headers=auth, json=document())
    assert as_json.status_code == 415
    assert as_json.json()["detail"] == ("send the message as multipart/form-data "
                                        "(docs/uplink.md)")
    big = {"clip.mp4": b"\x00\x00\x00\x18ftyp" + bytes(1 << 20)}
    oversize = send(client, token, document(files=big), big)
    assert oversize.status_code == 413
    assert oversize.json()["detail"].startswith("the request is larger than the centre's limit "
                                                "of 1 MB")
    broken = client.post("/api/v1/ingest/events", headers={
        **auth, "Content-Type": "multipart/form-data; boundary=xyz"},
        content=b"--xyz\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--xyz--\r\n")
    assert broken.status_code == 400
    assert broken.json()["detail"].startswith("malformed multipart body: ")
    too_many = [("event", (None, b"{}", "application/json")),
                *[(f"f{i}", (f"f{i}.jpg", JPEG, "image/jpeg")) for i in range(9)]]
    assert send(client, token, {}, parts=too_many, key=KEY).status_code == 400
    assert counts(box_centre.db) == (0, 0, 0) and stored_files(box_centre) == []


def test_an_event_id_reused_for_another_camera_is_parked(client: TestClient, token: str,
                                                          box_centre: Centre) -> None:
    assert send(client, token, document()).status_code == 201
    reused = send(client, token, document(2, camera="cam-s1"))
    assert reused.status_code == 422
    assert "an event id must not be reused" in reused.json()["detail"]


# --- heartbeats and fleet ------------------------------------------------------------------
def heartbeat(**fields: Any) -> dict[str, Any]:
    body = {"device_id": "box-1", "sent_at": "2026-05-01T08:00:01.000Z",
            "software_version": "0.1.0", "model": {"name": "fishwatch-yolo11n", "version": "1.0"},
            "cameras": [{"name": "cam-n1", "state": "online", "fps": 2.0,
                         "last_frame_at": "2026-05-01T08:00:00.500Z"},
                        {"name": "cam-s1", "state": "reconnecting", "fps": None,
                         "last_frame_at": None}]}
    body.update(fields)
    return body


def test_heartbeats_make_fleet_status(app_client: TestClient, token: str, as_user: Any,
                                      clock: ManualClock) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    answer = app_client.post("/api/v1/ingest/heartbeat", headers=auth,
                             json=heartbeat(uptime_s=5))
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})
    assert app_client.post("/api/v1/ingest/heartbeat", json=heartbeat()).status_code == 401
    other = app_client.post("/api/v1/ingest/heartbeat", headers=auth,
                            json=heartbeat(device_id="box-9"))
    assert other.status_code == 403
    bad = app_client.post("/api/v1/ingest/heartbeat", headers=auth,
                          json=heartbeat(cameras=[{"name": "c", "state": "melting"}]))
    assert bad.status_code == 422
    nul = app_client.post("/api/v1/ingest/heartbeat", headers=auth,
                          json=heartbeat(software_version="0.1\x00"))
    assert nul.status_code == 422

    for user in ("admin", "dispatcher", "auditor"):
        boxes = as_user(user).get("/api/v1/fleet")
        assert boxes.status_code == 200, boxes.text
        box, = boxes.json()
        assert (box["code"], box["online"], box["software_version"], box["model_version"],
                box["cameras_online"], box["cameras_total"], box["clock_offset_s"]) == (
            "box-1", True, "0.1.0", "1.0", 1, 2, 1.0)
    for user in ("north", "analyst", "commission"):
        assert as_user(user).get("/api/v1/fleet").status_code == 403
    clock.advance(seconds=181)
    box, = as_user("admin").get("/api/v1/fleet").json()
    assert (box["online"], box["cameras_online"]) == (False, 0)


# --- administrators ------------------------------------------------------------------------
def test_administrators_register_boxes_and_issue_and_revoke_tokens(
        app_client: TestClient, as_user: Any) -> None:
    admin = as_user("admin")
    assert admin.post("/api/v1/devices", json={"code": "box-9"}).status_code == 201
    assert admin.post("/api/v1/devices", json={"code": "box-9"}).status_code == 200
    assert admin.post("/api/v1/devices", json={"code": "../x"}).status_code == 422
    issued = admin.post("/api/v1/devices/box-9/tokens", json={"label": "pier 9"})
    assert issued.status_code == 201 and issued.headers["cache-control"] == "no-store"
    token = issued.json()["token"]
    beat = app_client.post("/api/v1/ingest/heartbeat", headers={
        "Authorization": f"Bearer {token}"}, json=heartbeat(device_id="box-9"))
    assert beat.status_code == 200
    listed = {d["status"]["code"]: d for d in admin.get("/api/v1/devices").json()}
    assert listed["box-9"]["status"]["online"] is True
    assert [(t["label"], t["revoked_at"]) for t in listed["box-9"]["tokens"]] == [
        ("pier 9", None)]
    assert "token" not in listed["box-9"]["tokens"][0]

    dispatcher = as_user("dispatcher")
    assert dispatcher.get("/api/v1/devices").status_code == 403
    assert dispatcher.post("/api/v1/devices/box-9/tokens", json={}).status_code == 403
    revoked = admin.post(f"/api/v1/devices/box-9/tokens/{issued.json()['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert admin.post(f"/api/v1/devices/box-9/tokens/{uuid.uuid4()}/revoke").status_code == 404
    assert app_client.post("/api/v1/ingest/heartbeat", headers={
        "Authorization": f"Bearer {token}"}, json=heartbeat(device_id="box-9")).status_code == 401


# --- two copies at once (PostgreSQL) -------------------------------------------------------
@pytest.fixture
def pg_centre(pg_db: Database, clock: ManualClock, tmp_path: Path) -> Iterator[Centre]:
    config: DispatchConfig = district_config()
    seed(pg_db, config, clock)
    yield Centre.open(CentreConfig.model_validate(
        {"evidence": {"folder": str(tmp_path / "evidence")}}), config, clock=clock, db=pg_db)


def test_two_copies_at_once_store_one(pg_centre: Centre, pg_db: Database,
                                      clock: ManualClock) -> None:
    """Both copies are held at dispatch's incident lock (taken here first, from another
    connection) until both wait on it; then one is stored and the other is a duplicate."""
    with pg_db.transaction() as session:
        token = issue_token(session, actor=ADMIN, at=clock(), device="box-1").token
    incident = int.from_bytes(hashlib.sha256(b"box-1/cam-n1/net_fishing").digest()[:8], "big",
                              signed=True)
    doc = document(files=snapshots())
    answers: list[httpx.Response] = []
    with serve(create_app(pg_centre)) as url, pg_db.engine.connect() as holder:
        holder.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": incident})

        def post() -> None:
            with httpx.Client(base_url=url, timeout=30) as client:
                answers.append(send(client, token, doc, snapshots()))

        threads = [threading.Thread(target=post) for _ in range(2)]
        for thread in threads:
            thread.start()
        waiting = sa.text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                          "AND NOT granted")
        with pg_db.engine.connect() as probe:
            for _ in range(500):
                if probe.execute(waiting).scalar() == 2:
                    break
                threading.Event().wait(0.02)
            else:
                pytest.fail("the two copies never both waited for the incident lock")
        holder.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": incident})
        holder.commit()
        for thread in threads:
            thread.join(30)
    assert sorted((a.status_code, a.json()["status"]) for a in answers) == [
        (200, "duplicate"), (201, "created")]
    assert counts(pg_db) == (1, 1, 2)
