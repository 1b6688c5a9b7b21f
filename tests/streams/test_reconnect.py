"""Reconnection against real servers: GStreamer's RTSP server and an HTTP MJPEG server.

Each test drops its server, checks the camera goes offline, brings the server back on the same
port and checks that frames flow again on a clock that kept going forward.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest

from streams.camera import Camera, CameraState
from streams.clip import write_clip
from streams.settings import CameraSourceConfig
from streams.source import SampledFrame, Source, SourceError

SYSTEM_PYTHON = "/usr/bin/python3"
RTSP_SERVER = Path(__file__).with_name("rtsp_server.py")
FAST_RECONNECT = {"backoff_min_s": 0.2, "backoff_max_s": 1.0, "watchdog_s": 2.0,
                  "open_timeout_s": 3.0}


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def next_frame(camera: Camera, timeout: float = 5) -> SampledFrame:
    frame = camera.next_frame(timeout)
    assert frame is not None, f"no frame within {timeout} s: {camera.status()}"
    return frame


def unavailable(reason: str) -> None:
    """Skip locally when a system component is missing, but fail in CI, where it must exist."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: install the packages listed in .ci/run)")
    pytest.skip(reason)


# -- RTSP ----------------------------------------------------------------------------------------


class RtspServer:
    """tests/streams/rtsp_server.py as a subprocess; ``kill()`` drops it like a power cut."""

    def __init__(self) -> None:
        self.port = 0
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        deadline = time.monotonic() + 10
        while True:  # the same port again: the old listener may need a moment to go
            process = subprocess.Popen([SYSTEM_PYTHON, str(RTSP_SERVER), str(self.port)],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       text=True)
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            if line.startswith("READY "):
                self.port, self._process = int(line.split()[1]), process
                return
            process.wait(5)
            if line.startswith("MISSING"):
                unavailable(f"GStreamer RTSP server not usable: {line}")
            if not line.startswith("BUSY") or time.monotonic() > deadline:
                raise RuntimeError(f"RTSP test server did not start: {line!r}")
            time.sleep(0.2)

    def kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(5)
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/cam"


@pytest.fixture
def rtsp_server() -> Iterator[RtspServer]:
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        unavailable(f"{SYSTEM_PYTHON} (with python3-gi) is not installed")
    server = RtspServer()
    server.start()
    yield server
    server.kill()


def test_rtsp_camera_comes_back_after_the_server_drops(rtsp_server: RtspServer) -> None:
    config = CameraSourceConfig(url=rtsp_server.url, reconnect=FAST_RECONNECT,
                                faults={"offline_s": 0.5, "recover_s": 0.5})
    faults = []
    with Camera("rtsp", config, on_fault=faults.append) as camera:
        first = next_frame(camera, timeout=8)
        assert first.is_keyframe and first.frame.shape == (240, 320, 3)
        assert camera.status().online

        rtsp_server.kill()
        wait_for(lambda: camera.status().state is not CameraState.ONLINE, 5, "offline")
        wait_for(lambda: bool(faults), 5, "the offline fault")
        lost = camera.status()
        assert lost.last_error is not None and lost.last_error.startswith(rtsp_server.url)
        while camera.next_frame(0) is not None:  # frames read before the drop
            pass

        rtsp_server.start()
        back = next_frame(camera, timeout=10)
        status = camera.status()
        assert status.online and status.reconnects == 1
        assert back.pts > first.pts and back.wall > first.wall
        wait_for(lambda: len(faults) == 2, 3, "the offline fault to close")
        assert [(f.kind, f.is_open) for f in faults] == [("offline", True), ("offline", False)]
        status = camera.status()
        states = [change.state for change in status.history]
        assert states[:3] == [CameraState.CONNECTING, CameraState.ONLINE, CameraState.OFFLINE]
        assert states[-1] is CameraState.ONLINE and CameraState.RECONNECTING in states
        assert status.input_fps == pytest.approx(15, rel=0.35)
        snap = camera.snapshot()
        assert snap is not None and snap.packets[0].is_keyframe


# -- HTTP MJPEG ----------------------------------------------------------------------------------


