"""The uplink against a real HTTP ingest endpoint on 127.0.0.1, as docs/uplink.md specifies it.

The endpoint parses the multipart body, checks the token, the idempotency key, the event
document's enumerations and every evidence file's size and sha256, upserts by event id and
records what it stored, what it answered ``duplicate`` and what it rejected. Switches make it
fail: stopped (connection refused), 500, 413, 429, a wrong token, hanging, stalling mid-upload,
or storing a message and then dropping the connection before answering.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import UUID

import numpy as np
import pytest

from detector.events import Event, EventType, FrameRef, Severity
from streams.health import FaultDetector
from streams.outbox import Attachment, MessageState, Outbox
from streams.records import FaultEvent
from streams.settings import FaultConfig
from streams.uplink import CameraReport, Delivery, Heartbeat, Uplink, UplinkLockedError
from streams.uplink_settings import TokenError, UplinkSettings

TOKEN = "device-token-17"
T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
# The contract's enumerations, as docs/uplink.md spells them (not imported: the test checks them).
TYPES = {"angling", "net_fishing", "boat_intrusion", "loitering", "camera_fault"}
SEVERITIES = {"low", "medium", "high", "critical"}
FAULTS = {"offline", "black", "frozen", "covered"}


# --- the centre ----------------------------------------------------------------------------
@dataclass
class Received:
    event: dict[str, Any]
    files: dict[str, bytes]
    headers: dict[str, str]


@dataclass
class Centre:
    """The ingest endpoint. ``mode`` applies to every request, ``plan`` to the next ones."""

    token: str = TOKEN
    mode: str = "ok"
    plan: deque[str] = field(default_factory=deque)
    stored: dict[tuple[str, int], Received] = field(default_factory=dict)
    arrivals: list[str] = field(default_factory=list)       # keys stored, in order
    duplicates: list[str] = field(default_factory=list)     # keys answered "duplicate"
    rejected: list[str] = field(default_factory=list)       # contract violations (422s)
    requests: list[tuple[float, str]] = field(default_factory=list)  # (time, mode)
    heartbeats: list[dict[str, Any]] = field(default_factory=list)
    stalled: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)
        self.server.daemon_threads = True
        self.server.centre = self  # type: ignore[attr-defined]
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def stop(self) -> None:
        """Down: connections are refused until ``start`` again."""
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()
        self.server = None

    def next_mode(self) -> str:
        with self.lock:
            mode = self.plan.popleft() if self.plan else self.mode
            self.requests.append((time.monotonic(), mode))
            return mode

    def ingest(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        parts = _multipart(headers["content-type"], body)
        if not parts or parts[0][0] != "event" or parts[0][2] != "application/json":
            return self._reject("the first part must be the JSON event")
        event = json.loads(parts[0][3])
        key = f"{event['event_id']}:{event['revision']}"
        if headers.get("idempotency-key") != key:
            return self._reject(f"Idempotency-Key {headers.get('idempotency-key')} != {key}")
        problem = _contract_problem(event)
        if problem is not None:
            return self._reject(f"{key}: {problem}")
        files = {name: data for name, _, _, data in parts[1:]}
        if sorted(files) != sorted(item["kind"] for item in event["evidence"]):
            return self._reject(f"{key}: file parts {sorted(files)} do not match the evidence")
        for item in event["evidence"]:
            data = files[item["kind"]]
            if len(data) != item["size"] or hashlib.sha256(data).hexdigest() != item["sha256"]:
                return self._reject(f"{key}: {item['kind']} does not match its sha256")
        with self.lock:
            stored = max((rev for (eid, rev) in self.stored if eid == event["event_id"]),
                         default=0)
            if event["revision"] <= stored:
                self.duplicates.append(key)
                return 200, {"status": "duplicate"}
            self.stored[event["event_id"], event["revision"]] = Received(event, files, headers)
            self.arrivals.append(key)
            return 201, {"status": "created"}

    def _reject(self, why: str) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.rejected.append(why)
        return 422, {"detail": why}


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        centre: Centre = self.server.centre  # type: ignore[attr-defined]
        mode = centre.next_mode()
        headers = {k.lower(): v for k, v in self.headers.items()}
        length = int(headers["content-length"])
        if mode == "stall":  # take the start of the upload, then stop reading
            self.rfile.read(min(length, 65536))
            centre.stalled.set()
            centre.release.wait(10)
            return
        body = self.rfile.read(length)
        if mode == "hang":
            centre.release.wait(10)
            return
        if mode in ("500", "413", "429"):
            extra = {"Retry-After": "1"} if mode == "429" else {}
            return self._answer(int(mode), {"detail": f"test mode {mode}"}, extra)
        if headers.get("authorization") != f"Bearer {centre.token}":
            return self._answer(401, {"detail": "bad device token"})
        if self.path == "/api/v1/ingest/heartbeat":
            centre.heartbeats.append(json.loads(body))
            return self._answer(200, {"status": "ok"})
        assert self.path == "/api/v1/ingest/events", self.path
        status, answer = centre.ingest(headers, body)
        if mode in ("drop", "store_then_stall"):  # stored; the answer is lost
            if mode == "store_then_stall":
                centre.stalled.set()
                centre.release.wait(10)
            return
        self._answer(status, answer)

    def _answer(self, status: int, answer: dict[str, Any],
                extra: dict[str, str] | None = None) -> None:
        data = json.dumps(answer).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(extra or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _contract_problem(event: dict[str, Any]) -> str | None:
    """What in the event document breaks the contract's enumerations, if anything."""
    if event["type"] not in TYPES or event["severity"] not in SEVERITIES:
        return f"unknown type {event['type']!r} or severity {event['severity']!r}"
    if event["status"] not in ("open", "closed") or (event["status"] == "closed") != (
            event["end"] is not None):
        return f"status {event['status']!r} with end {event['end']!r}"
    if event["type"] == "camera_fault":
        if event.get("fault") not in FAULTS or not isinstance(event.get("detail"), str):
            return f"a camera_fault needs fault and detail, got {event.get('fault')!r}"
        if event["zone"] is not None or event["track_ids"]:
            return "a camera_fault has no zone and no tracks"
    elif not isinstance(event["zone"], str):
        return f"zone {event['zone']!r}"
    return None


