"""card payments: connected accounts, card payments, Stripe events seen — owned by issue 14

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sync_server.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUS = sa.Enum("STARTING", "OPEN", "PAID", "EXPIRED", "REFUNDED", "DISPUTED",
                  name="cardstatus", native_enum=False, length=20)


def upgrade() -> None:
    op.create_table(
        "payment_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("stripe_account_id", sa.String(length=100), nullable=False),
        sa.Column("link_token", sa.String(length=64), nullable=False),
        sa.Column("charges_enabled", sa.Boolean(), nullable=False),
        sa.Column("details_submitted", sa.Boolean(), nullable=False),
        sa.Column("created_at", sync_server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sync_server.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_payment_accounts_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_accounts")),
        sa.UniqueConstraint("link_token", name=op.f("uq_payment_accounts_link_token")),
        sa.UniqueConstraint("stripe_account_id",
                            name=op.f("uq_payment_accounts_stripe_account_id")),
        sa.UniqueConstraint("user_id", name=op.f("uq_payment_accounts_user_id")),
    )
    op.create_table(
        "card_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("destination", sa.String(length=100), nullable=False),
        sa.Column("checkout_session_id", sa.String(length=100), nullable=True),
        sa.Column("payment_intent_id", sa.String(length=100), nullable=True),
        sa.Column("charge_id", sa.String(length=100), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("fee_cents", sa.Integer(), nullable=False),
        sa.Column("refunded_cents", sa.Integer(), nullable=False),
        sa.Column("status", _STATUS, nullable=False),
        sa.Column("expires_at", sync_server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", sync_server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sync_server.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_cents > 0 AND fee_cents >= 0 AND refunded_cents >= 0",
                           name=op.f("ck_card_payments_amounts")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"],
                                name=op.f("fk_card_payments_order_id_orders"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_payments")),
        sa.UniqueConstraint("checkout_session_id",
                            name=op.f("uq_card_payments_checkout_session_id")),
        sa.UniqueConstraint("order_id", name=op.f("uq_card_payments_order_id")),
    )
    with op.batch_alter_table("card_payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_card_payments_payment_intent_id"),
                              ["payment_intent_id"], unique=False)
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("received_at", sync_server.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_events")),
    )


def downgrade() -> None:
    op.drop_table("stripe_events")
    with op.batch_alter_table("card_payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_card_payments_payment_intent_id"))
    op.drop_table("card_payments")
    op.drop_table("payment_accounts")
