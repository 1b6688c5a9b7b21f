"""Edge boxes at the centre: tokens (hashed, revocable, audited), heartbeats, fleet status,
cameras registered on first use."""

from __future__ import annotations

import hashlib
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from dispatch.access import Actor
from dispatch.cli import app
from dispatch.db import Database
from dispatch.devices import (
    DeviceIdentity,
    HeartbeatIn,
    add_device,
    authenticate,
    ensure_camera,
    fleet,
    issue_token,
    list_tokens,
    record_heartbeat,
    revoke_tokens,
)
from dispatch.errors import InvalidRequest, NotFound, PermissionDenied
from dispatch.models import AuditRecord, Camera, DeviceToken

from ..conftest import Cast, ManualClock

OFFLINE_AFTER = timedelta(minutes=3)


def heartbeat(clock: ManualClock, *states: str, device: str = "box-1") -> HeartbeatIn:
    return HeartbeatIn.model_validate({
        "device_id": device, "sent_at": (clock() + timedelta(seconds=2)).isoformat(),
        "software_version": "0.1.0", "model": {"name": "fishwatch-yolo11n", "version": "1.0"},
        "cameras": [{"name": f"cam-{i}", "state": state, "fps": 25.0, "last_frame_at": None,
                     "future_field": "ignored"} for i, state in enumerate(states)],
        "uptime_s": 12})


def test_a_token_is_shown_once_stored_hashed_and_authenticates_its_box(
        db: Database, cast: Cast, clock: ManualClock) -> None:
    with db.transaction() as session:
        device_id, created = add_device(session, actor=cast.admin, at=clock(), code="box-7")
        assert created and add_device(session, actor=cast.admin, at=clock(),
                                      code="box-7") == (device_id, False)
        issued = issue_token(session, actor=cast.admin, at=clock(), device="box-7",
                             label="installed 2026-05")
    assert len(issued.token) >= 43  # 32 random bytes, url-safe base64
    with db.transaction() as session:
        stored = session.scalars(sa.select(DeviceToken)).one()
        assert stored.token_hash == hashlib.sha256(issued.token.encode()).hexdigest()
        assert issued.token not in str(session.scalars(sa.select(AuditRecord.data)).all())
        who = authenticate(session, issued.token, at=clock())
        assert who == DeviceIdentity(device_id=device_id, code="box-7", token_id=issued.id)
        assert authenticate(session, issued.token[:-1] + "x", at=clock()) is None
        assert authenticate(session, "", at=clock()) is None
        actions = session.scalars(sa.select(AuditRecord.action)
                                  .order_by(AuditRecord.seq.desc()).limit(2)).all()
    assert actions == ["device.token_issued", "device.registered"]


def test_last_used_is_written_at_most_once_a_minute(db: Database, cast: Cast,
                                                     clock: ManualClock) -> None:
    with db.transaction() as session:
        token = issue_token(session, actor=cast.admin, at=clock(), device="box-1").token
    first = clock()
    for seconds in (0, 30, 59):
        clock.now = first + timedelta(seconds=seconds)
        with db.transaction() as session:
            authenticate(session, token, at=clock())
    with db.transaction() as session:
        assert session.scalars(sa.select(DeviceToken.last_used_at)).one() == first
    clock.now = first + timedelta(seconds=61)
    with db.transaction() as session:
        authenticate(session, token, at=clock())
        assert session.scalars(sa.select(DeviceToken.last_used_at)).one() == clock()