class MjpegServer:
    """multipart/x-mixed-replace JPEGs at 10 fps, like an IP camera's /video.mjpg.

    ``stop()`` closes every connection; ``hang()`` keeps them open but sends nothing.
    """

    def __init__(self, picture: Callable[[int], np.ndarray]) -> None:
        self.port = 0
        self.picture = picture
        self.running = threading.Event()
        self.hung = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                index = 0
                while server.running.is_set():
                    if server.hung.is_set():
                        time.sleep(0.05)
                        continue
                    jpeg = cv2.imencode(".jpg", server.picture(index))[1].tobytes()
                    try:
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\n"
                                         b"Content-Length: %d\r\n\r\n%s\r\n" % (len(jpeg), jpeg))
                    except OSError:
                        return  # the camera hung up
                    index += 1
                    time.sleep(0.1)

            def log_message(self, *args: object) -> None:
                pass

        self.running.set()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.running.clear()
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = self._thread = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/video.mjpg"


@pytest.fixture
def mjpeg_server(moving_picture: Callable[[int], np.ndarray]) -> Iterator[MjpegServer]:
    server = MjpegServer(moving_picture)
    server.start()
    yield server
    server.hung.clear()
    server.stop()


def test_http_mjpeg_camera_comes_back_and_its_clips_are_encoded(
    mjpeg_server: MjpegServer, tmp_path: Path
) -> None:
    config = CameraSourceConfig(url=mjpeg_server.url, reconnect=FAST_RECONNECT,
                                sample={"mode": "every_n", "n": 2})
    with Camera("mjpeg", config) as camera:
        first = next_frame(camera)
        assert first.is_keyframe and first.frame.shape == (240, 320, 3)

        mjpeg_server.stop()
        wait_for(lambda: camera.status().state is not CameraState.ONLINE, 5, "offline")
        dropped = next(c for c in camera.status().history if c.state is CameraState.OFFLINE)
        assert (dropped.reason or "").startswith(f"{mjpeg_server.url}: read failed")
        while camera.next_frame(0) is not None:
            pass

        mjpeg_server.start()
        back = next_frame(camera)
        # MJPEG timestamps are counters: the camera's clock is the wall clock, gap included.
        assert back.pts - first.pts == pytest.approx(back.wall - first.wall, abs=0.5)
        time.sleep(0.5)
        status = camera.status()
        assert status.online and status.reconnects == 1
        assert status.input_fps == pytest.approx(10, rel=0.35)
        assert status.sampled_fps == pytest.approx(5, rel=0.35)  # intra-only: every 2nd decoded

        snap = camera.snapshot(back.pts - 0.3, None)
        assert snap is not None
        info = write_clip(snap, tmp_path / "mjpeg.mp4")
        assert not info.remuxed and info.frames == len(snap.packets) >= 4


def test_a_silent_server_trips_the_watchdog(mjpeg_server: MjpegServer) -> None:
    config = CameraSourceConfig(url=mjpeg_server.url, reconnect=FAST_RECONNECT)
    with Camera("silent", config) as camera:
        next_frame(camera)
        mjpeg_server.hung.set()  # connection stays open, nothing arrives
        silent_since = time.monotonic()
        wait_for(lambda: camera.status().state is not CameraState.ONLINE, 6, "the watchdog")
        assert 1.5 <= time.monotonic() - silent_since <= 5
        assert camera.status().last_error == f"{mjpeg_server.url}: read failed: timed out (no " \
                                              f"data for 2 s)"
        mjpeg_server.hung.clear()
        wait_for(lambda: camera.status().online, 8, "back online")
        assert next_frame(camera).wall > silent_since


def test_http_mpegts_keeps_the_stream_clock(make_video: Callable[..., Path]) -> None:
    """MPEG-TS over HTTP carries real timestamps (from 1.4 s here); they start the clock at 0."""
    data = make_video("live.ts", 100).read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "video/mp2t")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/live.ts"
    frames: list[tuple[float, bool]] = []
    try:
        with pytest.raises(SourceError, match=r"live.ts: (stream ended|read failed)") as error:
            with Source(CameraSourceConfig(url=url), camera="ts") as source:
                frames.extend((f.pts, f.is_keyframe) for f in source.frames())
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert error.value.retryable
    assert frames == [(0.0, True), (2.0, True)]