def _multipart(content_type: str, body: bytes) -> list[tuple[str, str | None, str | None, bytes]]:
    """(name, filename, content type, data) of each part of a multipart/form-data body."""
    boundary = re.search(r'boundary="?([^";]+)"?', content_type).group(1).encode()
    parts = []
    for section in body.split(b"--" + boundary)[1:-1]:
        head, _, data = section.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        fields = dict(line.split(": ", 1) for line in head.decode().split("\r\n"))
        disposition = fields["Content-Disposition"]
        filename = re.search(r'filename="([^"]*)"', disposition)
        parts.append((re.search(r'name="([^"]*)"', disposition).group(1),
                      filename.group(1) if filename else None, fields.get("Content-Type"),
                      data.removesuffix(b"\r\n")))
    return parts


# --- helpers -------------------------------------------------------------------------------
def make_event(number: int, *, closed: bool = False) -> Event:
    frame = FrameRef(100, 4.0, T0 + timedelta(seconds=4))
    return Event(
        id=UUID(int=number), camera="cam1", type=EventType.NET_FISHING,
        severity=Severity.CRITICAL, zone="bank", start=T0, start_s=0.0,
        end=T0 + timedelta(seconds=30) if closed else None, end_s=30.0 if closed else None,
        best_confidence=0.9, best_frame=frame, evidence=(), track_ids=(1,),
        model_name="fishwatch-yolo11n", model_version="1.0")


def key(number: int, revision: int) -> str:
    return f"{UUID(int=number)}:{revision}"