def test_revoking_one_token_or_all(db: Database, cast: Cast, clock: ManualClock) -> None:
    with db.transaction() as session:
        old = issue_token(session, actor=cast.admin, at=clock(), device="box-1")
        new = issue_token(session, actor=cast.admin, at=clock(), device="box-1")
        assert revoke_tokens(session, actor=cast.admin, at=clock(), device="box-1",
                             token_id=old.id) == [old.id]
        assert revoke_tokens(session, actor=cast.admin, at=clock(), device="box-1",
                             token_id=old.id) == []  # already revoked: nothing to do
        assert authenticate(session, old.token, at=clock()) is None
        assert authenticate(session, new.token, at=clock()) is not None
        assert revoke_tokens(session, actor=cast.admin, at=clock(), device="box-1") == [new.id]
        assert authenticate(session, new.token, at=clock()) is None
        views = list_tokens(session, actor=cast.admin, device="box-1")
        assert [v.revoked_at for v in views] == [clock(), clock()]
        with pytest.raises(NotFound, match="has no token"):
            revoke_tokens(session, actor=cast.admin, at=clock(), device="box-1",
                          token_id=uuid.UUID(int=5))
    with db.transaction() as session:  # audit records are written at commit
        revoked = session.scalars(sa.select(AuditRecord.data)
                                  .where(AuditRecord.action == "device.token_revoked")).all()
    assert len(revoked) == 2 and str(old.id) in revoked[0] and str(new.id) in revoked[1]


@pytest.mark.parametrize(("who", "call", "exception"), [
    ("dispatcher", "issue", PermissionDenied),
    ("north", "issue", PermissionDenied),
    ("auditor", "revoke", PermissionDenied),
    ("analyst", "fleet", PermissionDenied),
    ("north", "fleet", PermissionDenied),
    ("admin", "unknown box", NotFound),
    ("admin", "bad code", InvalidRequest),
])
def test_who_may_manage_and_see_boxes(db: Database, cast: Cast, clock: ManualClock, who: str,
                                      call: str, exception: type[Exception]) -> None:
    actor: Actor = getattr(cast, who)
    calls = {
        "issue": lambda s: issue_token(s, actor=actor, at=clock(), device="box-1"),
        "revoke": lambda s: revoke_tokens(s, actor=actor, at=clock(), device="box-1"),
        "fleet": lambda s: fleet(s, actor=actor, now=clock(), offline_after=OFFLINE_AFTER),
        "unknown box": lambda s: issue_token(s, actor=actor, at=clock(), device="box-99"),
        "bad code": lambda s: add_device(s, actor=actor, at=clock(), code="../box"),
    }
    with db.transaction() as session, pytest.raises(exception):
        calls[call](session)


def test_fleet_status_follows_heartbeats(db: Database, cast: Cast, clock: ManualClock) -> None:
    with db.transaction() as session:
        add_device(session, actor=cast.admin, at=clock(), code="box-2")
        token = issue_token(session, actor=cast.admin, at=clock(), device="box-1").token
    with db.transaction() as session:
        box = authenticate(session, token, at=clock())
        assert box is not None
        record_heartbeat(session, device=box, heartbeat=heartbeat(clock, "online", "offline"),
                         at=clock())
    clock.advance(seconds=60)
    with db.transaction() as session:  # the second heartbeat replaces the first
        record_heartbeat(session, device=box,
                         heartbeat=heartbeat(clock, "online", "online", "reconnecting"),
                         at=clock())
    with db.transaction() as session:
        one, two = fleet(session, actor=cast.dispatcher, now=clock(),
                         offline_after=OFFLINE_AFTER)
    assert (one.code, one.online, one.cameras_online, one.cameras_total) == ("box-1", True, 2, 3)
    assert (one.software_version, one.model_name, one.model_version) == (
        "0.1.0", "fishwatch-yolo11n", "1.0")
    assert one.last_heartbeat_at == one.last_seen_at == clock()
    assert one.clock_offset_s == 2.0 and one.active_tokens == 1
    assert [c.state for c in one.cameras] == ["online", "online", "reconnecting"]
    assert (two.code, two.online, two.last_seen_at, two.cameras_total) == ("box-2", False,
                                                                           None, 0)

    clock.advance(minutes=3, seconds=1)
    with db.transaction() as session:
        one, _ = fleet(session, actor=cast.auditor, now=clock(), offline_after=OFFLINE_AFTER)
    assert (one.online, one.cameras_online, one.cameras_total) == (False, 0, 3)

    with db.transaction() as session:  # an event upload counts as a sign of life too
        authenticate(session, token, at=clock())
    with db.transaction() as session:
        one, _ = fleet(session, actor=cast.admin, now=clock(), offline_after=OFFLINE_AFTER)
    assert one.online and one.last_seen_at == clock() and one.last_heartbeat_at < clock()


