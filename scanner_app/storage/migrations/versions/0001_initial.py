"""Door database: cache, keys, journal, outbound queue

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-25 13:55:09.498479
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conflicts",
        sa.Column("scan_id", sa.String(length=36), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("scanned_at", sa.DateTime(), nullable=False),
        sa.Column("door", sa.String(length=100), nullable=False),
        sa.Column("winning_scan_id", sa.String(length=36), nullable=False),
        sa.Column("winning_scanned_at", sa.DateTime(), nullable=False),
        sa.Column("winning_door", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("scan_id"),
    )
    with op.batch_alter_table("conflicts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_conflicts_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "events",
        sa.Column("event_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("days_json", sa.Text(), nullable=False),
        sa.Column("reentry_allowed", sa.Boolean(), nullable=False),
        sa.Column("uncached_policy", sa.String(length=40), nullable=False),
        sa.Column("entry_opens_minutes_before", sa.Integer(), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("snapshot_complete", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("synced_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_table(
        "identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("server_url", sa.String(length=500), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("device_name", sa.String(length=100), nullable=False),
        sa.Column("token_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("paired_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "revocations",
        sa.Column("ticket_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    with op.batch_alter_table("revocations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_revocations_event_id"), ["event_id"], unique=False)

    op.create_table(
        "scan_journal",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scan_id", sa.String(length=36), nullable=False),
        sa.Column("scanned_at", sa.DateTime(), nullable=False),
        sa.Column("door", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("verdict", sa.String(length=40), nullable=False),
        sa.Column("counted", sa.Boolean(), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("scan_type", sa.String(length=20), nullable=False),
        sa.Column("manual_reason", sa.String(length=500), nullable=True),
        sa.Column("upload_state", sa.String(length=20), nullable=False),
        sa.Column("upload_error", sa.String(length=64), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("scan_id"),
    )
    with op.batch_alter_table("scan_journal", schema=None) as batch_op:
        batch_op.create_index("ix_scan_journal_ticket_seq", ["ticket_id", "seq"], unique=False)

    op.create_table(
        "settings",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "sync_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_success_at", sa.DateTime(), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "ticket_terms",
        sa.Column("term", sa.String(length=320), nullable=False),
        sa.Column("ticket_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("term", "ticket_id"),
    )
    with op.batch_alter_table("ticket_terms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_terms_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "tickets",
        sa.Column("ticket_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("ticket_number", sa.String(length=64), nullable=False),
        sa.Column("order_number", sa.String(length=64), nullable=False),
        sa.Column("holder_name", sa.String(length=200), nullable=False),
        sa.Column("holder_email", sa.String(length=320), nullable=False),
        sa.Column("ticket_type", sa.String(length=200), nullable=False),
        sa.Column("valid_dates", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("scanned_at", sa.DateTime(), nullable=True),
        sa.Column("scanned_door", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tickets_event_id"), ["event_id"], unique=False)

    op.create_table(
        "event_keys",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("key_version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("key_encrypted", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.event_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("event_id", "key_version"),
    )
    op.create_table(
        "outbound",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["seq"],
            ["scan_journal.seq"],
        ),
        sa.PrimaryKeyConstraint("seq"),
    )


def downgrade() -> None:
    op.drop_table("outbound")
    op.drop_table("event_keys")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_event_id"))

    op.drop_table("tickets")
    with op.batch_alter_table("ticket_terms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_terms_ticket_id"))

    op.drop_table("ticket_terms")
    op.drop_table("sync_state")
    op.drop_table("settings")
    with op.batch_alter_table("scan_journal", schema=None) as batch_op:
        batch_op.drop_index("ix_scan_journal_ticket_seq")

    op.drop_table("scan_journal")
    with op.batch_alter_table("revocations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revocations_event_id"))

    op.drop_table("revocations")
    op.drop_table("identity")
    op.drop_table("events")
    with op.batch_alter_table("conflicts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conflicts_ticket_id"))

    op.drop_table("conflicts")
