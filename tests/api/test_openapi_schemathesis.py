"""Schemathesis over the centre's whole OpenAPI schema: every operation, with generated valid and
invalid input, signed in as an administrator with the CSRF header, must never answer 5xx.

One centre for the module (on SQLite, to stay within a couple of minutes): the district of the
shared fixtures, a few orders, and an admin session. An operation that ends the session (log
out, a password set) makes the next call sign in again; every listing the admin may read must
answer 2xx at least once, which shows the calls really were signed in. Examples per operation
are few and derandomised, so the run is bounded and repeatable.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode

from api.app import create_app
from api.centre import Centre
from api.sessions import COOKIE_NAME, CSRF_HEADER, set_password
from api.settings import CentreConfig
from dispatch.access import Actor
from dispatch.db import Database

from ..conftest import ManualClock, district_config, make_event, seed
from .conftest import PASSWORD

#: Generated requests per operation (valid and invalid ones together).
EXAMPLES = 12


@dataclass
class AdminSession:
    """The admin's cookie and CSRF token; renewed when an operation ended the session."""

    client: TestClient
    cookie: str = ""
    csrf: str = ""

    def renew(self) -> None:
        response = self.client.post("/api/v1/auth/login",
                                    json={"username": "admin", "password": PASSWORD})
        assert response.status_code == 200, response.text
        self.cookie, self.csrf = response.cookies[COOKIE_NAME], response.json()["csrf_token"]


@pytest.fixture(scope="module")
def fuzzed_centre(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Centre:
    folder = tmp_path_factory.mktemp("schemathesis")
    shutil.copy(sqlite_template, folder / "dispatch.db")
    db = Database(f"sqlite:///{folder / 'dispatch.db'}")
    config, clock = district_config(), ManualClock()
    seed(db, config, clock)
    centre = Centre.open(CentreConfig.model_validate({"evidence": {
        "folder": str(folder / "evidence")}}), config, clock=clock, db=db)
    with db.transaction() as session:
        set_password(session, actor=Actor.system("test-setup"), at=clock(), username="admin",
                     password=PASSWORD)
        for camera, kind in [("cam-n1", "angling"), ("cam-s1", "net_fishing"),
                             ("cam-s9", "boat_intrusion")]:
            centre.orders.ingest(session=session, event=make_event(clock, camera=camera,
                                                                   type=kind, zone="jetty"))
    yield centre
    db.dispose()


@pytest.fixture(scope="module")
def admin(fuzzed_centre: Centre) -> AdminSession:
    with TestClient(create_app(fuzzed_centre)) as client:
        session = AdminSession(client)
        session.renew()
        yield session


def test_no_operation_answers_with_a_server_error(fuzzed_centre: Centre,
                                                  admin: AdminSession) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(fuzzed_centre))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40, [op.label for op in operations]
    failures: list[str] = []
    answered: set[str] = set()
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(mode))
            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            def call(case: schemathesis.Case) -> None:
                response = case.call_and_validate(headers={CSRF_HEADER: admin.csrf},
                                                  cookies={COOKIE_NAME: admin.cookie},
                                                  checks=[not_a_server_error])
                if response.status_code < 300:
                    answered.add(case.operation.label)
                if response.status_code == 401 or case.operation.path == "/api/v1/auth/logout":
                    admin.renew()

            try:
                call()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing in it to get wrong
            except Exception as exc:  # every operation is tried; all failures are reported
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert failures == [], "\n\n".join(failures)
    # Signed in for real: every listing (a GET without path parameters) answered 2xx, but
    # the commission's, which refuses administrators.
    listings = {op.label for op in operations if op.method == "get" and "{" not in op.path}
    assert listings - answered == {"GET /api/v1/commission/cases"}
