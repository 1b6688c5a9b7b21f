"""End to end: the real edge uplink (``streams.outbox`` + ``streams.uplink``) delivers events
with real evidence (JPEG pictures and MP4 clips of the sample videos) to the centre served by
uvicorn on a loopback port, and the centre restarts in the middle. In the end every incident
has exactly one order and every file downloads byte for byte."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import cv2
import httpx
import sqlalchemy as sa

from api.app import create_app
from api.centre import Centre
from detector.events import Event, EventType, FrameRef, Severity
from dispatch.access import Actor
from dispatch.db import Database
from dispatch.devices import issue_token
from dispatch.models import Camera, Order
from dispatch.models import Event as EventRow
from streams.outbox import Attachment, MessageState, Outbox
from streams.uplink import CameraReport, Heartbeat, Uplink
from streams.uplink_settings import UplinkSettings

from ..conftest import ManualClock
from .conftest import PASSWORD
from .serving import serve

VIDEOS = Path(__file__).resolve().parents[2] / "sample_videos"
#: (camera, type, clip): three incidents; pier-9 is not registered at the centre yet.
INCIDENTS = [("cam-n1", EventType.ANGLING, "angler_arrives.mp4"),
             ("cam-s1", EventType.NET_FISHING, "net_cast.mp4"),
             ("pier-9", EventType.BOAT_INTRUSION, "boat_intrusion.mp4")]


def first_frame_jpeg(video: Path, *, annotated: bool) -> bytes:
    capture = cv2.VideoCapture(str(video))
    ok, frame = capture.read()
    capture.release()
    assert ok, video
    if annotated:
        cv2.rectangle(frame, (10, 10), (80, 60), (0, 0, 255), 2)
    ok, data = cv2.imencode(".jpg", frame)
    assert ok
    return data.tobytes()


def incident(number: int, camera: str, kind: EventType, clock: ManualClock, *,
             closed: bool) -> Event:
    start = clock() + timedelta(seconds=number)
    return Event(id=UUID(int=number), camera=camera, type=kind, severity=Severity.HIGH,
                 zone="bank", start=start, start_s=0.0,
                 end=start + timedelta(seconds=20) if closed else None,
                 end_s=20.0 if closed else None, best_confidence=0.8,
                 best_frame=FrameRef(10, 1.0, start), evidence=(), track_ids=(number,),
                 model_name="fishwatch-yolo11n", model_version="0.1.0")


def wait_until(condition: Callable[[], Any], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {condition}")
        time.sleep(0.05)


def test_the_edge_delivers_to_the_centre_through_a_restart(
        db: Database, centre: Centre, clock: ManualClock, tmp_path: Path) -> None:
    with db.transaction() as session:
        token = issue_token(session, actor=Actor.system("test-setup"), at=clock(),
                            device="box-1").token
    files: dict[tuple[int, str], bytes] = {}

    def attach(number: int, kind: str, data: bytes, suffix: str) -> Attachment:
        path = tmp_path / "made" / f"{number}-{kind}{suffix}"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        files[number, kind] = data
        return Attachment(kind, path)  # type: ignore[arg-type]

    outbox = Outbox(tmp_path / "box" / "outbox.db")
    for number, (camera, kind, video) in enumerate(INCIDENTS, start=1):
        outbox.add(incident(number, camera, kind, clock, closed=False), [
            attach(number, "snapshot", first_frame_jpeg(VIDEOS / video, annotated=True), ".jpg"),
            attach(number, "snapshot_clean", first_frame_jpeg(VIDEOS / video, annotated=False),
                   ".jpg")])

    with serve(create_app(centre)) as url:
        port = int(url.rsplit(":", 1)[1])
        settings = UplinkSettings(
            centre_url=url, device_id="box-1", token=token,
            outbox_path=tmp_path / "box" / "outbox.db", backoff_min_s=0.05, backoff_max_s=0.3,
            connect_timeout_s=2.0, timeout_s=20.0, poll_s=0.05, heartbeat_interval_s=0.2)
        uplink = Uplink(settings, outbox, heartbeat=lambda: Heartbeat(
            "fishwatch-yolo11n", "0.1.0",
            tuple(CameraReport(camera, "online", 2.0, clock()) for camera, _, _ in INCIDENTS)))
        uplink.start()
        wait_until(lambda: outbox.stats().sent == len(INCIDENTS))
    # The centre is down (a restart): the closes with their clips queue up on the box.
    for number, (camera, kind, video) in enumerate(INCIDENTS, start=1):
        outbox.add(incident(number, camera, kind, clock, closed=True),
                   [attach(number, "clip", (VIDEOS / video).read_bytes(), ".mp4")])
    wait_until(lambda: any(m.attempts for m in outbox.messages(MessageState.PENDING)))
    assert "ConnectError" in outbox.messages(MessageState.PENDING)[0].last_error

    restarted_db = Database(db.engine.url)
    restarted = Centre.open(centre.config, centre.dispatch, clock=clock, db=restarted_db)
    try:
        with serve(create_app(restarted), port=port) as url:
            wait_until(lambda: outbox.stats().sent == 2 * len(INCIDENTS))
            uplink.stop(timeout=10)
            assert outbox.messages(MessageState.PARKED) == []
            assert {m.result for m in outbox.messages(MessageState.SENT)} == {"created"}
            with httpx.Client(base_url=url, timeout=30) as dispatcher:
                login = dispatcher.post("/api/v1/auth/login", json={
                    "username": "dispatcher", "password": PASSWORD})
                assert login.status_code == 200, login.text
                for number in range(1, len(INCIDENTS) + 1):
                    listed = dispatcher.get(f"/api/v1/events/{UUID(int=number)}/evidence")
                    assert listed.status_code == 200, listed.text
                    got = {item["kind"]: dispatcher.get(item["url"]) for item in listed.json()}
                    assert sorted(got) == ["clip", "snapshot", "snapshot_clean"]
                    for kind, answer in got.items():
                        assert answer.status_code == 200
                        assert answer.content == files[number, kind], (number, kind)
                    assert got["clip"].headers["content-type"] == "video/mp4"
                fleet = dispatcher.get("/api/v1/fleet").json()
    finally:
        outbox.close()
        restarted_db.dispose()

    with db.transaction() as session:
        orders = session.execute(sa.select(Camera.name, Order.type, sa.func.count())
                                 .join(Camera, Camera.id == Order.camera_id)
                                 .group_by(Camera.name, Order.type)).all()
        events = session.execute(sa.select(EventRow.id, EventRow.revision, EventRow.end_at)
                                 .order_by(EventRow.id)).all()
    assert sorted(orders) == sorted((camera, kind.value, 1) for camera, kind, _ in INCIDENTS)
    assert [(row.id.int, row.revision, row.end_at is not None) for row in events] == [
        (number, 2, True) for number in range(1, len(INCIDENTS) + 1)]
    box, = fleet
    assert (box["code"], box["online"], box["cameras_online"], box["cameras_total"]) == (
        "box-1", True, 3, 3)

