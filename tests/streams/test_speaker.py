from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import ValidationError

from streams.speaker import Speaker, SpeakerConfig

FIELDS = {"camera": "pier-3", "type": "angling", "zone": "bank", "id": "e1"}


class _Recorder(BaseHTTPRequestHandler):
    calls: ClassVar[list[tuple[str, str, dict]]] = []
    status = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).calls.append((self.command, self.path, json.loads(body or b"{}")))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def speaker_url() -> Iterator[str]:
    _Recorder.calls = []
    _Recorder.status = 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_http_call_with_the_event_fields(speaker_url: str) -> None:
    speaker = Speaker(
        SpeakerConfig(
            url=f"{speaker_url}/play/{{camera}}", body={"text": "{type} in {zone}", "volume": 80}
        )
    )
    result = speaker.warn(FIELDS).result(timeout=10)
    speaker.close()
    assert (result.action, result.ok, result.error) == ("http", True, None)
    assert _Recorder.calls == [("POST", "/play/pier-3", {"text": "angling in bank", "volume": 80})]


def test_http_error_status_is_a_failed_warning(speaker_url: str) -> None:
    _Recorder.status = 503
    speaker = Speaker(SpeakerConfig(url=speaker_url))
    result = speaker.call(FIELDS)
    speaker.close()
    assert not result.ok and "HTTP 503" in (result.error or "")


def test_unreachable_speaker_does_not_raise() -> None:
    speaker = Speaker(SpeakerConfig(url="http://127.0.0.1:9/play", timeout_s=1))
    result = speaker.call(FIELDS)
    speaker.close()
    assert not result.ok and result.error


def test_local_command_without_a_shell(tmp_path: Path) -> None:
    out = tmp_path / "said.txt"
    script = "import sys; open(sys.argv[1], 'w').write(sys.argv[2])"
    speaker = Speaker(
        SpeakerConfig(command=[sys.executable, "-c", script, str(out), "{camera}; rm -rf /"])
    )
    done = threading.Event()
    speaker.warn(FIELDS, on_done=lambda result: done.set() if result.ok else None)
    assert done.wait(10)
    speaker.close()
    assert out.read_text() == "pier-3; rm -rf /"  # one argument, never shell syntax


def test_command_failures_and_timeouts(tmp_path: Path) -> None:
    failing = Speaker(
        SpeakerConfig(command=[sys.executable, "-c", "import sys; sys.exit('no audio device')"])
    )
    result = failing.call(FIELDS)
    assert not result.ok and "exit code 1: no audio device" in (result.error or "")
    slow = Speaker(
        SpeakerConfig(command=[sys.executable, "-c", "import time; time.sleep(5)"], timeout_s=0.2)
    )
    result = slow.call(FIELDS)
    assert not result.ok and "no exit within 0.2 s" in (result.error or "")
    missing = Speaker(SpeakerConfig(command=[str(tmp_path / "absent")]))
    assert not missing.call(FIELDS).ok
    for speaker in (failing, slow, missing):
        speaker.close()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "exactly one of url or command"),
        ({"url": "http://x", "command": ["say"]}, "exactly one of url or command"),
        ({"url": "ftp://x"}, "http:// or https://"),
        ({"command": ["say"], "body": "hi"}, "apply to url"),
        ({"url": "http://x", "method": "GET", "body": "hi"}, "GET request has no body"),
        ({"url": "http://x", "body": {"text": "{name}"}}, "unknown field {name}"),
        ({"command": ["say", "{cam}"]}, "unknown field {cam}"),
        ({"url": "http://x", "leave_within_s": 0}, "greater than 0"),
    ],
)
def test_config_mistakes(settings: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SpeakerConfig(**settings)
