"""The evidence store, the same cases on both backends: a local folder, and S3 as served by a
real moto server on a loopback port."""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from api.evidence import (
    ChecksumMismatch,
    Digest,
    EvidenceMissing,
    EvidenceStore,
    InvalidKey,
    KeyScope,
    LocalStore,
    S3Store,
    UnsupportedContentType,
    evidence_key,
    measure,
    open_store,
)
from api.evidence.local import INCOMING
from api.settings import EvidenceStoreConfig, S3StoreConfig

from .serving import s3_server

EVENT = uuid.UUID("6f1c2a9e-0d8b-4c47-9a53-3f0c1d2e4b5a")


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with s3_server() as endpoint:
        yield endpoint


def s3_config(endpoint: str, bucket: str) -> S3StoreConfig:
    return S3StoreConfig(bucket=bucket, endpoint_url=endpoint, access_key_id="testing",
                         secret_access_key="testing", prefix="centre-1/")


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> EvidenceStore:
    if request.param == "local":
        return open_store(EvidenceStoreConfig(folder=tmp_path / "evidence"))
    endpoint = request.getfixturevalue("moto_endpoint")
    bucket = f"evidence-{uuid.uuid4().hex[:12]}"
    config = s3_config(endpoint, bucket)
    store = open_store(EvidenceStoreConfig(backend="s3", s3=config))
    assert isinstance(store, S3Store)
    store.client.create_bucket(Bucket=bucket)
    return store


def put_bytes(store: EvidenceStore, data: bytes, kind: str = "clip",
              content_type: str = "video/mp4", **options: object):
    sha = hashlib.sha256(data).hexdigest()
    key = evidence_key(KeyScope.EVENTS, EVENT, kind, sha, content_type)
    return store.put(key, io.BytesIO(data), content_type=content_type, **options)


def test_put_measures_and_open_reads_back_whole_or_a_window(store: EvidenceStore) -> None:
    data = os.urandom(3 * (1 << 20) + 17)  # more than one chunk
    stored = put_bytes(store, data, expected=Digest(len(data), hashlib.sha256(data).hexdigest()))
    assert stored.size == len(data) and stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.key == f"events/{EVENT}/clip-{stored.sha256[:16]}.mp4"
    assert store.exists(stored.key)
    with store.open(stored.key) as reader:
        assert reader.read() == data
    with store.open(stored.key, start=1000, length=5000) as reader:
        assert reader.read() == data[1000:6000]
    with store.open(stored.key, start=len(data) - 10) as reader:
        assert reader.read() == data[-10:]
    with store.open(stored.key, start=5, length=0) as reader:
        assert reader.read() == b""


def test_a_mismatch_stores_nothing(store: EvidenceStore, tmp_path: Path) -> None:
    data = b"\xff\xd8 not what the edge said"
    claimed = Digest(len(data), "0" * 64)
    with pytest.raises(ChecksumMismatch, match="expected 25 bytes with sha256 0000"):
        put_bytes(store, data, content_type="image/jpeg", kind="snapshot", expected=claimed)
    key = evidence_key(KeyScope.EVENTS, EVENT, "snapshot", hashlib.sha256(data).hexdigest(),
                       "image/jpeg")
    assert not store.exists(key)
    if isinstance(store, LocalStore):
        assert list((store.root / INCOMING).iterdir()) == []
        assert [p for p in store.root.rglob("*") if p.is_file()] == []


def test_a_put_that_fails_midway_leaves_no_file(store: EvidenceStore) -> None:
    class Broken(io.RawIOBase):
        def __init__(self) -> None:
            self.calls = 0

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            self.calls += 1
            if self.calls > 2:
                raise OSError("connection reset by peer")
            return b"x" * 1000

    key = evidence_key(KeyScope.EVENTS, EVENT, "clip", "ab" * 32, "video/mp4")
    with pytest.raises(OSError, match="reset"):
        store.put(key, Broken(), content_type="video/mp4")  # type: ignore[arg-type]
    assert not store.exists(key)
    if isinstance(store, LocalStore):
        assert list((store.root / INCOMING).iterdir()) == []


