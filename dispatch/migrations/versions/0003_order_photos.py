"""Field photos: what a department uploads from the site for its feedback on an order.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 18:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "order_photos",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("storage_key", sa.String(length=512), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("uploaded_by", sa.String(length=120), nullable=False),
        sa.Column("uploaded_by_id", sa.Uuid(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["work_orders.id"],
                                name=op.f("fk_order_photos_order_id"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["users.id"],
                                name=op.f("fk_order_photos_uploaded_by_id"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_photos")),
        sa.UniqueConstraint("order_id", "sha256", name=op.f("uq_order_photos_order_id_sha256")),
    )
    # Like every table: rows are never deleted.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER order_photos_no_delete BEFORE DELETE ON order_photos "
                   "FOR EACH ROW EXECUTE FUNCTION fishwatch_refuse()")
        op.execute("CREATE TRIGGER order_photos_no_truncate BEFORE TRUNCATE ON order_photos "
                   "FOR EACH STATEMENT EXECUTE FUNCTION fishwatch_refuse()")
    else:
        op.execute("CREATE TRIGGER order_photos_no_delete BEFORE DELETE ON order_photos BEGIN "
                   "SELECT RAISE(ABORT, 'fishwatch: DELETE on order_photos is refused: records "
                   "are never removed'); END")


def downgrade() -> None:
    op.drop_table("order_photos")
