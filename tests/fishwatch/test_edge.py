"""The edge runner: several cameras, one detector, faults, evidence, metrics, speaker, Ctrl-C."""

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
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

from detector.classes import FishwatchClass
from detector.detections import Detections
from detector.settings import AnalysisSettings
from fishwatch.cli import app
from fishwatch.config import CameraConfig, EvidenceConfig, FishwatchConfig
from fishwatch.edge import EdgeRunner, OutboxSink, ring_seconds, run_site
from streams.camera import CameraState
from streams.outbox import MessageState, Outbox
from streams.settings import CameraSourceConfig, FaultConfig, SamplingConfig
from streams.speaker import SpeakerConfig
from streams.uplink_settings import UplinkSettings

FAULT_CLIP = Path(__file__).resolve().parents[2] / "sample_videos" / "camera_fault.mp4"
FAST_FAULTS = FaultConfig(black_s=4, freeze_s=4, covered_s=4, offline_s=None)


class Scripted:
    """A detector that sees a person for its first ``person_frames`` frames, then nothing."""

    name, version, sha256 = "scripted", "1", "0" * 64

    def __init__(self, person_frames: int = 0) -> None:
        self.person_frames = person_frames
        self.calls = 0

    def detect(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        found = []
        for frame in frames:
            self.calls += 1
            h, w = frame.shape[:2]
            person = Detections(
                [[w * 0.4, h * 0.3, w * 0.5, h * 0.8]], [0.9], [FishwatchClass.PERSON]
            )
            found.append(person if self.calls <= self.person_frames else Detections.empty())
        return found


def _file(
    path: Path,
    *,
    sample: SamplingConfig | None = None,
    faults: FaultConfig = FAST_FAULTS,
    pace: str = "fast",
    loop: bool = False,
) -> CameraSourceConfig:
    return CameraSourceConfig(
        path=path, pace=pace, loop=loop, faults=faults, sample=sample or SamplingConfig()
    )


def _sha(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _run(runner: EdgeRunner, seconds: float = 120) -> list:
    stop = threading.Event()
    timer = threading.Timer(seconds, stop.set)
    timer.start()
    try:
        return runner.run(stop)
    finally:
        timer.cancel()


def test_black_and_frozen_camera_give_camera_fault_events_with_evidence(tmp_path: Path) -> None:
    messages: list[dict[str, Any]] = []
    runner = EdgeRunner(
        {"embankment": CameraConfig(source=_file(FAULT_CLIP))},
        Scripted(),
        EvidenceConfig(folder=tmp_path, pre_capture_s=2, post_capture_s=2),
        sink=lambda m: messages.append(m.document),
        wall_clock=False,
    )
    (result,) = _run(runner)
    assert (result.state, result.error) == (CameraState.ENDED, None)
    closed = [m for m in messages if m["kind"] == "closed"]
    truth = json.loads(FAULT_CLIP.with_suffix(".json").read_text())["events"]
    assert [(m["type"], m["fault"]) for m in closed] == [
        ("camera_fault", "black"),
        ("camera_fault", "frozen"),
    ]
    for message, expected in zip(closed, truth, strict=True):
        assert message["start_s"] < expected["end_s"] and expected["start_s"] < message["end_s"]
        for name in ("snapshot", "frame", "clip"):
            record = message[name]
            assert record["sha256"] == _sha(record["path"]), name
            assert Path(record["path"]).parent == tmp_path / "embankment" / message["id"]
    assert next(m["kind"] for m in messages if m["id"] == closed[0]["id"]) == "opened"


def test_a_corrupt_camera_fails_alone(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4096))
    messages: list[dict[str, Any]] = []
    cameras = {
        "broken": CameraConfig(source=_file(corrupt)),
        "embankment": CameraConfig(source=_file(FAULT_CLIP)),
    }
    runner = EdgeRunner(
        cameras,
        Scripted(),
        EvidenceConfig(folder=tmp_path),
        sink=lambda m: messages.append(m.document),
        wall_clock=False,
    )
    broken, good = _run(runner)
    assert broken.state is CameraState.FAILED and "corrupt.mp4" in (broken.error or "")
    assert good.state is CameraState.ENDED and good.frames > 0
    assert {m["camera"] for m in messages} == {"embankment"}
    assert sum(m["kind"] == "closed" for m in messages) == 2


def test_a_truncated_camera_reports_it_after_what_it_could_read(tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(FAULT_CLIP.read_bytes()[: FAULT_CLIP.stat().st_size // 2])
    runner = EdgeRunner(
        {"cut": CameraConfig(source=_file(truncated))},
        Scripted(),
        EvidenceConfig(folder=tmp_path),
        sink=lambda m: None,
        wall_clock=False,
    )
    (result,) = _run(runner)
    assert result.state is CameraState.FAILED and result.frames > 5
    assert "truncated" in (result.error or "")


class _Speaker(BaseHTTPRequestHandler):
    calls: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).calls.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def speaker_url() -> Iterator[str]:
    _Speaker.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Speaker)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/play"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(("person_frames", "outcome"), [(5, "dispersed"), (1000, "stayed")])
def test_speaker_is_called_and_the_outcome_recorded(
    tmp_path: Path, scene20s: Path, speaker_url: str, person_frames: int, outcome: str
) -> None:
    analysis = AnalysisSettings(frame_size=(320, 240), rules={"loitering": {"min_dwell_s": 2}})
    speaker = SpeakerConfig(url=speaker_url, body={"say": "{type} at {camera}"}, leave_within_s=6)
    camera = CameraConfig(source=_file(scene20s), analysis=analysis, speaker=speaker)
    messages: list[dict[str, Any]] = []
    runner = EdgeRunner(
        {"pier": camera},
        Scripted(person_frames),
        EvidenceConfig(folder=tmp_path),
        sink=lambda m: messages.append(m.document),
        wall_clock=False,
    )
    _run(runner)
    assert _Speaker.calls == [{"say": "loitering at pier"}]
    (closed,) = [m for m in messages if m["kind"] == "closed"]
    assert closed["type"] == "loitering"
    assert closed["warning"] == {"action": "http", "ok": True, "error": None, "outcome": outcome}


def test_metrics_are_served(tmp_path: Path, scene20s: Path) -> None:
    camera = CameraConfig(source=_file(scene20s, pace="realtime", loop=True))
    runner = EdgeRunner(
        {"pier": camera},
        Scripted(),
        EvidenceConfig(folder=tmp_path),
        sink=lambda m: None,
        outbox_size=lambda: 3,
    )
    port = runner.metrics.serve(0)
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,))
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
            if re.search(r'fishwatch_camera_detection_fps\{camera="pier"\} [1-9]', text):
                break
            time.sleep(0.5)
    finally:
        stop.set()
        thread.join(10)
    for name in (
        'fishwatch_camera_fps{camera="pier"}',
        'fishwatch_camera_decoded_fps{camera="pier"}',
        'fishwatch_camera_frames_skipped_total{camera="pier"}',
        "fishwatch_inference_seconds_count",
        "fishwatch_queue_depth",
        "fishwatch_pending_clips",
        "fishwatch_outbox_size 3.0",
    ):
        assert name in text, name
    assert re.search(r'fishwatch_camera_detection_fps\{camera="pier"\} [1-9]', text), text
    assert not thread.is_alive()


