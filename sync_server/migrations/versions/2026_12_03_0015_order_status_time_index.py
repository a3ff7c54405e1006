"""orders by (event, payment status, completion time) with their total (issue 15)

Replaces ``ix_orders_event_id_payment_status`` (its leading columns: every query it served, this
one serves) by ``(event_id, payment_status, completed_at)``, with ``total_cents`` as an included
column on PostgreSQL (``INCLUDE``; SQLite has no included columns and gets the key alone).

What reads it: the dashboard's sales of today (completed orders since local midnight: a range
of the index, read without the table), the analytics page's first and last sale (two index
probes instead of a pass over every order of the event) and its refunded orders (count and sum
from the index). ``bench/pages.py`` measures the pages with and without it (docs/benchmarks.md).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (name, table, columns, included columns): bench/pages.py drops and re-creates these.
INDEXES: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("ix_orders_event_id_payment_status_completed_at", "orders",
     ("event_id", "payment_status", "completed_at"), ("total_cents",)),
)
REPLACED = ("ix_orders_event_id_payment_status", "orders", ("event_id", "payment_status"))


def upgrade() -> None:
    for name, table, columns, included in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, list(columns), unique=False,
                                  postgresql_include=list(included))
    with op.batch_alter_table(REPLACED[1], schema=None) as batch_op:
        batch_op.drop_index(REPLACED[0])


def downgrade() -> None:
    with op.batch_alter_table(REPLACED[1], schema=None) as batch_op:
        batch_op.create_index(REPLACED[0], list(REPLACED[2]), unique=False)
    for name, table, _columns, _included in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
