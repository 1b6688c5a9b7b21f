"""Centre access: user passwords and lockout, browser sessions, device tokens and heartbeats,
and the uplink fields an event keeps (revision, zone, camera fault).

Sessions and device tokens are revoked, never deleted, like every other record; heartbeats
keep only the latest per device (one row, updated).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 18:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

NEW_TABLES = ("user_sessions", "device_tokens", "device_heartbeats")


def _guard(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION fishwatch_refuse()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION fishwatch_refuse()"
        )
    else:
        op.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} BEGIN "
            f"SELECT RAISE(ABORT, 'fishwatch: DELETE on {table} is refused: records are "
            "never removed'); END"
        )


def upgrade() -> None:
    # Plain ADD COLUMN (not batch mode): recreating the tables on SQLite would drop their guards.
    op.add_column("users", sa.Column("password_hash", sa.String(length=255), nullable=True))
    op.add_column("users", sa.Column("failed_logins", sa.Integer(), nullable=False,
                                     server_default="0"))
    op.add_column("users", sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("users", sa.Column("language", sa.String(length=8), nullable=False,
                                     server_default="zh"))
    op.add_column("events", sa.Column("revision", sa.Integer(), nullable=False,
                                      server_default="1"))
    op.add_column("events", sa.Column("zone", sa.String(length=100), nullable=False,
                                      server_default=""))
    op.add_column("events", sa.Column("fault", sa.String(length=40), nullable=True))
    op.add_column("events", sa.Column("detail", sa.String(length=500), nullable=False,
                                      server_default=""))
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("client", sa.String(length=200), nullable=False, server_default=""),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_sessions_user_id"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_sessions_token_hash")),
    )
    op.create_table(
        "device_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"],
                                name=op.f("fk_device_tokens_device_id"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_device_tokens_token_hash")),
    )
    op.create_table(
        "device_heartbeats",
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("software_version", sa.String(length=40), nullable=False, server_default=""),
        sa.Column("model_name", sa.String(length=100), nullable=False, server_default=""),
        sa.Column("model_version", sa.String(length=100), nullable=False, server_default=""),
        sa.Column("cameras", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"],
                                name=op.f("fk_device_heartbeats_device_id"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_device_heartbeats")),
    )
    for table in NEW_TABLES:
        _guard(table)


def downgrade() -> None:
    for table in reversed(NEW_TABLES):
        op.drop_table(table)
    for column in ("detail", "fault", "zone", "revision"):
        op.drop_column("events", column)
    for column in ("language", "locked_until", "failed_logins", "password_hash"):
        op.drop_column("users", column)
