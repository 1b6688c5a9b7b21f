"""Severity ``critical``: the edge's rules may raise it (docs/uplink.md), so the CHECKs on
``work_orders.severity`` and ``events.severity`` accept it.

SQLite cannot alter a CHECK, and rebuilding the two tables would drop their guard triggers and
partial indexes. A wider CHECK changes nothing stored, so there the table definitions are
edited in place, the way SQLite documents for such changes (``writable_schema``, then a new
``schema_version`` so that every connection reloads them).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 19:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("work_orders", "events")
WITHOUT = "severity IN ('low', 'medium', 'high')"
WITH = "severity IN ('low', 'medium', 'high', 'critical')"


def upgrade() -> None:
    _check(WITHOUT, WITH)


def downgrade() -> None:
    bind = op.get_bind()
    for table in TABLES:
        if bind.execute(sa.text(f"SELECT count(*) FROM {table} WHERE severity = 'critical'")
                        ).scalar():
            raise RuntimeError(f"{table} has rows of severity 'critical': they would break "
                               "the narrower CHECK")
    _check(WITH, WITHOUT)


def _check(old: str, new: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} DROP CONSTRAINT ck_{table}_severity")
            op.execute(f"ALTER TABLE {table} ADD CONSTRAINT ck_{table}_severity CHECK ({new})")
        return
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    for table in TABLES:
        changed = bind.execute(sa.text(
            "UPDATE sqlite_master SET sql = replace(sql, :old, :new) "
            "WHERE type = 'table' AND name = :table AND instr(sql, :old) > 0"),
            {"old": old, "new": new, "table": table}).rowcount
        if changed != 1:
            raise RuntimeError(f"{table}: its CHECK on severity is not {old!r}")
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")
