"""Engine, sessions and schema upgrades for the dispatch database (SQLite or PostgreSQL).

SQLite is the embedded default: foreign keys on, WAL, a busy timeout, and ``BEGIN IMMEDIATE``
for every transaction, so concurrent writers (threads or processes) queue for the single
write lock instead of failing when a read lock cannot be upgraded. PostgreSQL is the
production database; there rows are locked one by one (``FOR UPDATE SKIP LOCKED``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from dispatch import audit

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

#: How long a SQLite writer waits for the write lock before giving up.
SQLITE_BUSY_TIMEOUT_MS = 30_000


def create_engine(url: str | sa.URL, **kwargs: Any) -> sa.Engine:
    """An engine set up for dispatch's locking on either database."""
    url = sa.make_url(url)
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            raise ValueError("dispatch needs a SQLite file (sqlite:///PATH), not an in-memory "
                             "database: every connection would see a different one")
        engine = sa.create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"unsupported database {url.get_backend_name()!r}: use sqlite:///FILE "
                         "or postgresql+psycopg://USER:PASSWORD@HOST/DB")
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" listener issues BEGIN itself
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


class Database:
    """One database: its engine, a session factory that writes the audit chain, migrations.

    Example:
        >>> db = Database("sqlite:///dispatch.db")  # doctest: +SKIP
        >>> db.upgrade()
        >>> with db.transaction() as session:
        ...     orders.sign(session=session, actor=actor, order_id=order_id)
    """

    def __init__(self, url: str | sa.URL, **engine_kwargs: Any) -> None:
        self.engine = create_engine(url, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        audit.install(self.sessions)

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on an exception."""
        with self.sessions.begin() as session:
            yield session

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to ``revision`` (start-up runs this; there is no create_all)."""
        with self.engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

    def revision(self) -> str | None:
        """The schema revision the database is at (None: empty database)."""
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest revision the package ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "dispatch/migrations has no revisions"
    return head