def test_the_ring_holds_the_whole_clip() -> None:
    camera = CameraConfig(source=CameraSourceConfig(url="rtsp://cam/1"))
    evidence = EvidenceConfig(pre_capture_s=10, post_capture_s=10)
    # 10 s before a start that is reported once offline has lasted 30 s, plus a GOP of margin.
    assert ring_seconds(camera, evidence) == 10 + 30 + 4


def test_ctrl_c_stops_the_edge_command(tmp_path: Path, blank_model: Path, scene20s: Path) -> None:
    config = tmp_path / "fishwatch.yaml"
    config.write_text(
        f"model: {{path: {blank_model}}}\n"
        f"cameras:\n  pier:\n    source: {{path: {scene20s}, loop: true}}\n"
        f"evidence: {{folder: {tmp_path / 'evidence'}}}\n"
        "metrics: {port: 0}\nedge: {status_interval_s: 1}\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "fishwatch", "edge", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        assert process.stderr is not None
        while not any("pier: online" in line for line in lines):
            line = process.stderr.readline()
            assert line, "".join(lines)
            lines.append(line)
        port = next(re.search(r":(\d+)/metrics", line) for line in lines if "/metrics" in line)
        assert port is not None
        assert (
            'fishwatch_camera_up{camera="pier"} 1.0'
            in httpx.get(f"http://127.0.0.1:{port.group(1)}/metrics").text
        )
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=15)
        assert time.monotonic() - started < 5
    finally:
        process.kill()
    assert process.returncode == 0, rest
    assert "stopping" in rest and "Traceback" not in rest