def test_the_same_bytes_again_replace_the_file_unchanged(store: EvidenceStore) -> None:
    first = put_bytes(store, b"same clip")
    again = put_bytes(store, b"same clip")
    assert first == again
    with store.open(first.key) as reader:
        assert reader.read() == b"same clip"


def test_missing_files_and_unsupported_types(store: EvidenceStore) -> None:
    key = evidence_key(KeyScope.ORDERS, EVENT, "photo", "cd" * 32, "image/png")
    assert not store.exists(key)
    with pytest.raises(EvidenceMissing):
        store.open(key)
    with pytest.raises(UnsupportedContentType, match="'text/html' is not stored"):
        store.put(key, io.BytesIO(b"<script>"), content_type="text/html")
    assert not store.exists(key)


@pytest.mark.parametrize("key", [
    "../outside.jpg", "events/../../outside.jpg", "/etc/passwd", "events//x.jpg",
    "events/./x.jpg", "events/.hidden", "events\\..\\x.jpg", "events/x.jpg/", "", ".incoming/x",
    "events/%2e%2e/x.jpg", "events/x\x00.jpg", "a/b/c/d/e/f/g/h/i",
])
def test_keys_cannot_leave_the_store(store: EvidenceStore, key: str) -> None:
    with pytest.raises(InvalidKey):
        store.put(key, io.BytesIO(b"x"), content_type="image/jpeg")
    with pytest.raises(InvalidKey):
        store.open(key)
    with pytest.raises(InvalidKey):
        store.exists(key)


def test_a_symlink_inside_the_folder_cannot_lead_out(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "evidence")
    outside = tmp_path / "outside"
    outside.mkdir()
    (store.root / "events").symlink_to(outside)
    with pytest.raises(InvalidKey, match="leads out of the store"):
        put_bytes(store, b"x")
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize(("arguments", "message"), [
    ((KeyScope.EVENTS, EVENT, "../clip", "ab" * 32, "video/mp4"), "evidence kind"),
    ((KeyScope.EVENTS, EVENT, "clip", "AB" * 32, "video/mp4"), "not a lower-case hex"),
    ((KeyScope.EVENTS, EVENT, "clip", "ab" * 32, "video/x-matroska"), "is not stored"),
    (("../etc", EVENT, "clip", "ab" * 32, "video/mp4"), "is not a valid KeyScope"),
    ((KeyScope.EVENTS, "../x", "clip", "ab" * 32, "video/mp4"), "badly formed"),
])
def test_the_key_builder_refuses_what_it_cannot_name(arguments: tuple[object, ...],
                                                     message: str) -> None:
    with pytest.raises(ValueError, match=message):
        evidence_key(*arguments)  # type: ignore[arg-type]


def test_measure_leaves_the_stream_where_it_was() -> None:
    stream = io.BytesIO(b"headerPAYLOAD")
    stream.seek(6)
    assert measure(stream) == Digest(7, hashlib.sha256(b"PAYLOAD").hexdigest())
    assert stream.tell() == 6


def test_s3_objects_carry_their_type_and_sha256(moto_endpoint: str) -> None:
    config = s3_config(moto_endpoint, "evidence-meta")
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket="evidence-meta")
    stored = put_bytes(S3Store(config), b"\xff\xd8jpeg", kind="snapshot",
                       content_type="image/jpeg")
    head = client.head_object(Bucket="evidence-meta", Key="centre-1/" + stored.key)
    assert head["ContentType"] == "image/jpeg"
    assert head["Metadata"] == {"sha256": stored.sha256}
    assert head["ContentLength"] == 6


def test_stale_temporary_files_are_swept_on_start(tmp_path: Path) -> None:
    LocalStore(tmp_path / "evidence")
    stale = tmp_path / "evidence" / INCOMING / "put-crashed"
    fresh = tmp_path / "evidence" / INCOMING / "put-running"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    os.utime(stale, (0, 0))
    LocalStore(tmp_path / "evidence")
    assert not stale.exists() and fresh.exists()
