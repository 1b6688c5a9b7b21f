"""The analysts' review queue over HTTP: per-analyst state, filters, verdicts, and the
reviewed alerts as a YOLO-layout zip built from the stored clean snapshots."""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
import zipfile
from collections.abc import Callable

from fastapi.testclient import TestClient

from api.centre import Centre
from api.evidence import KeyScope, evidence_key
from api.sessions import set_password
from dispatch.access import Actor
from dispatch.registry import create_user
from dispatch.schemas import Role

from ..conftest import ManualClock, make_event
from .conftest import PASSWORD

Client = Callable[[str], TestClient]


def ingest(centre: Centre, clock: ManualClock, *, picture: bytes | None = None,
           stored: bool = True, **fields: object) -> uuid.UUID:
    """An alert whose clean snapshot is ``picture`` (kept in the evidence store unless
    ``stored`` is False); returns its order."""
    event_id = uuid.uuid4()
    evidence = []
    if picture is not None:
        sha = hashlib.sha256(picture).hexdigest()
        key = evidence_key(KeyScope.EVENTS, event_id, "snapshot_clean", sha, "image/jpeg")
        if stored:
            centre.evidence.put(key, io.BytesIO(picture), content_type="image/jpeg")
        evidence = [{"kind": "snapshot_clean", "sha256": sha, "size": len(picture),
                     "content_type": "image/jpeg", "storage_key": key}]
    with centre.db.transaction() as session:
        return centre.orders.ingest(session=session, event=make_event(
            clock, event_id=event_id, evidence=evidence, **fields)).order_id


