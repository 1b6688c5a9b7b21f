"""A centre app per test over the shared fixtures' database, users with passwords, clients."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.app import create_app
from api.centre import Centre
from api.passwords import hash_password
from api.sessions import CSRF_HEADER
from api.settings import CentreConfig
from dispatch.db import Database
from dispatch.models import User
from dispatch.settings import DispatchConfig

from ..conftest import Cast, ManualClock

#: Every seeded user's password in these tests.
PASSWORD = "correct horse battery"


@pytest.fixture
def centre_config(tmp_path: Path) -> CentreConfig:
    return CentreConfig.model_validate({"evidence": {"folder": str(tmp_path / "evidence")}})


@pytest.fixture
def centre(db: Database, config: DispatchConfig, clock: ManualClock, cast: Cast,
           centre_config: CentreConfig) -> Centre:
    """A centre over the seeded district; every user's password is :data:`PASSWORD`."""
    opened = Centre.open(centre_config, config, clock=clock, db=db)
    with db.transaction() as session:
        # One Argon2 hash per test session, not eight per test (each costs ~0.1-0.5 s); the
        # hashing itself is tested through the users API (test_users_api.py).
        session.execute(sa.update(User).values(password_hash=password_hash()))
    return opened


@functools.cache
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def app_client(centre: Centre) -> Iterator[TestClient]:
    with TestClient(create_app(centre)) as client:
        yield client


def login(client: TestClient, username: str, password: str = PASSWORD) -> TestClient:
    """Sign ``client`` in and make it send the CSRF header from then on."""
    response = client.post("/api/v1/auth/login",
                           json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    client.headers[CSRF_HEADER] = response.json()["csrf_token"]
    return client


@pytest.fixture
def as_user(centre: Centre) -> Iterator[object]:
    """``as_user("north")``: a fresh signed-in client for that user."""
    clients: list[TestClient] = []

    def make(username: str) -> TestClient:
        client = TestClient(create_app(centre))
        clients.append(client)
        return login(client, username)

    yield make
    for client in clients:
        client.close()
