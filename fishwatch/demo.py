"""``fishwatch demo``: the whole system on one machine, with the sample videos as cameras.

The demo writes an ordinary config file into its folder (a newcomer can read it, change it and
run the parts by hand), starts the centre on SQLite, creates one user per role and an edge box
with a device token, and runs an edge agent whose cameras play the sample videos. Everything
it makes stays in the demo folder; running it again reuses the folder (orders accumulate).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
import uvicorn

from api.app import create_app
from api.centre import Centre
from api.sessions import set_password
from dispatch.access import Actor
from dispatch.crypto import generate_key
from dispatch.devices import issue_token
from dispatch.models import Department, Event, Order, User
from dispatch.registry import create_user, register_camera
from dispatch.schemas import Role
from fishwatch.config import FishwatchConfig, load_config
from fishwatch.edge import FrameDetector, run_site
from fishwatch.serve import background_work

SAMPLE_VIDEOS = Path(__file__).resolve().parent.parent / "sample_videos"
DEVICE = "demo-box"
SETUP_ACTOR = Actor.system("demo-setup")


@dataclass(frozen=True)
class DemoCamera:
    """A sample video as a checkpoint camera on the Yangtze at Wuhan."""

    name: str
    place: str
    area: str
    grid: str
    lat: float
    lon: float


CAMERAS = (
    DemoCamera("angler_arrives", "青山江滩 1 号点", "qingshan", "QS-1", 30.6418, 114.3930),
    DemoCamera("net_cast", "青山江滩 2 号点", "qingshan", "QS-2", 30.6335, 114.3794),
    DemoCamera("boat_intrusion", "天兴洲南汊", "qingshan", "QS-3", 30.6570, 114.4120),
    DemoCamera("passers_by", "汉口江滩 三阳路", "jiang-an", "JA-1", 30.6010, 114.3090),
    DemoCamera("night_angler", "汉阳江滩 南岸嘴", "hanyang", "HY-1", 30.5605, 114.2790),
    DemoCamera("camera_fault", "武昌江滩 中华路", "wuchang", "WC-1", 30.5560, 114.2960),
    DemoCamera("loiterer", "白沙洲江段", "hongshan", "HS-1", 30.4990, 114.2880),
)

#: (user name, role, department): one login per role, printed with its password.
USERS = (
    ("admin", Role.ADMIN, None),
    ("dispatcher", Role.DISPATCHER, None),
    ("fishery", Role.DEPARTMENT_STAFF, "fishery-north"),
    ("fishery2", Role.DEPARTMENT_STAFF, "fishery-south"),
    ("police", Role.DEPARTMENT_STAFF, "river-police"),
    ("it", Role.DEPARTMENT_STAFF, "it"),
    ("analyst", Role.ANALYST, None),
    ("commission", Role.COMMISSION, None),
    ("auditor", Role.AUDITOR, None),
)

#: The demo district's departments and where alerts go (the deployment test uses it too).
DEPARTMENTS_AND_ROUTING = """\
  departments:
    - {code: centre, name: 指挥中心}
    - {code: bureau, name: 农业农村局}
    - {code: fishery-north, name: 渔政执法大队北中队, supervisor: bureau}
    - {code: fishery-south, name: 渔政执法大队南中队, supervisor: bureau}
    - {code: river-police, name: 长江航运公安}
    - {code: it, name: 信息运维}
  routing:
    rules:
      - {types: [camera_fault], department: it}
      - {types: [boat_intrusion], department: river-police}
      - {areas: [qingshan, jiang-an], department: fishery-north}
      - {areas: [hanyang, wuchang, hongshan], department: fishery-south}
    fallback: centre
"""

CONFIG_TEMPLATE = """\
# fishwatch demo: written by `fishwatch demo`; an ordinary config you can read and change.
# The centre and one edge box run on this machine; the cameras play the sample videos.

model:
  path: {model}

edge:
  status_interval_s: 10

evidence:
  folder: edge/evidence        # the box's evidence, relative to this file

uplink:
  centre_url: http://127.0.0.1:{port}
  device_id: {device}
  token_file: edge/device.token
  outbox_path: edge/outbox.db
  heartbeat_interval_s: 15

cameras:
{cameras}
dispatch:
  database_url: sqlite:///{db}
  personal_data_key: {key}
{departments_and_routing}
centre:
  host: 127.0.0.1
  port: {port}
  evidence: {{folder: centre/evidence}}
  sweep_interval_s: 15
"""

#: Two frames a second: the sample clips' events are short, keyframes alone (one per 2 s) would
#: see too little of a cast net in the air. Faults count after 4 s, as the clips' blackout and
#: freeze last 8 s (live cameras keep the defaults, 10-30 s, against flapping).
CAMERA_TEMPLATE = """\
  {name}:
    source:
      path: {path}
      pace: {pace}
      sample: {{mode: fps, fps: 2}}
      faults: {{black_s: 4, freeze_s: 4, covered_s: 4}}
