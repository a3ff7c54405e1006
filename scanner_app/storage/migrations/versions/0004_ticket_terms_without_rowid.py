"""Search terms in one B-tree: WITHOUT ROWID, and no index on ticket_id (a third of a download)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 08:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rebuild(rowid: bool) -> None:
    op.execute("DROP INDEX IF EXISTS ix_ticket_terms_ticket_id")
    op.execute("ALTER TABLE ticket_terms RENAME TO ticket_terms_old")
    op.execute(
        "CREATE TABLE ticket_terms (term VARCHAR(320) NOT NULL, ticket_id INTEGER NOT NULL, "
        "PRIMARY KEY (term, ticket_id))" + ("" if rowid else " WITHOUT ROWID")
    )
    op.execute("INSERT INTO ticket_terms (term, ticket_id) "
               "SELECT term, ticket_id FROM ticket_terms_old ORDER BY term, ticket_id")
    op.execute("DROP TABLE ticket_terms_old")
    if rowid:
        op.execute("CREATE INDEX ix_ticket_terms_ticket_id ON ticket_terms (ticket_id)")


def upgrade() -> None:
    _rebuild(rowid=False)


def downgrade() -> None:
    _rebuild(rowid=True)
