"""A live centre for the browser tests: uvicorn in a thread on a free loopback port over a
seeded SQLite district, and Debian's Chromium driven by Playwright's sync API.

The server and the browser start once per session (a few seconds); each test opens its own
browser context, so cookies never leak between stories. Without Chromium the browser tests
skip and say why, except under CI=true, where they fail: CI must not pass without a browser.
Screenshots go to ``$FISHWATCH_ARTEFACTS`` or ``test-artefacts/screenshots/``.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from api.app import create_app
from api.centre import Centre
from api.sessions import set_password
from api.settings import CentreConfig
from dispatch.access import Actor
from dispatch.db import Database
from dispatch.registry import register_camera

from ...conftest import Cast, ManualClock, district_config, seed
from ..conftest import PASSWORD

CHROMIUM = Path("/usr/lib/chromium/chromium")
ARTEFACTS_ENV = "FISHWATCH_ARTEFACTS"
#: The phone the department staff carry: an iPhone 13-sized screen, touch.
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
#: The seeded cameras, placed along a stretch of river for the overview's map.
CHECKPOINTS = [("cam-n1", "north", "N1", "北岸码头", 30.612, 114.281),
               ("cam-s1", "south", "S1", "南岸湿地", 30.571, 114.335),
               ("cam-s9", "south", "S9", "江心洲", 30.548, 114.402)]


@dataclass
class Site:
    """The running centre: its URL, its services, the people, its clock."""

    url: str
    centre: Centre
    cast: Cast
    clock: ManualClock


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        reason = (f"{CHROMIUM} is missing: apt-get install -y --no-install-recommends chromium "
                  "to run the browser tests")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory, chromium: Path) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("site")
    db = Database(f"sqlite:///{folder / 'centre.db'}")
    db.upgrade()
    config, clock = district_config(), ManualClock()
    cast = seed(db, config, clock)
    centre = Centre.open(CentreConfig.model_validate({"evidence": {"folder": str(folder / "ev")}}),
                         config, clock=clock, db=db)
    with db.transaction() as session:
        for camera, area, grid, place, lat, lon in CHECKPOINTS:  # spread along the river
            register_camera(session, actor=Actor.system("test-setup"), at=clock(), device="box-1",
                            camera=camera, place=place, area=area, grid=grid, lat=lat, lon=lon)
        for actor in vars(cast).values():
            set_password(session, actor=Actor.system("test-setup"), at=clock(),
                         username=actor.name, password=PASSWORD)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(centre), host="127.0.0.1", port=port,
                                           log_level="warning", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the centre did not start within 15 s")
        time.sleep(0.05)
    yield Site(f"http://127.0.0.1:{port}", centre, cast, clock)
    server.should_exit = True
    thread.join(timeout=10)
    db.dispose()


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[object]:
    """Module-scoped: while Playwright's sync API is open, its event loop counts as running in
    this thread, and later tests that start their own loop (asyncio.run) would fail."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium))
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def artefacts() -> Path:
    folder = Path(os.environ.get(ARTEFACTS_ENV) or "test-artefacts/screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def open_page(browser: object, site: Site) -> Iterator[Callable[..., object]]:
    """``open_page("north", phone=True)``: a signed-in page in a fresh browser context
    (``script=False``: with JavaScript turned off)."""
    contexts = []

    def make(username: str | None, *, phone: bool = False, locale: str = "zh-CN",
             script: bool = True) -> object:
        context = browser.new_context(base_url=site.url, locale=locale,  # type: ignore[attr-defined]
                                      java_script_enabled=script,
                                      **(PHONE if phone else DESKTOP))
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        if username is not None:
            page.goto("/login")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", PASSWORD)
            page.click("button.primary")
            page.wait_for_load_state()
            assert "/login" not in page.url, f"{username} could not sign in"
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def shoot(artefacts: Path) -> Callable[[object, str], Path]:
    """Save a full-page screenshot of ``page`` as ``<name>.png`` among the artefacts."""
    def save(page: object, name: str) -> Path:
        path = artefacts / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
        return path

    return save
