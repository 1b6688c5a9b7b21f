"""Shared fixtures of the dispatch and api tests: a fresh, migrated database per test on SQLite

PostgreSQL runs when FISHWATCH_TEST_PG_URL names a server whose role may CREATEDB: the schema
is migrated once into a template database, and each test gets a copy with a random name that
is dropped afterwards. Without the variable the PostgreSQL cases skip, except under CI=true,
where they fail: CI must not pass by skipping the production database.
"""

from __future__ import annotations

import functools
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from dispatch.access import Actor, actor_for
from dispatch.crypto import generate_key
from dispatch.db import Database
from dispatch.registry import create_user, register_camera, sync_departments
from dispatch.schemas import EventIn, Role
from dispatch.settings import DispatchConfig

PG_ENV = "FISHWATCH_TEST_PG_URL"
T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


class ManualClock:
    """A clock tests move by hand: services read it, nothing sleeps."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def _admin_engine(server_url: str) -> sa.Engine:
    return sa.create_engine(server_url, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "dispatch.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    db.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[tuple[sa.URL, str]]:
    server_url = os.environ.get(PG_ENV)
    if not server_url:
        reason = (f"{PG_ENV} is not set: set it to a PostgreSQL URL whose role has CREATEDB "
                  "(see dispatch/README.md) to run the PostgreSQL cases")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    url = sa.make_url(server_url)
    name = f"fw_template_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine(server_url)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    db = Database(url.set(database=name))
    db.upgrade()
    db.dispose()
    yield url, name
    drop_database(admin, name)
    admin.dispose()


def drop_database(admin: sa.Engine, name: str, *, tries: int = 20) -> None:
    """DROP ... WITH (FORCE), retried: an autovacuum worker (the superuser's) may be in the
    database for a moment, and only members of pg_signal_backend may end it."""
    for attempt in range(tries):
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except sa.exc.DBAPIError:
            if attempt == tries - 1:
                raise
            time.sleep(0.25)


def make_database(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if kind == "sqlite":
        path = tmp_path / "dispatch.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        db = Database(f"sqlite:///{path}")
        yield db
        db.dispose()
        return
    url, template = request.getfixturevalue("pg_template")
    name = f"fw_test_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine(url.render_as_string(hide_password=False))
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    db = Database(url.set(database=name))
    yield db
    db.dispose()
    drop_database(admin, name)
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh, migrated, empty database of each kind."""
    yield from make_database(request.param, request, tmp_path)


@pytest.fixture
def pg_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """PostgreSQL only: for what SQLite cannot show (row locks between connections)."""
    yield from make_database("postgresql", request, tmp_path)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def district_config(**overrides: object) -> DispatchConfig:
    """A district with two fishery teams, river police, IT and a supervising bureau."""
    data: dict[str, object] = {
        "departments": [
            {"code": "centre", "name": "Dispatch centre"},
            {"code": "bureau", "name": "Agriculture and rural affairs bureau"},
            {"code": "fishery-north", "name": "Fishery enforcement, north", "supervisor": "bureau"},
            {"code": "fishery-south", "name": "Fishery enforcement, south", "supervisor": "bureau"},
            {"code": "river-police", "name": "River police"},
            {"code": "it", "name": "IT operations"},
        ],
        "routing": {
            "rules": [
                {"types": ["camera_fault"], "department": "it"},
                {"types": ["boat_intrusion"], "department": "river-police"},
                {"areas": ["north"], "department": "fishery-north"},
                {"areas": ["south"], "grids": ["S1", "S2"], "department": "fishery-south"},
            ],
            "fallback": "centre",
        },
        "sla": {
            "rules": [{"severities": ["high"], "sign_within_min": 10, "resolve_within_min": 60,
                       "remind_before_min": 5, "chase_every_min": 15,
                       "escalate_after_chases": 2}],
            "default": {"sign_within_min": 30, "resolve_within_min": 240,
                        "remind_before_min": 10, "chase_every_min": 30,
                        "escalate_after_chases": 2},
        },
        "commission": {"overdue_hours": 12, "returns": 2},
        "personal_data_key": generate_key(),
    }
    data.update(overrides)
    return DispatchConfig.model_validate(data)


@pytest.fixture
def config() -> DispatchConfig:
    return district_config()


@dataclass(frozen=True)
class Cast:
    """The people of a test story, as the actors the services take."""

    admin: Actor
    dispatcher: Actor
    north: Actor
    south: Actor
    bureau: Actor
    analyst: Actor
    commission: Actor
    auditor: Actor


@pytest.fixture
def cast(db: Database, config: DispatchConfig, clock: ManualClock) -> Cast:
    """Departments synced, cameras registered, one user per role."""
    return seed(db, config, clock)


def seed(db: Database, config: DispatchConfig, clock: ManualClock) -> Cast:
    system = Actor.system("test-setup")
    users = [("admin", Role.ADMIN, None), ("dispatcher", Role.DISPATCHER, None),
             ("north", Role.DEPARTMENT_STAFF, "fishery-north"),
             ("south", Role.DEPARTMENT_STAFF, "fishery-south"),
             ("bureau", Role.DEPARTMENT_STAFF, "bureau"), ("analyst", Role.ANALYST, None),
             ("commission", Role.COMMISSION, None), ("auditor", Role.AUDITOR, None)]
    with db.transaction() as session:
        sync_departments(session, config, actor=system, at=clock())
        for username, role, department in users:
            create_user(session, actor=system, at=clock(), username=username,
                        display_name=username.title(), role=role, department=department)
        for camera, area, grid in [("cam-n1", "north", "N1"), ("cam-s1", "south", "S1"),
                                   ("cam-s9", "south", "S9")]:
            register_camera(session, actor=system, at=clock(), device="box-1", camera=camera,
                            place=f"{area} bank", area=area, grid=grid, lat=30.5, lon=114.3)
    with db.transaction() as session:
        return Cast(*(actor_for(session, username) for username, _, _ in users))


@pytest.fixture
def alert(clock: ManualClock) -> Callable[..., EventIn]:
    """Make alerts as the edge sends them, starting now by the test clock."""
    return functools.partial(make_event, clock)


def make_event(clock: ManualClock, *, camera: str = "cam-n1", type: str = "angling",
               severity: str = "medium", event_id: uuid.UUID | None = None,
               **fields: object) -> EventIn:
    data: dict[str, object] = {
        "event_id": str(event_id or uuid.uuid4()), "device_id": "box-1", "camera": camera,
        "type": type, "severity": severity, "start": clock().isoformat(), "end": None,
        "confidence": 0.87, "track_ids": [4, 7], "model": {"name": "fishwatch-yolo11n",
                                                            "version": "1.0"},
        "evidence": [{"kind": "snapshot", "sha256": "ab" * 32, "size": 51234,
                      "content_type": "image/jpeg", "storage_key": "ev/2026/05/01/a.jpg"}],
        "outcome": None,
    }
    data.update(fields)
    return EventIn.model_validate(data)
