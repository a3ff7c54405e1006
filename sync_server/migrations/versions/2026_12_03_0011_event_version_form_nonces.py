"""event version (a stale edit from a page is detected); one-time form nonces (a double submit
creates one thing) — issue 15

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sync_server.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False,
                                      server_default="1"))
    op.create_table(
        "form_nonces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("result_url", sa.String(length=300), nullable=False),
        sa.Column("created_at", sync_server.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_form_nonces_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_nonces")),
        sa.UniqueConstraint("user_id", "nonce", name=op.f("uq_form_nonces_user_id_nonce")),
    )
    with op.batch_alter_table("form_nonces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_form_nonces_created_at"), ["created_at"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("form_nonces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_form_nonces_created_at"))
    op.drop_table("form_nonces")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("version")