"""


def write_config(folder: Path, *, port: int, pace: str, model: Path) -> Path:
    """The demo's config file; the personal-data key is made once and kept."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "centre").mkdir(exist_ok=True)
    (folder / "edge").mkdir(exist_ok=True)
    key_file = folder / "centre" / "personal_data.key"
    if not key_file.exists():
        key_file.write_text(generate_key())
        key_file.chmod(0o600)
    cameras = "".join(CAMERA_TEMPLATE.format(name=camera.name, pace=pace,
                                             path=SAMPLE_VIDEOS / f"{camera.name}.mp4")
                      for camera in CAMERAS)
    path = folder / "fishwatch.yaml"
    path.write_text(CONFIG_TEMPLATE.format(
        model=model, port=port, device=DEVICE, cameras=cameras,
        departments_and_routing=DEPARTMENTS_AND_ROUTING,
        db=(folder / "centre" / "centre.db").resolve(), key=key_file.read_text().strip()),
        encoding="utf-8")
    return path


def seed(centre: Centre, config: FishwatchConfig, token_file: Path) -> dict[str, str]:
    """Users (fresh passwords each run), the cameras' places, and a new device token."""
    passwords: dict[str, str] = {}
    now = centre.clock()
    with centre.db.transaction() as session:
        known = set(session.scalars(sa.select(User.username)))
        for username, role, department in USERS:
            if username not in known:
                create_user(session, actor=SETUP_ACTOR, at=now, username=username,
                            display_name=username, role=role, department=department)
            passwords[username] = f"{username}-{secrets.token_hex(4)}"
            set_password(session, actor=SETUP_ACTOR, at=now, username=username,
                         password=passwords[username])
        for camera in CAMERAS:
            register_camera(session, actor=SETUP_ACTOR, at=now, device=DEVICE,
                            camera=camera.name, place=camera.place, area=camera.area,
                            grid=camera.grid, lat=camera.lat, lon=camera.lon)
        token = issue_token(session, actor=SETUP_ACTOR, at=now, device=DEVICE,
                            label="demo").token
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token_file.write_text(token)
    token_file.chmod(0o600)
    return passwords


class CentreThread:
    """The centre's uvicorn server in a thread of this process."""

    def __init__(self, app: object, host: str, port: int) -> None:
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port,
                                                   log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, name="centre", daemon=True)

    def start(self, timeout_s: float = 30.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the centre did not start (is the port in use?)")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10.0)


@dataclass(frozen=True)
class Summary:
    """What reached the centre: events by type, orders by department."""

    events: Counter[str]
    orders: Counter[str]

    def table(self) -> str:
        lines = ["events by type", *(f"  {k:<16} {v:>4}" for k, v in sorted(self.events.items())),
                 f"  {'total':<16} {sum(self.events.values()):>4}", "orders by department",
                 *(f"  {k:<16} {v:>4}" for k, v in sorted(self.orders.items())),
                 f"  {'total':<16} {sum(self.orders.values()):>4}"]
        return "\n".join(lines)


def summarise(centre: Centre) -> Summary:
    with centre.db.transaction() as session:
        events = Counter({str(t): n for t, n in session.execute(
            sa.select(Event.type, sa.func.count()).group_by(Event.type))})
        orders = Counter({code: n for code, n in session.execute(
            sa.select(Department.code, sa.func.count())
            .join(Order, Order.department_id == Department.id).group_by(Department.code))})
    return Summary(events, orders)


def progress_line(centre: Centre) -> str:
    summary = summarise(centre)
    return (f"centre: {sum(summary.events.values())} events, "
            f"{sum(summary.orders.values())} orders "
            f"({', '.join(f'{k} {v}' for k, v in sorted(summary.orders.items())) or 'none yet'})")


def print_logins(echo: Callable[[str], None], url: str, passwords: dict[str, str]) -> None:
    echo(f"\nfishwatch centre: {url}/  (API docs: {url}/docs)")
    for username, role, department in USERS:
        where = f" ({department})" if department else ""
        echo(f"  {username:<11} {passwords[username]:<21} {role.value}{where}")
    echo("")


def run_demo(folder: Path, *, port: int, once: bool, model: Path,
             detector_for: Callable[[FishwatchConfig], FrameDetector],
             stop: threading.Event, echo: Callable[[str], None]) -> Summary:
    """Run centre and edge until ``stop`` (or, ``once``, until every video is processed and
    delivered); returns what reached the centre."""
    config_path = write_config(folder, port=port, pace="fast" if once else "realtime",
                               model=model)
    config = load_config(config_path)
    echo(f"config: {config_path}")
    centre = Centre.open(config.centre, config.dispatch)
    assert config.uplink is not None and config.uplink.token_file is not None
    passwords = seed(centre, config, config.uplink.token_file)
    server = CentreThread(create_app(centre, lifespan=background_work(centre, config)),
                          config.centre.host, port)
    server.start()
    url = f"http://{config.centre.host}:{port}"
    print_logins(echo, url, passwords)
    edge_done = threading.Event()

    def progress() -> None:
        while not stop.wait(10.0) and not edge_done.is_set():
            echo(progress_line(centre))

    threading.Thread(target=progress, name="demo-progress", daemon=True).start()
    try:
        results = run_site(config, detector_for(config), stop, report=echo, sink=lambda _m: None,
                           drain_s=120.0 if once else 30.0)
        edge_done.set()
        for result in results:
            if result.error is not None:
                echo(f"camera {result.name}: {result.error}")
        echo(progress_line(centre))
        if not once and not stop.is_set():
            echo(f"all sample videos played; the pages stay open at {url}/ — Ctrl-C stops")
            stop.wait()
        return summarise(centre)
    finally:
        edge_done.set()
        server.stop()
        centre.db.dispose()
