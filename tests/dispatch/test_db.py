"""The schema: Alembic builds exactly the ORM's tables, and the database refuses deletions."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from dispatch.db import Database, create_engine, head_revision
from dispatch.models import Base, Department, Device


def test_migrations_build_the_models_schema(db: Database) -> None:
    assert db.revision() == head_revision()
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


@pytest.mark.parametrize("statement", [
    "DELETE FROM departments",
    "DELETE FROM audit_head",
    "UPDATE audit_log SET actor = 'x'",
])
def test_the_database_refuses_deletes_and_audit_edits(db: Database, statement: str) -> None:
    with db.transaction() as session:  # row triggers need a row to fire on
        session.add(Department(code="centre", name="Centre"))
        session.execute(sa.text("INSERT INTO audit_log VALUES "
                                "(1, '2026-01-01 00:00:00', 'a', 'b', 'c', 'd', '{}', 'e', 'f')"))
    with pytest.raises(sa.exc.DatabaseError, match="is refused"), db.transaction() as session:
        session.execute(sa.text(statement))


def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), \
            db.transaction() as session:
        session.add(Device(code="box", registered_at=datetime(2026, 1, 1)))
        session.flush()


@pytest.mark.parametrize(("url", "message"), [
    ("sqlite://", "needs a SQLite file"),
    ("sqlite:///:memory:", "needs a SQLite file"),
    ("mysql://u:p@h/db", "unsupported database 'mysql'"),
])
def test_unusable_database_urls(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        create_engine(url)
