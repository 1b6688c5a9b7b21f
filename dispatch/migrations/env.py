"""Alembic environment: runs on the connection ``Database.upgrade`` passes in, or, for the
``alembic`` command (``alembic -c dispatch/alembic.ini ...``), on FISHWATCH_DISPATCH_DATABASE_URL.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from dispatch.db import create_engine
from dispatch.models import Base


def run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("dispatch migrations run online only: give a database, not --sql")

connection = context.config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    url = os.environ.get("FISHWATCH_DISPATCH_DATABASE_URL")
    if not url:
        raise SystemExit("set FISHWATCH_DISPATCH_DATABASE_URL to the database to migrate")
    engine = create_engine(url)
    with engine.begin() as conn:
        run_migrations(conn)
    engine.dispose()
