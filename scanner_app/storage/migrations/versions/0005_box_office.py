"""The box office: tiers to sell, offline stock, sales and their tickets

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "box_tiers",
        sa.Column("tier_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.Integer(), nullable=False, index=True),
        sa.Column("night", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("available", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "box_stock",
        sa.Column("ticket_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.Integer(), nullable=False, index=True),
        sa.Column("tier_id", sa.Integer(), nullable=False, index=True),
        sa.Column("ticket_number", sa.String(64), nullable=False),
        sa.Column("token", sa.String(200), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("sale_id", sa.String(36), nullable=True, index=True),
    )
    op.create_table(
        "box_sales",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("sale_id", sa.String(36), nullable=False, unique=True),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("sold_at", sa.DateTime(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("server_sale_id", sa.Integer(), nullable=True),
        sa.Column("night", sa.String(200), nullable=False, server_default=""),
        sa.Column("order_number", sa.String(64), nullable=False, server_default=""),
        sa.Column("lines_json", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("total_cents", sa.Integer(), nullable=False),
        sa.Column("tendered_cents", sa.Integer(), nullable=False),
        sa.Column("buyer_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("buyer_email", sa.String(254), nullable=False, server_default=""),
        sa.Column("buyer_phone", sa.String(40), nullable=False, server_default=""),
        sa.Column("seller_code", sa.String(8), nullable=False, server_default=""),
        sa.Column("uploaded", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("upload_error", sa.String(200), nullable=True),
        sa.Column("printed", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("void_reason", sa.String(500), nullable=True),
        sa.Column("void_pending", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "box_sale_tickets",
        sa.Column("ticket_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("sale_id", sa.String(36), sa.ForeignKey("box_sales.sale_id"), nullable=False,
                  index=True),
        sa.Column("ticket_number", sa.String(64), nullable=False),
        sa.Column("tier_id", sa.Integer(), nullable=False),
        sa.Column("tier_name", sa.String(200), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    for table in ("box_sale_tickets", "box_sales", "box_stock", "box_tiers"):
        op.drop_table(table)
