"""The audit chain: intact after real work and concurrent appends; any tampering is found."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from dispatch.audit import link_hash, list_records, record, verify
from dispatch.cli import app
from dispatch.db import Database
from dispatch.errors import PermissionDenied
from dispatch.models import AuditRecord
from dispatch.orders import OrderService
from dispatch.schemas import EventIn
from dispatch.settings import DispatchConfig

from ..conftest import Cast, ManualClock

Alert = Callable[..., EventIn]


@pytest.fixture
def worked(db: Database, cast: Cast, config: DispatchConfig, clock: ManualClock,
           alert: Alert) -> Database:
    """A database after some real work: set-up, alerts, a signed order."""
    orders = OrderService(config, clock=clock)
    with db.transaction() as session:
        order_id = orders.ingest(session=session, event=alert()).order_id
        orders.ingest(session=session, event=alert(camera="cam-s1"))
    with db.transaction() as session:
        orders.sign(session=session, actor=cast.north, order_id=order_id)
    return db


def run_cli(db: Database, *args: str) -> tuple[int, str]:
    url = db.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(app, [*args, "--database-url", url])
    return result.exit_code, result.output


def tamper(db: Database, statement: str) -> None:
    """What someone with database rights could do: switch the guard off and edit."""
    with db.transaction() as session:
        if db.is_postgresql:
            session.execute(sa.text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        else:
            session.execute(sa.text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            session.execute(sa.text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
        session.execute(sa.text(statement))


def count(db: Database) -> int:
    with db.transaction() as session:
        return session.scalar(sa.text("SELECT count(*) FROM audit_log"))


def test_the_chain_of_real_work_is_intact(worked: Database) -> None:
    with worked.transaction() as session:
        report = verify(session)
    assert report.ok and report.intact == count(worked) > 10
    assert run_cli(worked, "audit", "verify") == (0, f"audit chain intact: {report.intact} "
                                                     "records\n")


def test_a_record_edited_in_the_database_is_found(worked: Database) -> None:
    tamper(worked, "UPDATE audit_log SET data = '{\"to\":\"closed\"}' WHERE seq = 5")
    with worked.transaction() as session:
        report = verify(session)
    assert (report.ok, report.broken_seq, report.intact) == (False, 5, 4)
    code, output = run_cli(worked, "audit", "verify")
    assert code == 1
    assert output == ("audit chain broken at record 5: its contents do not match its hash "
                      "(edited after it was written) (4 records before it are intact)\n")


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(worked: Database) -> None:
    with worked.transaction() as session:
        row = session.get_one(AuditRecord, 5)
    forged = link_hash(5, row.at, "admin:mallory", row.action, row.entity_type, row.entity_id,
                       row.data, row.prev_hash)
    tamper(worked, f"UPDATE audit_log SET actor = 'admin:mallory', hash = '{forged}' "
                   "WHERE seq = 5")
    with worked.transaction() as session:
        report = verify(session)
    assert report.broken_seq == 6 and "does not match the hash of record 5" in str(report.reason)


def test_removed_records_are_found(worked: Database) -> None:
    last = count(worked)
    tamper(worked, "DELETE FROM audit_log WHERE seq = 3")
    with worked.transaction() as session:
        assert verify(session).reason == "record 3 is missing (the next one is 4)"
    tamper(worked, f"DELETE FROM audit_log WHERE seq >= 4 AND seq <> {last}")
    tamper(worked, f"DELETE FROM audit_log WHERE seq = {last}")
    with worked.transaction() as session:
        report = verify(session)
    assert report.broken_seq == 3  # the first break is still the one reported


def test_records_removed_from_the_end_are_found(worked: Database) -> None:
    last = count(worked)
    tamper(worked, f"DELETE FROM audit_log WHERE seq = {last}")
    with worked.transaction() as session:
        report = verify(session)
    assert report.broken_seq == last and "removed from the end" in str(report.reason)


def test_concurrent_appends_keep_one_chain(db: Database, clock: ManualClock) -> None:
    """Writers in separate connections take turns at the head row: no gaps, no forks."""
    engines = [Database(db.engine.url) for _ in range(3)]
    barrier = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def write(writer: Database, name: str) -> None:
        try:
            barrier.wait()
            for i in range(15):
                with writer.transaction() as session:
                    record(session, at=clock(), actor=f"system:{name}", action="test.append",
                           entity_type="test", entity_id=i, data={"i": i})
                    record(session, at=clock(), actor=f"system:{name}", action="test.append",
                           entity_type="test", entity_id=i, data={"i": i, "second": True})
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(e, f"w{n}")) for n, e in enumerate(engines)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for engine in engines:
        engine.dispose()
    assert not errors, errors
    with db.transaction() as session:
        report = verify(session)
    assert report.ok and report.intact == 3 * 15 * 2


def test_a_rolled_back_transaction_leaves_no_record(db: Database, clock: ManualClock) -> None:
    with pytest.raises(RuntimeError), db.transaction() as session:
        record(session, at=clock(), actor="system:x", action="test", entity_type="t",
               entity_id=1)
        raise RuntimeError("the change failed")
    with db.transaction() as session:
        assert verify(session).intact == 0


def test_reading_the_trail_needs_an_auditing_role(worked: Database, cast: Cast) -> None:
    with worked.transaction() as session:
        assert list_records(session, cast.auditor, entity_type="order")
        with pytest.raises(PermissionDenied):
            list_records(session, cast.north)
