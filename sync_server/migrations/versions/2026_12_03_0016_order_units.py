"""an order's units: the sum of its items' quantities, kept on the order (issue 15)

The analytics page's tickets sold per hour or day were a join of every completed order of the
event with its items (the slowest of its queries, ``bench/pages.py``); with the count on the
order they are one more sum of the pass over the orders it already makes (docs/benchmarks.md).
An order's items never change after the order is made, so neither does its count. Existing
orders are counted from their items here.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("units", sa.Integer(), nullable=False, server_default="0"))
    op.execute("UPDATE orders SET units = coalesce((SELECT sum(order_items.quantity) "
               "FROM order_items WHERE order_items.order_id = orders.id), 0)")


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("units")
