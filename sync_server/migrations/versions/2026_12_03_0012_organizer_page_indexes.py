"""indexes for the organizer's pages (issue 15): orders newest first, door scans by time

``orders (event_id, created_at)``: the order desk lists an event's orders newest first, a page
at a time, without sorting them all. ``door_scans (event_id, scanned_at)``: the live door page
reads the last half hour of an event's scans and its latest scan time; the analytics' check-in
curve reads them in time order. ``bench/pages.py`` measures the pages with and without them.

Not here (measured, left for a decision): a PostgreSQL trigram index (``pg_trgm``) on
``lower(buyer_name || ' ' || buyer_email)`` for the search by a part of a name or an e-mail;
``bench/pages.py --trigram`` adds it for its second run.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (name, table, columns): bench/pages.py drops and re-creates these to measure them.
INDEXES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("ix_orders_event_id_created_at", "orders", ("event_id", "created_at")),
    ("ix_door_scans_event_id_scanned_at", "door_scans", ("event_id", "scanned_at")),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, list(columns), unique=False)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
