"""Evidence downloads: scoped like their orders, streamed with their type and name, one byte
range at a time for seeking in a clip; the same over the S3 backend."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.centre import Centre
from api.evidence import S3Store
from api.ranges import ByteRange, RangeNotSatisfiable, requested_range
from api.settings import CentreConfig
from dispatch.access import Actor
from dispatch.db import Database
from dispatch.devices import issue_token
from dispatch.settings import DispatchConfig

from ..conftest import Cast, ManualClock
from .messages import EVENT_ID, JPEG, MP4, document, send
from .serving import s3_server

ADMIN = Actor.system("test-setup")
SNAPSHOT_2 = b"\xff\xd8\xff\xe1" + bytes(range(256)) * 8


@pytest.fixture
def box(centre: Centre, clock: ManualClock) -> Iterator[TestClient]:
    """A client speaking for box-1, with its token."""
    with centre.db.transaction() as session:
        token = issue_token(session, actor=ADMIN, at=clock(), device="box-1").token
    with TestClient(create_app(centre)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def deliver(box: TestClient, revision: int, files: dict[str, bytes], **fields: Any) -> None:
    token = box.headers["Authorization"].removeprefix("Bearer ")
    answer = send(box, token, document(revision, files=files, **fields), files)
    assert answer.status_code == 201, answer.text


@pytest.fixture
def delivered(box: TestClient) -> None:
    """Event EVENT_ID of cam-n1 (fishery-north's), opened with a snapshot and closed with a
    clip."""
    deliver(box, 1, {"snapshot.jpg": JPEG})
    deliver(box, 2, {"clip.mp4": MP4}, status="closed")


def listing(client: TestClient) -> dict[str, dict[str, Any]]:
    answer = client.get(f"/api/v1/events/{EVENT_ID}/evidence")
    assert answer.status_code == 200, answer.text
    return {item["kind"]: item for item in answer.json()}


def test_the_orders_readers_download_it_and_other_departments_get_404(
        delivered: None, as_user: Any, app_client: TestClient) -> None:
    north = as_user("north")
    files = listing(north)
    clip = files["clip"]
    assert (clip["size"], clip["sha256"], clip["content_type"], clip["current"]) == (
        len(MP4), hashlib.sha256(MP4).hexdigest(), "video/mp4", True)
    assert "storage_key" not in clip
    answer = north.get(clip["url"])
    assert answer.status_code == 200 and answer.content == MP4
    assert answer.headers["content-type"] == "video/mp4"
    assert answer.headers["content-length"] == str(len(MP4))
    assert answer.headers["accept-ranges"] == "bytes"
    assert answer.headers["content-disposition"] == f'inline; filename="{EVENT_ID}-clip.mp4"'
    assert answer.headers["etag"] == f'"{clip["sha256"]}"'
    assert answer.headers["x-content-type-options"] == "nosniff"
    named = north.get(f"/api/v1/events/{EVENT_ID}/evidence/snapshot/"
                      f"{files['snapshot']['sha256']}")
    assert named.status_code == 200 and named.content == JPEG
    assert named.headers["content-type"] == "image/jpeg"

    for reader in ("dispatcher", "analyst", "auditor", "commission", "admin"):
        assert as_user(reader).get(clip["url"]).content == MP4
    south = as_user("south")
    for url in (clip["url"], f"/api/v1/events/{EVENT_ID}/evidence",
                f"/api/v1/events/{EVENT_ID}/evidence/clip/{clip['sha256']}"):
        refused = south.get(url)
        assert refused.status_code == 404, url
        assert refused.json()["detail"].startswith(("no evidence", "no event", "event "))
    assert app_client.get(clip["url"]).status_code == 401
    assert north.get(f"/api/v1/events/{EVENT_ID}/evidence/clip/{'0' * 64}").status_code == 404
    assert north.get("/api/v1/evidence/999999").status_code == 404
    assert north.get(f"/api/v1/evidence/{2**64}").status_code == 422
    assert north.get(f"/api/v1/events/{uuid.uuid4()}/evidence").status_code == 404


@pytest.mark.parametrize(("header", "status", "body", "content_range"), [
    ("bytes=0-99", 206, slice(0, 100), "bytes 0-99/{n}"),
    ("bytes=100-", 206, slice(100, None), "bytes 100-{last}/{n}"),
    ("bytes=-50", 206, slice(-50, None), "bytes {tail}-{last}/{n}"),
    ("bytes=1000-999999999", 206, slice(1000, None), "bytes 1000-{last}/{n}"),
    ("bytes=0-1,5-6", 200, slice(None), None),  # several ranges: the whole file
    ("items=0-5", 200, slice(None), None),
    ("bytes=9-3", 200, slice(None), None),
])
def test_one_byte_range_is_served_for_seeking(delivered: None, as_user: Any,
                                              header: str, status: int, body: slice,
                                              content_range: str | None) -> None:
    analyst = as_user("analyst")
    url = listing(analyst)["clip"]["url"]
    answer = analyst.get(url, headers={"Range": header})
    assert answer.status_code == status
    assert answer.content == MP4[body]
    assert answer.headers["content-length"] == str(len(MP4[body]))
    n = len(MP4)
    expected = content_range.format(n=n, last=n - 1, tail=n - 50) if content_range else None
    assert answer.headers.get("content-range") == expected


def test_a_range_past_the_end_and_if_range(delivered: None, as_user: Any) -> None:
    analyst = as_user("analyst")
    clip = listing(analyst)["clip"]
    past = analyst.get(clip["url"], headers={"Range": f"bytes={len(MP4)}-"})
    assert past.status_code == 416
    assert past.headers["content-range"] == f"bytes */{len(MP4)}"
    assert past.json()["detail"].startswith("range not satisfiable")
    same = analyst.get(clip["url"], headers={"Range": "bytes=0-9",
                                             "If-Range": f'"{clip["sha256"]}"'})
    assert (same.status_code, same.content) == (206, MP4[:10])
    changed = analyst.get(clip["url"], headers={"Range": "bytes=0-9", "If-Range": '"other"'})
    assert (changed.status_code, changed.content) == (200, MP4)


def test_a_later_file_of_a_kind_supersedes_and_both_stay(delivered: None,
                                                         box: TestClient, as_user: Any) -> None:
    deliver(box, 3, {"snapshot.jpg": SNAPSHOT_2}, status="closed")
    dispatcher = as_user("dispatcher")
    answer = dispatcher.get(f"/api/v1/events/{EVENT_ID}/evidence").json()
    assert [(i["kind"], i["current"]) for i in answer] == [
        ("snapshot", False), ("clip", True), ("snapshot", True)]
    assert dispatcher.get(answer[0]["url"]).content == JPEG
    assert dispatcher.get(answer[2]["url"]).content == SNAPSHOT_2


def test_a_file_missing_from_the_store_is_reported(delivered: None, as_user: Any,
                                                   centre: Centre) -> None:
    north = as_user("north")
    clip = listing(north)["clip"]
    for path in Path(centre.config.evidence.folder).rglob("clip-*.mp4"):
        path.unlink()
    missing = north.get(clip["url"])
    assert missing.status_code == 404
    assert missing.json()["detail"] == (f"evidence {clip['id']} is recorded but its file is "
                                        "missing from the evidence store")


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def centre_config(request: pytest.FixtureRequest, tmp_path: Path) -> CentreConfig:
    """The local folder, or for tests marked ``s3`` a bucket on the moto server."""
    if "s3_endpoint" not in request.fixturenames:
        return CentreConfig.model_validate({"evidence": {"folder": str(tmp_path / "evidence")}})
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = f"evidence-{uuid.uuid4().hex[:12]}"
    config = CentreConfig.model_validate({"evidence": {"backend": "s3", "s3": {
        "bucket": bucket, "endpoint_url": endpoint, "access_key_id": "testing",
        "secret_access_key": "testing"}}})
    store = S3Store(config.evidence.s3)  # type: ignore[arg-type]
    store.client.create_bucket(Bucket=bucket)
    return config


def test_evidence_in_s3_is_ingested_and_served_with_ranges(
        s3_endpoint: str, db: Database, config: DispatchConfig, cast: Cast,
        centre: Centre, box: TestClient, as_user: Any) -> None:
    assert isinstance(centre.evidence, S3Store)
    deliver(box, 1, {"snapshot.jpg": JPEG, "clip.mp4": MP4})
    north = as_user("north")
    clip = listing(north)["clip"]
    assert north.get(clip["url"]).content == MP4
    part = north.get(clip["url"], headers={"Range": "bytes=500-1499"})
    assert (part.status_code, part.content) == (206, MP4[500:1500])
    assert part.headers["content-range"] == f"bytes 500-1499/{len(MP4)}"
    tail = north.get(clip["url"], headers={"Range": "bytes=-1"})
    assert tail.content == MP4[-1:]


@pytest.mark.parametrize(("header", "size", "expected"), [
    (None, 10, None),
    ("bytes=0-0", 10, ByteRange(0, 1)),
    ("bytes=9-", 10, ByteRange(9, 1)),
    ("bytes=-10", 10, ByteRange(0, 10)),
    ("bytes=-20", 10, ByteRange(0, 10)),
    ("bytes=2-100", 10, ByteRange(2, 8)),
    (" bytes=2-3 ", 10, ByteRange(2, 2)),
    ("bytes=-", 10, None),
    ("bytes=3-2", 10, None),
    ("bytes=0-1, 3-4", 10, None),
    ("bytes=a-b", 10, None),
    ("bytes=10-", 10, RangeNotSatisfiable),
    ("bytes=-0", 10, RangeNotSatisfiable),
    ("bytes=0-", 0, RangeNotSatisfiable),
])
def test_requested_range(header: str | None, size: int,
                         expected: ByteRange | type[Exception] | None) -> None:
    if isinstance(expected, type):
        with pytest.raises(expected):
            requested_range(header, size)
    else:
        assert requested_range(header, size) == expected
