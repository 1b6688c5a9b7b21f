"""The zone editor: its save endpoint writes real YAML that still loads, refuses bad polygons with
the file untouched, and its page draws a zone from clicks in a real browser."""

from __future__ import annotations

import difflib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from detector.zones import ZoneKind
from fishwatch.cli import app as cli
from fishwatch.config import load_config
from fishwatch.zone_editor import ZoneFile, create_app, grab_frame
from streams.settings import CameraSourceConfig

if TYPE_CHECKING:
    from playwright.sync_api import Page

REPO = Path(__file__).resolve().parents[2]
VIDEO = REPO / "sample_videos" / "angler_arrives.mp4"  # 1280x720
CHROMIUM = Path("/usr/lib/chromium/chromium")

SITE = f"""\
# River site north: edited by hand, comments must survive the editor
model:
  path: {REPO / "models" / "fishwatch-yolo11n.onnx"}   # the shipped model
cameras:
  pier:
    # the pier camera, looking downstream
    source: {{path: {VIDEO}}}
    analysis:
      frame_size: [1280, 720]
      zones:
        road:
          coordinates: [[0, 0], [100, 0], [100, 100]]  # the footpath
          kinds: [ignore]
          inertia: 3
        old_bank: {{coordinates: [[0, 300], [50, 300], [50, 350]], kinds: [no_fishing]}}
      rules:
        loitering: {{enabled: false}}   # too many walkers here
  quay:
    source:
      url: "rtsp://10.0.0.9/stream"   # no analysis yet
dispatch:
  departments:
    - code: centre
      name: "Dispatch centre"
    - {{code: police, name: 'River police'}}
"""

BANK = {"coordinates": [[0, 400], [1280, 400], [1280, 720], [0, 720]], "kinds": ["no_fishing"]}
ROAD = {"coordinates": [[0, 0], [100, 0], [100, 100]], "kinds": ["ignore"]}


@pytest.fixture
def site(tmp_path: Path) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(SITE, encoding="utf-8")
    return path


def editor(site: Path, camera: str = "pier", size: tuple[int, int] = (1280, 720)) -> TestClient:
    frame = np.full((size[1], size[0], 3), 90, np.uint8)
    jpeg = cv2.imencode(".jpg", frame)[1].tobytes()
    return TestClient(create_app(ZoneFile(site, camera, size), jpeg))


def changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.ndiff(before.splitlines(), after.splitlines())
            if line[:2] in ("- ", "+ ")]