def wait_until(condition: Callable[[], Any], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {condition}")
        time.sleep(0.01)


@pytest.fixture
def centre() -> Iterator[Centre]:
    centre = Centre()
    centre.start()
    yield centre
    centre.release.set()
    if centre.server is not None:
        centre.stop()


def settings_for(centre: Centre, tmp_path: Path, **overrides: Any) -> UplinkSettings:
    values: dict[str, Any] = dict(
        centre_url=centre.url, device_id="box-017", token=TOKEN,
        outbox_path=tmp_path / "outbox" / "outbox.db", backoff_min_s=0.01, backoff_max_s=0.1,
        connect_timeout_s=1.0, timeout_s=0.5, poll_s=0.05, heartbeat_interval_s=3600)
    values.update(overrides)
    return UplinkSettings(**values)


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    with Outbox(tmp_path / "outbox" / "outbox.db") as box:
        yield box


@pytest.fixture
def run_uplink() -> Iterator[Callable[..., Uplink]]:
    started: list[Uplink] = []

    def run(settings: UplinkSettings, outbox: Outbox, **options: Any) -> Uplink:
        uplink = Uplink(settings, outbox, **options)
        uplink.start()
        started.append(uplink)
        return uplink

    yield run
    for uplink in started:
        uplink.stop(timeout=5)


class Evidence:
    """Random evidence files for event ``number``, remembered for comparison."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data: dict[tuple[int, str], bytes] = {}

    def files(self, number: int, *kinds: str, clip_size: int = 100_000) -> list[Attachment]:
        result = []
        for kind in kinds:
            data = os.urandom(clip_size if kind == "clip" else 2_000)
            path = self.folder / f"{number}-{kind}{'.mp4' if kind == 'clip' else '.jpg'}"
            path.write_bytes(data)
            self.data[number, kind] = data
            result.append(Attachment(kind, path))  # type: ignore[arg-type]
        return result


@pytest.fixture
def evidence(tmp_path: Path) -> Evidence:
    return Evidence(tmp_path)


def add_open_and_close(outbox: Outbox, evidence: Evidence, numbers: range,
                       clip_size: int = 100_000) -> list[str]:
    """Each event opened (snapshots) then closed (clip), all opens first; the keys in order."""
    for number in numbers:
        outbox.add(make_event(number), evidence.files(number, "snapshot", "snapshot_clean"))
    for number in numbers:
        outbox.add(make_event(number, closed=True),
                   evidence.files(number, "clip", clip_size=clip_size))
    return [key(n, 1) for n in numbers] + [key(n, 2) for n in numbers]


def all_sent(outbox: Outbox, count: int) -> Callable[[], bool]:
    return lambda: outbox.stats().sent == count


# --- tests ---------------------------------------------------------------------------------
def test_open_and_close_of_three_events_arrive_once_in_order_with_their_evidence(
        centre: Centre, outbox: Outbox, evidence: Evidence, tmp_path: Path,
        run_uplink: Callable[..., Uplink]) -> None:
    expected = add_open_and_close(outbox, evidence, range(1, 4))
    camera = CameraReport("cam1", "online", 25.0, T0)
    settings = settings_for(centre, tmp_path)
    uplink = run_uplink(settings, outbox, heartbeat=lambda: Heartbeat(
        "fishwatch-yolo11n", "1.0", (camera,), software_version="9.9"))
    second = Uplink(settings, outbox)
    with pytest.raises(UplinkLockedError):
        second.start()
    second.stop()

    wait_until(all_sent(outbox, 6))
    assert centre.arrivals == expected
    assert (centre.duplicates, centre.rejected) == ([], [])
    for (event_id, revision), received in centre.stored.items():
        number = UUID(event_id).int
        kinds = ("snapshot", "snapshot_clean") if revision == 1 else ("clip",)
        assert received.files == {kind: evidence.data[number, kind] for kind in kinds}
        assert received.event["device_id"] == "box-017"
        assert received.event["status"] == ("open" if revision == 1 else "closed")
        assert received.headers["authorization"] == f"Bearer {TOKEN}"
    assert {m.result for m in outbox.messages(MessageState.SENT)} == {"created"}

    heartbeat, = centre.heartbeats
    assert heartbeat["device_id"] == "box-017"
    assert heartbeat["model"] == {"name": "fishwatch-yolo11n", "version": "1.0"}
    assert heartbeat["software_version"] == "9.9"
    assert heartbeat["cameras"] == [{"name": "cam1", "state": "online", "fps": 25.0,
                                     "last_frame_at": "2024-05-01T10:00:00.000Z"}]
    uplink.stop()  # a clean stop releases the sender lock
    run_uplink(settings, outbox)


def test_a_centre_down_for_a_while_gets_everything_once_when_back(
        centre: Centre, outbox: Outbox, evidence: Evidence, tmp_path: Path,
        run_uplink: Callable[..., Uplink]) -> None:
    centre.stop()
    expected = add_open_and_close(outbox, evidence, range(1, 3))
    run_uplink(settings_for(centre, tmp_path), outbox)
    wait_until(lambda: sum(m.attempts for m in outbox.messages(MessageState.PENDING)) >= 8)
    down_since = time.monotonic()
    time.sleep(0.5)
    attempts = sum(m.attempts for m in outbox.messages(MessageState.PENDING))
    # One attempt per box-wide wait (0.05-0.1 s by now), not one per message per wait.
    assert attempts - 8 <= (time.monotonic() - down_since) / 0.05 + 1
    assert "ConnectError" in outbox.messages(MessageState.PENDING)[0].last_error

    centre.start()
    wait_until(all_sent(outbox, 4))
    assert centre.arrivals == expected
    assert (centre.duplicates, centre.rejected) == ([], [])


def test_a_lost_answer_makes_a_resend_the_centre_answers_duplicate(
        centre: Centre, outbox: Outbox, evidence: Evidence, tmp_path: Path,
        run_uplink: Callable[..., Uplink]) -> None:
    centre.plan.append("drop")
    outbox.add(make_event(1), evidence.files(1, "snapshot"))
    outbox.add(make_event(2), evidence.files(2, "snapshot"))
    run_uplink(settings_for(centre, tmp_path), outbox)

    wait_until(all_sent(outbox, 2))
    assert centre.arrivals == [key(1, 1), key(2, 1)]
    assert centre.duplicates == [key(1, 1)]
    first, second = outbox.messages(MessageState.SENT)
    assert (first.attempts, first.result) == (2, "duplicate")
    assert (second.attempts, second.result) == (1, "created")


def test_500_timeout_and_429_are_retried_and_retry_after_is_obeyed(
        centre: Centre, outbox: Outbox, evidence: Evidence, tmp_path: Path,
        run_uplink: Callable[..., Uplink]) -> None:
    centre.plan.extend(["500", "hang", "429"])
    outbox.add(make_event(1), evidence.files(1, "snapshot"))
    run_uplink(settings_for(centre, tmp_path, timeout_s=0.3), outbox)

    wait_until(all_sent(outbox, 1))
    assert [mode for _, mode in centre.requests] == ["500", "hang", "429", "ok"]
    assert centre.requests[3][0] - centre.requests[2][0] >= 1.0  # Retry-After: 1
    assert centre.arrivals == [key(1, 1)]
    sent, = outbox.messages(MessageState.SENT)
    assert sent.attempts == 4


def test_a_refused_token_pauses_the_box_until_the_token_changes(
        centre: Centre, outbox: Outbox, evidence: Evidence, tmp_path: Path,
        run_uplink: Callable[..., Uplink]) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("revoked-token\n")
    for number in (1, 2):
        outbox.add(make_event(number), evidence.files(number, "snapshot"))
    uplink = run_uplink(settings_for(centre, tmp_path, token=None, token_file=token_file),
                        outbox)

    wait_until(lambda: uplink.paused is not None)
    time.sleep(0.3)
    assert len(centre.requests) == 1  # paused: no attempt per message
    assert "401" in uplink.paused
    pending = outbox.messages(MessageState.PENDING)
    assert len(pending) == 2 and "HTTP 401" in pending[0].last_error  # waiting, not parked
    uplink.resume()  # an operator insists: one more try, refused again
    wait_until(lambda: len(centre.requests) == 2 and uplink.paused is not None)

    token_file.write_text(TOKEN + "\n")
    wait_until(all_sent(outbox, 2))
    assert uplink.paused is None
    assert centre.arrivals == [key(1, 1), key(2, 1)]


def test_messages_that_cannot_succeed_are_parked_and_the_rest_go_on(
        centre: Centre, outbox: Outbox, evidence: Evidence, tmp_path: Path,
        run_uplink: Callable[..., Uplink]) -> None:
    centre.plan.append("413")
    too_big = outbox.add(make_event(1), evidence.files(1, "clip"))
    corrupt = outbox.add(make_event(2), evidence.files(2, "snapshot"))
    missing = outbox.add(make_event(3), evidence.files(3, "snapshot"))
    outbox.add(make_event(4), evidence.files(4, "snapshot"))
    corrupt.evidence[0].path.write_bytes(b"flipped bits")
    missing.evidence[0].path.unlink()
    uplink = run_uplink(settings_for(centre, tmp_path), outbox)

    wait_until(lambda: outbox.stats().sent + outbox.stats().parked == 4)
    assert centre.arrivals == [key(4, 1)]
    errors = {m.id: m.last_error for m in outbox.messages(MessageState.PARKED)}
    assert errors[too_big.id].startswith("HTTP 413 Request Entity Too Large")
    assert "size is 12 bytes, the message says 2000" in errors[corrupt.id]
    assert "No such file" in errors[missing.id]
    assert len(centre.requests) == 2  # parked messages are not retried
    assert uplink.paused is None

    outbox.requeue(too_big.id)  # the operator raised the centre's limit
    uplink.notify()
    wait_until(all_sent(outbox, 2))
    assert centre.arrivals == [key(4, 1), key(1, 1)]


def test_a_camera_fault_arrives_as_a_camera_fault_event(
        centre: Centre, outbox: Outbox, evidence: Evidence, tmp_path: Path,
        run_uplink: Callable[..., Uplink]) -> None:
    """A real fault (black for 3 s, then a picture again) opened, then closed, beside a rule
    event: both reach the centre, each with its own type, and the fault names what failed."""
    detector = FaultDetector("cam1", FaultConfig(black_s=2, recover_s=1))
    rng = np.random.default_rng(0)
    picture = rng.integers(0, 255, (48, 64, 3), np.uint8)
    frames = [np.zeros_like(picture)] * 4 + [picture] * 3
    changes = [c for i, frame in enumerate(frames)
               for c in detector.observe(frame, float(i), T0.timestamp() + i)]
    opened, closed = (FaultEvent(change, "fishwatch-yolo11n", "1.0") for change in changes)
    outbox.add(opened, evidence.files(7, "snapshot", "snapshot_clean"))
    outbox.add(make_event(1), evidence.files(1, "snapshot"))
    outbox.add(closed, evidence.files(7, "clip"))
    run_uplink(settings_for(centre, tmp_path), outbox)

    wait_until(all_sent(outbox, 3))
    fault_id = str(opened.id)
    assert centre.arrivals == [f"{fault_id}:1", key(1, 1), f"{fault_id}:2"]
    assert centre.rejected == []
    first, last = centre.stored[fault_id, 1].event, centre.stored[fault_id, 2].event
    assert {k: first[k] for k in ("type", "fault", "severity", "zone", "status", "start",
                                  "end", "start_s", "end_s", "track_ids", "outcome")} == {
        "type": "camera_fault", "fault": "black", "severity": "high", "zone": None,
        "status": "open", "start": "2024-05-01T10:00:00.000Z", "end": None, "start_s": 0.0,
        "end_s": None, "track_ids": [], "outcome": None}
    assert first["detail"].startswith("mean luma")
    assert (last["status"], last["end"], last["end_s"]) == (
        "closed", "2024-05-01T10:00:04.000Z", 4.0)
    assert centre.stored[fault_id, 2].files == {"clip": evidence.data[7, "clip"]}
    rule = centre.stored[str(UUID(int=1)), 1].event
    assert rule["type"] == "net_fishing" and "fault" not in rule


def test_send_next_reports_each_attempt(centre: Centre, outbox: Outbox, evidence: Evidence,
                                        tmp_path: Path) -> None:
    centre.plan.append("500")
    outbox.add(make_event(1))
    uplink = Uplink(settings_for(centre, tmp_path), outbox)
    try:
        failed = uplink.send_next()
        assert failed.delivery is Delivery.RETRY and failed.detail.startswith("HTTP 500")
        assert 0.005 <= failed.retry_in <= 0.01
        assert uplink.send_next() is None  # not due yet
        time.sleep(failed.retry_in)
        assert uplink.send_next().delivery is Delivery.SENT
    finally:
        uplink.stop()


@pytest.mark.parametrize(("overrides", "exception"), [
    ({}, None),
    ({"token": None}, "exactly one of token or token_file"),
    ({"token_file": "/etc/token"}, "exactly one of token or token_file"),
    ({"backoff_min_s": 10, "backoff_max_s": 5}, "larger than backoff_max_s"),
    ({"device_id": "box 17"}, "should match pattern"),
    ({"centre_url": "ftp://centre"}, "URL scheme should be 'http' or 'https'"),
    ({"centre_url": "https://centre/?x=1"}, "no query or fragment"),
    ({"retry": 3}, "Extra inputs are not permitted"),
])
def test_settings_validation(overrides: dict[str, Any], exception: str | None) -> None:
    values = {"centre_url": "https://centre.example/base/", "device_id": "box-017",
              "token": "s3cret-token", "outbox_path": "/data/outbox.db", **overrides}
    if exception is None:
        settings = UplinkSettings(**values)
        assert settings.endpoint("/api/v1/ingest/events") == \
            "https://centre.example/base/api/v1/ingest/events"
        assert settings.evidence_path == Path("/data/evidence")
        assert "s3cret" not in repr(settings)
    else:
        with pytest.raises(ValueError, match=re.escape(exception)):
            UplinkSettings(**values)


def test_the_token_file_is_read_each_time(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    settings = UplinkSettings(centre_url="https://c", device_id="b", token_file=token_file,
                              outbox_path=tmp_path / "o.db")
    with pytest.raises(TokenError, match="cannot read token_file"):
        settings.device_token()
    token_file.write_text("\n")
    with pytest.raises(TokenError, match="is empty"):
        settings.device_token()
    token_file.write_text("abc\n")
    assert settings.device_token() == "abc"


SENDER = """
import sys, time
from streams.outbox import Outbox
from streams.uplink import Uplink
from streams.uplink_settings import TokenError, UplinkSettings
settings = UplinkSettings.model_validate_json(sys.argv[1])
Uplink(settings, Outbox(settings.outbox_path, settings.evidence_path)).start()
time.sleep(3600)
"""


def test_kill_9_mid_upload_then_restart_delivers_every_event_exactly_once(
        centre: Centre, evidence: Evidence, tmp_path: Path) -> None:
    """The sender runs in another process (a reboot: the outbox is opened anew each time) and
    is killed twice: while the centre reads an upload slowly (nothing stored), and after the
    centre stored a message but before it answered (the resend is a duplicate)."""
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    settings = settings_for(centre, tmp_path, timeout_s=5.0, token=None, token_file=token_file)
    with Outbox(settings.outbox_path, settings.evidence_path) as outbox:
        expected = add_open_and_close(outbox, evidence, range(1, 4), clip_size=1_000_000)
    centre.plan.extend(["ok", "ok", "ok", "stall"])   # the 4th request: event 1's clip

    def sender() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-c", SENDER, settings.model_dump_json()])

    def kill_when_stalled(process: subprocess.Popen[bytes]) -> None:
        assert centre.stalled.wait(20), "the centre never stalled"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
        centre.stalled.clear()

    kill_when_stalled(sender())
    assert centre.arrivals == expected[:3]
    centre.plan.extend(["ok", "store_then_stall"])  # event 1's clip again, then event 2's
    kill_when_stalled(sender())
    assert centre.arrivals == expected[:5]
    last = sender()
    try:
        with Outbox(settings.outbox_path, settings.evidence_path) as outbox:
            wait_until(all_sent(outbox, 6), timeout=20)
            results = [m.result for m in outbox.messages(MessageState.SENT)]
    finally:
        last.kill()
        last.wait(10)

    assert centre.arrivals == expected
    assert centre.duplicates == [expected[4]]  # stored before the kill, resent after it
    assert results == ["created"] * 4 + ["duplicate", "created"]
    assert centre.rejected == []
    for (event_id, revision), received in centre.stored.items():
        kinds = ("snapshot", "snapshot_clean") if revision == 1 else ("clip",)
        assert received.files == {k: evidence.data[UUID(event_id).int, k] for k in kinds}