def test_a_new_camera_is_registered_once_for_its_box(db: Database, cast: Cast,
                                                      clock: ManualClock) -> None:
    with db.transaction() as session:
        token = issue_token(session, actor=cast.admin, at=clock(), device="box-1").token
        box = authenticate(session, token, at=clock())
        assert box is not None
        ensure_camera(session, device=box, camera="pier-9", at=clock())
        ensure_camera(session, device=box, camera="pier-9", at=clock())
        ensure_camera(session, device=box, camera="cam-n1", at=clock())  # known: untouched
    with db.transaction() as session:
        rows = session.execute(sa.select(Camera.name, Camera.area).order_by(Camera.name)).all()
        registered = session.scalars(sa.select(AuditRecord.data)
                                     .where(AuditRecord.action == "camera.registered",
                                            AuditRecord.actor == "system:edge/box-1")).all()
    assert rows == [("cam-n1", "north"), ("cam-s1", "south"), ("cam-s9", "south"),
                    ("pier-9", "")]
    assert len(registered) == 1 and '"automatic":true' in registered[0]


def test_two_requests_registering_one_camera_at_once_make_one(pg_db: Database,
                                                              clock: ManualClock) -> None:
    """PostgreSQL, two connections: the second insert waits for the first and does nothing."""
    from ..conftest import district_config, seed

    cast = seed(pg_db, district_config(), clock)
    with pg_db.transaction() as session:
        token = issue_token(session, actor=cast.admin, at=clock(), device="box-1").token
        box = authenticate(session, token, at=clock())
    assert box is not None
    first = pg_db.sessions()
    first.begin()
    ensure_camera(first, device=box, camera="pier-9", at=clock())  # holds the row's key
    done = threading.Event()

    def second() -> None:
        with pg_db.transaction() as session:
            ensure_camera(session, device=box, camera="pier-9", at=clock())
        done.set()

    thread = threading.Thread(target=second)
    thread.start()
    assert not done.wait(0.5)  # waiting on the first one's uncommitted row
    first.commit()
    first.close()
    thread.join(10)
    assert done.is_set()
    with pg_db.transaction() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Camera)
                              .where(Camera.name == "pier-9")) == 1


def test_the_device_commands(tmp_path: Path) -> None:
    url = ["--database-url", f"sqlite:///{tmp_path / 'centre.db'}"]

    def run(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(app, ["device", *args, *url])
        return result.exit_code, result.stdout, result.stderr

    assert run_cli("db", "upgrade", *url)[0] == 0
    code, out, _ = run("add", "box-7")
    assert code == 0 and out.startswith("device box-7: ") and "already" not in out
    assert run("add", "box-7")[1].endswith("(already registered)\n")
    code, token, note = run("token", "box-7", "--label", "pier")
    assert code == 0 and note.startswith("token ") and "shown once" in note
    token = token.strip()
    assert len(token) >= 43 and "\n" not in token
    db = Database(url[1])
    with db.transaction() as session:
        box = authenticate(session, token, at=datetime.now(UTC))
    assert box is not None and box.code == "box-7"
    code, out, _ = run("list")
    assert code == 0 and out.startswith("box-7\tonline\tlast seen 20")  # the token was used
    assert out.rstrip().endswith("cameras 0/0 online\t1 token(s)")
    code, out, _ = run("revoke", "box-7")
    assert code == 0 and out.startswith("revoked 1 token(s) of box-7") and str(box.token_id) in out
    with db.transaction() as session:
        assert authenticate(session, token, at=datetime.now(UTC)) is None
    db.dispose()
    code, _, err = run("token", "box-8")
    assert code == 2 and err.startswith("error: no device 'box-8'")


def run_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output
