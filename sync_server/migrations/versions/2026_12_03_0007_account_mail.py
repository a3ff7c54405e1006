"""account mail (verification, reset, "someone tried"), sign out everywhere — issue 13

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("session_epoch", sa.Integer(), nullable=False,
                                      server_default="0"))
    with op.batch_alter_table("mail_outbox") as batch_op:
        batch_op.alter_column("order_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("detail", sa.String(length=254), nullable=True))
        batch_op.create_foreign_key("fk_mail_outbox_user_id_users", "users", ["user_id"], ["id"],
                                    ondelete="CASCADE")
        batch_op.create_index("ix_mail_outbox_user_id", ["user_id"])


def downgrade() -> None:
    op.execute("DELETE FROM mail_outbox WHERE order_id IS NULL")
    with op.batch_alter_table("mail_outbox") as batch_op:
        batch_op.drop_index("ix_mail_outbox_user_id")
        batch_op.drop_constraint("fk_mail_outbox_user_id_users", type_="foreignkey")
        batch_op.drop_column("detail")
        batch_op.drop_column("user_id")
        batch_op.alter_column("order_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("session_epoch")