def test_the_page_frame_and_zones_are_served(site: Path) -> None:
    client = editor(site)
    assert "<canvas" in client.get("/").text
    frame = client.get("/frame.jpg")
    assert frame.headers["content-type"] == "image/jpeg"
    image = cv2.imdecode(np.frombuffer(frame.content, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (720, 1280, 3)
    state = client.get("/api/zones").json()
    assert state["frame_size"] == [1280, 720]
    assert [k["value"] for k in state["kinds"]] == [k.value for k in ZoneKind]
    assert state["zones"] == {
        "road": ROAD,
        "old_bank": {"coordinates": [[0, 300], [50, 300], [50, 350]], "kinds": ["no_fishing"]},
    }


def test_save_writes_the_zones_and_keeps_the_rest_of_the_file(site: Path) -> None:
    response = editor(site).put("/api/zones", json={"zones": {"road": ROAD, "bank": BANK}})
    assert response.status_code == 200, response.text
    assert response.json()["zones"] == {"road": ROAD, "bank": BANK}
    text = site.read_text()
    assert changed_lines(SITE, text) == [
        "-         old_bank: {coordinates: [[0, 300], [50, 300], [50, 350]], kinds: [no_fishing]}",
        "+         bank: {coordinates: [[0, 400], [1280, 400], [1280, 720], [0, 720]], "
        "kinds: [no_fishing]}",
    ]
    analysis = load_config(site).cameras["pier"].analysis
    assert analysis is not None
    assert list(analysis.zones) == ["road", "bank"]
    assert analysis.zones["bank"].coordinates == [(0, 400), (1280, 400), (1280, 720), (0, 720)]
    assert analysis.zones["bank"].kinds == [ZoneKind.NO_FISHING]
    assert analysis.zones["road"].inertia == 3  # an edited zone keeps its other settings
    assert not analysis.rules.loitering.enabled


def test_moving_a_corner_keeps_the_zone_in_place(site: Path) -> None:
    moved = {**ROAD, "coordinates": [[0, 0], [120, 0], [120, 90]], "kinds": ["ignore"]}
    old_bank = editor(site).get("/api/zones").json()["zones"]["old_bank"]
    editor(site).put("/api/zones", json={"zones": {"road": moved, "old_bank": old_bank}})
    assert changed_lines(SITE, site.read_text()) == [
        "-           coordinates: [[0, 0], [100, 0], [100, 100]]  # the footpath",
        "+           coordinates: [[0, 0], [120, 0], [120, 90]]   # the footpath",
    ]  # the comment keeps its column


def test_a_camera_without_analysis_gets_one_at_the_frames_size(site: Path) -> None:
    response = editor(site, "quay", (640, 360)).put(
        "/api/zones", json={"zones": {"bank": {"coordinates": [[0, 200], [640, 200], [640, 360]],
                                               "kinds": ["no_fishing", "water"]}}})
    assert response.status_code == 200, response.text
    analysis = load_config(site).cameras["quay"].analysis
    assert analysis is not None and analysis.frame_size == (640, 360)
    assert analysis.zones["bank"].kinds == [ZoneKind.NO_FISHING, ZoneKind.WATER]
    assert '      url: "rtsp://10.0.0.9/stream"   # no analysis yet' in site.read_text()


def test_names_yaml_would_misread_are_quoted(site: Path) -> None:
    names = ["off", "yes", "1e3", "null", "bank: north", "#1"]
    response = editor(site).put("/api/zones", json={"zones": dict.fromkeys(names, BANK)})
    assert response.status_code == 200, response.text
    analysis = load_config(site).cameras["pier"].analysis
    assert analysis is not None and list(analysis.zones) == names
    assert '        "off": {coordinates:' in site.read_text()


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ({"coordinates": [[0, 0], [10, 10]], "kinds": ["water"]},
         "cameras.pier.analysis.zones.bad.coordinates: List should have at least 3 items"),
        ({"coordinates": [[0, 0], [1300, 0], [1280, 720]], "kinds": ["water"]},
         "zone 'bad': corner [1300, 0] is outside the 1280x720 frame"),
        ({"coordinates": [[0, 0], [100, 100], [100, 0], [0, 100]], "kinds": ["water"]},
         "polygon edges cross each other"),
        ({"coordinates": [[0, 0], [100, 0], [100, 100]], "kinds": ["ignore", "water"]},
         "an ignore zone cannot also be another kind"),
        ({"coordinates": [[0, 0], [100, 0], [100, 100]], "kinds": ["lake"]},
         "cameras.pier.analysis.zones.bad.kinds.0: Input should be 'no_fishing'"),
        ({"coordinates": [[0, 0], [100, 0], [100, 100]], "kinds": []},
         "cameras.pier.analysis.zones.bad.kinds: List should have at least 1 item"),
    ],
)
def test_a_bad_zone_is_refused_and_the_file_is_untouched(
    site: Path, zone: dict[str, object], expected: str
) -> None:
    response = editor(site).put("/api/zones", json={"zones": {"road": ROAD, "bad": zone}})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith("not saved, the file is unchanged:\n") and expected in detail
    assert str(site.parent) not in detail  # no temporary file names or misleading line numbers
    assert site.read_text() == SITE
    assert sorted(p.name for p in site.parent.iterdir()) == ["site.yaml"]


def test_a_malformed_request_is_a_readable_error(site: Path) -> None:
    response = editor(site).put(
        "/api/zones", json={"zones": {"bank": {"coordinates": [["a", 1]], "kinds": ["water"]}}})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("malformed request: zones.bank.coordinates.0.0:")
    assert site.read_text() == SITE