def test_events_reach_the_outbox_with_each_file_once(tmp_path: Path, scene20s: Path) -> None:
    analysis = AnalysisSettings(frame_size=(320, 240), rules={"loitering": {"min_dwell_s": 2}})
    cameras = {
        "pier": CameraConfig(source=_file(scene20s), analysis=analysis),
        "embankment": CameraConfig(source=_file(FAULT_CLIP)),
    }
    with Outbox(tmp_path / "outbox.db") as outbox:
        runner = EdgeRunner(
            cameras,
            Scripted(person_frames=8),
            EvidenceConfig(folder=tmp_path),
            sink=OutboxSink(outbox),
            wall_clock=False,
        )
        _run(runner)
        messages = outbox.messages(MessageState.PENDING)
    by_event: dict[Any, list[dict[str, Any]]] = {}
    for message in messages:
        by_event.setdefault(message.event_id, []).append(json.loads(message.payload))
        for stored in message.evidence:
            assert stored.sha256 == _sha(str(stored.path))
    types = sorted((d[0]["camera"], d[0]["type"], d[0].get("fault")) for d in by_event.values())
    assert types == [
        ("embankment", "camera_fault", "black"),
        ("embankment", "camera_fault", "frozen"),
        ("pier", "loitering", None),
    ]
    for documents in by_event.values():
        assert [d["revision"] for d in documents] == list(range(1, len(documents) + 1))
        assert documents[0]["status"] == "open" and documents[-1]["status"] == "closed"
        assert [d["status"] for d in documents].count("closed") == 1
        kinds = [e["kind"] for d in documents for e in d["evidence"]]
        assert sorted(set(kinds)) == ["clip", "snapshot", "snapshot_clean"]
        assert kinds.count("clip") == 1
        if documents[0]["type"] == "camera_fault":
            assert all(
                (d["zone"], d["track_ids"], d["confidence"]) == (None, [], 1.0) for d in documents
            )
            assert all(d["detail"] for d in documents)
    for camera in ("pier", "embankment"):
        assert not list((tmp_path / camera).iterdir())  # the outbox holds the only copies


def test_an_unwritable_evidence_folder_costs_the_pictures_not_the_camera(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the camera's evidence folder should be")
    messages: list[dict[str, Any]] = []
    runner = EdgeRunner(
        {"embankment": CameraConfig(source=_file(FAULT_CLIP))},
        Scripted(),
        EvidenceConfig(folder=tmp_path),
        sink=lambda m: messages.append(m.document),
        folders={"embankment": blocked / "sub"},
        wall_clock=False,
    )
    (result,) = _run(runner)
    assert (result.state, result.error) == (CameraState.ENDED, None)
    closed = [m for m in messages if m["kind"] == "closed"]
    assert [m["fault"] for m in closed] == ["black", "frozen"]
    assert all(m["snapshot"] is None and m["clip"] is None for m in closed)


def test_edge_command_refuses_an_evidence_folder_it_cannot_create(
    tmp_path: Path, blank_model: Path, scene20s: Path
) -> None:
    (tmp_path / "file").write_text("")
    config = tmp_path / "fishwatch.yaml"
    config.write_text(
        f"model: {{path: {blank_model}}}\n"
        f"cameras:\n  pier:\n    source: {{path: {scene20s}}}\n"
        f"evidence: {{folder: {tmp_path / 'file' / 'evidence'}}}\n"
    )
    result = CliRunner().invoke(app, ["edge", "--config", str(config)])
    assert result.exit_code == 2
    assert "evidence.folder" in result.stderr and "cannot create it" in result.stderr
    result = CliRunner().invoke(app, ["edge", "--config", str(tmp_path / "absent.yaml")])
    assert result.exit_code == 2 and "cannot read config" in result.stderr


class _Centre(BaseHTTPRequestHandler):
    """The ingest API as far as the box can tell: takes events and heartbeats, says created."""

    events: ClassVar[list[tuple[str, bytes]]] = []
    heartbeats: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path.endswith("/heartbeat"):
            type(self).heartbeats.append(json.loads(body))
            self.send_response(200)
            self.end_headers()
            return
        type(self).events.append((self.headers["Idempotency-Key"], body))
        reply = b'{"status": "created"}'
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: object) -> None:
        pass


def test_run_site_delivers_events_and_heartbeats_to_the_centre(
    tmp_path: Path, scene20s: Path
) -> None:
    _Centre.events, _Centre.heartbeats = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Centre)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    analysis = AnalysisSettings(frame_size=(320, 240), rules={"loitering": {"min_dwell_s": 2}})
    config = FishwatchConfig(
        cameras={
            "pier": CameraConfig(
                source=_file(scene20s, pace="realtime", loop=True), analysis=analysis
            )
        },
        evidence=EvidenceConfig(folder=tmp_path / "evidence"),
        uplink=UplinkSettings(
            centre_url=f"http://127.0.0.1:{server.server_port}",
            device_id="box-1",
            token="secret",
            outbox_path=tmp_path / "outbox.db",
            poll_s=0.2,
        ),
    )
    stop = threading.Event()
    lines: list[str] = []

    def stop_once_delivered() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (_Centre.events and _Centre.heartbeats):
            time.sleep(0.1)
        stop.set()

    threading.Thread(target=stop_once_delivered, daemon=True).start()
    try:
        results = run_site(
            config,
            Scripted(person_frames=1000),
            stop,
            report=lines.append,
            sink=lambda m: pytest.fail("the outbox takes the messages"),
        )
    finally:
        server.shutdown()
        server.server_close()
    assert [r.error for r in results] == [None]
    key, body = _Centre.events[0]
    assert key.endswith(":1") and b'"type":"loitering"' in body and b"snapshot_clean" in body
    assert _Centre.heartbeats[0]["device_id"] == "box-1"
    assert [c["name"] for c in _Centre.heartbeats[0]["cameras"]] == ["pier"]
    assert any("sending events to" in line for line in lines)
