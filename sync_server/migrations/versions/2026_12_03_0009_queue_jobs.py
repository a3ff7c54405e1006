"""waiting list: positions computed (no stored counter), one live row per person, the offer's
order; job_runs for the jobs worker's heartbeat — issue 17

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sync_server.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "status IN ('WAITING', 'OFFERED')"


def upgrade() -> None:
    with op.batch_alter_table("waiting_list", schema=None) as batch_op:
        batch_op.drop_index("ix_waiting_list_event_id_ticket_type_id_position")
        batch_op.drop_constraint("uq_waiting_list_ticket_type_id_position", type_="unique")
        batch_op.drop_column("position")
        batch_op.add_column(sa.Column("order_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_waiting_list_order_id_orders"), "orders",
                                    ["order_id"], ["id"], ondelete="SET NULL")
        batch_op.create_index(batch_op.f("ix_waiting_list_order_id"), ["order_id"], unique=False)
        batch_op.create_index("ix_waiting_list_ticket_type_id_status_id",
                              ["ticket_type_id", "status", "id"], unique=False)
        batch_op.create_index("uq_waiting_list_live_user", ["ticket_type_id", "user_id"],
                              unique=True, sqlite_where=sa.text(LIVE),
                              postgresql_where=sa.text(LIVE))
    op.create_table(
        "job_runs",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("last_started_at", sync_server.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_finished_at", sync_server.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_ok_at", sync_server.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_runs")),
    )


def downgrade() -> None:
    op.drop_table("job_runs")
    # Positions come back numbered in the order of joining (per ticket type).
    with op.batch_alter_table("waiting_list", schema=None) as batch_op:
        batch_op.drop_index("uq_waiting_list_live_user")
        batch_op.drop_index("ix_waiting_list_ticket_type_id_status_id")
        batch_op.drop_index(batch_op.f("ix_waiting_list_order_id"))
        batch_op.drop_constraint(batch_op.f("fk_waiting_list_order_id_orders"),
                                 type_="foreignkey")
        batch_op.drop_column("order_id")
        batch_op.add_column(sa.Column("position", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE waiting_list SET position = (SELECT count(*) FROM waiting_list AS w "
        "WHERE w.ticket_type_id = waiting_list.ticket_type_id AND w.id <= waiting_list.id)"
    )
    with op.batch_alter_table("waiting_list", schema=None) as batch_op:
        batch_op.alter_column("position", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint("uq_waiting_list_ticket_type_id_position",
                                          ["ticket_type_id", "position"])
        batch_op.create_index("ix_waiting_list_event_id_ticket_type_id_position",
                              ["event_id", "ticket_type_id", "position"], unique=False)