def queue(client: TestClient, **params: object) -> dict:
    response = client.get("/api/v1/reviews", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_queue_is_per_analyst_and_filters(as_user: Client, centre: Centre,
                                              clock: ManualClock) -> None:
    angling = ingest(centre, clock, zone="jetty")
    net = ingest(centre, clock, camera="cam-s1", type="net_fishing")
    ingest(centre, clock, camera="cam-s1", type="camera_fault")  # not for analysts
    with centre.db.transaction() as session:
        create_user(session, actor=Actor.system("test"), at=clock(), username="analyst2",
                    display_name="Second", role=Role.ANALYST)
        set_password(session, actor=Actor.system("test"), at=clock(), username="analyst2",
                     password=PASSWORD)
    first, second = as_user("analyst"), as_user("analyst2")

    pending = queue(first)
    assert pending["count"] == 2
    assert {item["order"]["id"] for item in pending["data"]} == {str(angling), str(net)}
    assert [i["order"]["id"] for i in queue(first, camera="cam-s1")["data"]] == [str(net)]
    assert [i["order"]["id"] for i in queue(first, zone="jetty")["data"]] == [str(angling)]
    assert [i["order"]["id"] for i in queue(first, type="angling")["data"]] == [str(angling)]
    assert queue(first, since=clock().replace(year=2027).isoformat())["count"] == 0
    assert first.get("/api/v1/reviews/filters").json() == {
        "cameras": ["cam-n1", "cam-s1", "cam-s9"], "zones": ["jetty"]}

    confirmed = first.post(f"/api/v1/reviews/{angling}/verdict", json={"verdict": "confirmed"})
    assert confirmed.status_code == 200, confirmed.text
    assert (confirmed.json()["analyst_verdict"], confirmed.json()["status"]) == ("confirmed",
                                                                                "dispatched")
    assert [i["order"]["id"] for i in queue(first)["data"]] == [str(net)]
    mine = queue(first, reviewed=True)["data"]
    assert [(i["order"]["id"], i["my_verdict"]) for i in mine] == [(str(angling), "confirmed")]
    assert queue(second)["count"] == 2  # a colleague's verdict does not empty my queue


def test_a_false_positive_needs_its_reason_and_closes_the_order(
        as_user: Client, centre: Centre, clock: ManualClock) -> None:
    order_id = ingest(centre, clock)
    analyst, dispatcher = as_user("analyst"), as_user("dispatcher")
    url = f"/api/v1/reviews/{order_id}/verdict"
    for body in [{"verdict": "false_positive"}, {"verdict": "false_positive", "reason": "  "},
                 {"verdict": "maybe"}, {}]:
        refused = analyst.post(url, json=body)
        assert refused.status_code == 422, body
    assert "needs a reason" in str(analyst.post(url, json={"verdict": "false_positive"}).json())
    assert dispatcher.get(f"/api/v1/orders/{order_id}").json()["order"]["status"] == "dispatched"
    closed = analyst.post(url, json={"verdict": "false_positive", "reason": "a heron"})
    assert (closed.json()["status"], closed.json()["disposition"]) == ("closed", "false_alarm")
    history = dispatcher.get(f"/api/v1/orders/{order_id}").json()["history"]
    assert (history[-1]["kind"], history[-1]["note"]) == ("analyst_verdict", "a heron")
    again = analyst.post(url, json={"verdict": "false_positive", "reason": "still a heron"})
    assert again.status_code == 409 and "but it is closed" in again.json()["detail"]
    assert analyst.post(f"/api/v1/reviews/{uuid.uuid4()}/verdict",
                        json={"verdict": "confirmed"}).status_code == 404


def test_reviewed_alerts_export_as_a_yolo_layout_zip(as_user: Client, centre: Centre,
                                                     clock: ManualClock) -> None:
    angler, heron = b"\xff\xd8\xff angler" * 50, b"\xff\xd8\xff heron" * 50
    real = ingest(centre, clock, picture=angler, zone="jetty")
    false = ingest(centre, clock, camera="cam-s1", picture=heron)
    bare = ingest(centre, clock, camera="cam-s9")  # the edge sent no clean snapshot
    lost = ingest(centre, clock, camera="cam-n1", type="net_fishing", picture=b"\xff\xd8 x",
                  stored=False)
    ingest(centre, clock, camera="cam-s1", type="loitering", picture=b"\xff\xd8 unjudged")
    analyst = as_user("analyst")
    for order_id, verdict, reason in [(real, "confirmed", ""), (false, "false_positive", "=heron"),
                                      (bare, "confirmed", "seen"), (lost, "confirmed", "")]:
        assert analyst.post(f"/api/v1/reviews/{order_id}/verdict",
                            json={"verdict": verdict, "reason": reason}).status_code == 200

    response = analyst.get("/api/v1/reviews/dataset")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert "attachment" in response.headers["content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = set(archive.namelist())
    events = {row["order_id"]: row for row in csv.DictReader(io.StringIO(
        archive.read("fishwatch-reviews/manifest.csv").decode()))}
    assert set(events) == {str(real), str(false), str(bare), str(lost)}
    fp, ok = events[str(false)], events[str(real)]
    assert names == {"fishwatch-reviews/README.md", "fishwatch-reviews/manifest.csv",
                     f"fishwatch-reviews/{ok['image']}", f"fishwatch-reviews/{fp['image']}",
                     f"fishwatch-reviews/false_positive/labels/{fp['event_id']}.txt"}
    assert ok["image"] == f"confirmed/images/{ok['event_id']}.jpg"
    assert archive.read(f"fishwatch-reviews/{ok['image']}") == angler
    assert archive.read(f"fishwatch-reviews/{fp['image']}") == heron
    assert archive.read(f"fishwatch-reviews/false_positive/labels/{fp['event_id']}.txt") == b""
    assert (fp["verdict"], fp["reason"], fp["reviewer"]) == ("false_positive", "'=heron",
                                                            "analyst:analyst")
    assert (ok["camera"], ok["zone"], ok["type"], ok["sha256"]) == (
        "cam-n1", "jetty", "angling", hashlib.sha256(angler).hexdigest())
    assert events[str(bare)]["missing"] == "the edge sent no clean snapshot"
    assert events[str(lost)]["missing"] == "the picture is missing from the evidence store"
    assert "without labels" in archive.read("fishwatch-reviews/README.md").decode()

    only_south = zipfile.ZipFile(io.BytesIO(analyst.get(
        "/api/v1/reviews/dataset", params={"camera": "cam-s1"}).content))
    manifest = only_south.read("fishwatch-reviews/manifest.csv").decode()
    assert str(false) in manifest and str(real) not in manifest
    at_the_jetty = zipfile.ZipFile(io.BytesIO(analyst.get(
        "/api/v1/reviews/dataset", params={"zone": "jetty"}).content))
    manifest = at_the_jetty.read("fishwatch-reviews/manifest.csv").decode()
    assert str(real) in manifest and str(false) not in manifest
