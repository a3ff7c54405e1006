"""drop ix_ticket_instances_event_id_updated_at — owned by issue 4

Door sync reads tickets by change number (``event_id, door_change``) since 0003; nothing reads
them by ``updated_at`` any more, and every sold ticket paid for the index (docs/purchase.md).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket_instances", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_instances_event_id_updated_at")


def downgrade() -> None:
    with op.batch_alter_table("ticket_instances", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_instances_event_id_updated_at",
                              ["event_id", "updated_at"], unique=False)
