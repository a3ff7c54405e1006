"""split payments (shares, each its own Checkout Session) and event refund jobs — issue 14

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sync_server.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=20)


def _time(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sync_server.db.UTCDateTime(timezone=True), nullable=nullable)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    other = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=op.f(f"fk_{table}_{column}_{other}"),
                                   ondelete="CASCADE")


def _index(table: str, column: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def upgrade() -> None:
    op.create_table(
        "payment_refund_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("status", _enum("jobstatus", "RUNNING", "DONE"), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("refunded", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        _time("created_at"), _time("updated_at"), _time("finished_at", nullable=True),
        _fk("payment_refund_jobs", "event_id", "events.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_refund_jobs")),
        sa.UniqueConstraint("event_id", name=op.f("uq_payment_refund_jobs_event_id")),
    )
    _index("payment_refund_jobs", "status")
    op.create_table(
        "payment_refund_job_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("status", _enum("itemstatus", "PENDING", "REFUNDED", "FAILED"),
                  nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        _time("refunded_at", nullable=True),
        _fk("payment_refund_job_items", "job_id", "payment_refund_jobs.id"),
        _fk("payment_refund_job_items", "order_id", "orders.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_refund_job_items")),
        sa.UniqueConstraint("order_id", name=op.f("uq_payment_refund_job_items_order_id")),
    )
    _index("payment_refund_job_items", "job_id")
    op.create_table(
        "payment_splits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("destination", sa.String(length=100), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", _enum("splitstatus", "OPEN", "COMPLETED", "TIMED_OUT", "FAILED"),
                  nullable=False),
        _time("deadline"), _time("settled_at", nullable=True),
        _time("created_at"), _time("updated_at"),
        _fk("payment_splits", "order_id", "orders.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_splits")),
        sa.UniqueConstraint("order_id", name=op.f("uq_payment_splits_order_id")),
    )
    _index("payment_splits", "deadline")
    _index("payment_splits", "status")
    op.create_table(
        "payment_split_shares",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("split_id", sa.Integer(), nullable=False),
        sa.Column("payer_name", sa.String(length=200), nullable=False),
        sa.Column("payer_email", sa.String(length=254), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("fee_cents", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("status", _enum("sharestatus", "UNPAID", "OPEN", "PAID", "REFUNDED",
                                  "CANCELLED"), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("checkout_session_id", sa.String(length=100), nullable=True),
        _time("session_expires_at", nullable=True),
        sa.Column("payment_intent_id", sa.String(length=100), nullable=True),
        sa.Column("charge_id", sa.String(length=100), nullable=True),
        sa.Column("refunded_cents", sa.Integer(), nullable=False),
        _time("paid_at", nullable=True), _time("created_at"), _time("updated_at"),
        sa.CheckConstraint("amount_cents > 0 AND fee_cents >= 0 AND refunded_cents >= 0",
                           name=op.f("ck_payment_split_shares_amounts")),
        _fk("payment_split_shares", "split_id", "payment_splits.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_split_shares")),
        sa.UniqueConstraint("checkout_session_id",
                            name=op.f("uq_payment_split_shares_checkout_session_id")),
        sa.UniqueConstraint("token", name=op.f("uq_payment_split_shares_token")),
    )
    _index("payment_split_shares", "payment_intent_id")
    _index("payment_split_shares", "split_id")


def downgrade() -> None:
    op.drop_table("payment_split_shares")
    op.drop_table("payment_splits")
    op.drop_table("payment_refund_job_items")
    op.drop_table("payment_refund_jobs")
