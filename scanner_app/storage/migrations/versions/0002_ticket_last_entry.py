"""Tickets: the latest entry the server knows of

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 14:07:17.836345
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_entry_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_entry_door", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("last_entry_door")
        batch_op.drop_column("last_entry_at")