def test_a_frame_is_grabbed_from_the_cameras_own_source() -> None:
    frame = grab_frame(CameraSourceConfig(path=VIDEO), "pier")
    assert frame.shape == (720, 1280, 3) and frame.dtype == np.uint8 and frame.std() > 5


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--camera", "bridge"], "no camera 'bridge' (it has: pier, quay)"),
        ([], "choose a camera with --camera (it has: pier, quay)"),
        (["--camera", "pier", "--frame", "{dir}/notes.txt"], "notes.txt: not an image"),
    ],
)
def test_draw_command_mistakes(site: Path, args: list[str], expected: str) -> None:
    (site.parent / "notes.txt").write_text("not an image")
    args = [a.format(dir=site.parent) for a in args]
    result = CliRunner().invoke(cli, ["zones", "draw", "--config", str(site), *args])
    assert result.exit_code == 2 and expected in result.output


# --- in a real browser -------------------------------------------------------------------------
@pytest.fixture
def page() -> Iterator[Page]:
    """A Chromium page through Playwright's sync API (Debian's chromium, never a download)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing; CI must run the browser tests")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install --no-install-recommends chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield browser.new_page(viewport={"width": 1200, "height": 800})
        browser.close()


@pytest.fixture
def served(site: Path) -> Iterator[str]:
    """The editor for the pier camera, with a real frame of its video, on a loopback port."""
    import uvicorn

    frame = grab_frame(CameraSourceConfig(path=VIDEO), "pier")
    app = create_app(ZoneFile(site, "pier", (1280, 720)), cv2.imencode(".jpg", frame)[1].tobytes())
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the editor did not start"
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(5)


@pytest.mark.browser
def test_a_zone_clicked_on_the_canvas_is_saved(page: Page, served: str, site: Path) -> None:
    page.goto(served)
    page.wait_for_selector("#zones li[data-zone=road]")
    canvas = page.locator("canvas")
    box = canvas.bounding_box()
    assert box is not None
    clicks = [(0.1, 0.6), (0.9, 0.6), (0.9, 0.95), (0.1, 0.95)]
    page.fill("#zone-name", "north_bank")
    page.check("input[name=kind][value=no_fishing]")
    for fx, fy in clicks:
        canvas.click(position={"x": fx * box["width"], "y": fy * box["height"]})
    page.click("#undo")  # take the last corner back and click it again
    canvas.click(position={"x": 0.1 * box["width"], "y": 0.95 * box["height"]})
    page.click("#close")
    page.click("#zones li[data-zone=old_bank] button")  # delete it
    page.click("#save")
    page.wait_for_selector("#status.saved")
    assert "saved 2 zone(s)" in page.inner_text("#status")

    analysis = load_config(site).cameras["pier"].analysis
    assert analysis is not None
    zones = analysis.zones
    assert list(zones) == ["road", "north_bank"]
    expected = [(round(fx * 1280), round(fy * 720)) for fx, fy in clicks]
    for (x, y), (ex, ey) in zip(zones["north_bank"].coordinates, expected, strict=True):
        assert abs(x - ex) <= 2 and abs(y - ey) <= 2  # a click lands on a whole CSS pixel
    assert zones["north_bank"].kinds == [ZoneKind.NO_FISHING]
    assert "# too many walkers here" in site.read_text()

    # A zone with too few corners never leaves the page; one off the frame is refused on save.
    page.fill("#zone-name", "sliver")
    page.check("input[name=kind][value=water]")
    canvas.click(position={"x": 10, "y": 10})
    page.click("#close")
    assert page.inner_text("#status") == "a zone needs at least 3 corners"
    page.keyboard.press("Escape")
    before = site.read_text()
    page.evaluate("zones.outside = {coordinates: [[0, 0], [2000, 0], [0, 50]], kinds: ['water']}")
    page.click("#save")
    page.wait_for_selector("#status.error")
    assert "corner [2000, 0] is outside the 1280x720 frame" in page.inner_text("#status")
    assert site.read_text() == before
