# ruff: noqa: E501  (Alembic autogenerates long lines; the file is reviewed, not hand-formatted)
"""box office: sellers' code secrets, cash sales, offline stock — issue 16

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sync_server.db

revision: str = '0008'
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('box_office_seller_secrets',
    sa.Column('seller_id', sa.Integer(), nullable=False),
    sa.Column('secret', sa.String(length=64), nullable=False),
    sa.Column('created_at', sync_server.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['seller_id'], ['authorized_sellers.id'], name=op.f('fk_box_office_seller_secrets_seller_id_authorized_sellers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('seller_id', name=op.f('pk_box_office_seller_secrets'))
    )
    op.create_table('box_office_sales',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('seller_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('client_sale_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.Enum('ONLINE', 'OFFLINE', name='salekind', native_enum=False, length=20), nullable=False),
    sa.Column('status', sa.Enum('HELD', 'COMPLETED', 'RELEASED', 'REFUNDED', name='salestatus', native_enum=False, length=20), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('total_cents', sa.Integer(), nullable=False),
    sa.Column('list_cents', sa.Integer(), nullable=False),
    sa.Column('commission_cents', sa.Integer(), nullable=False),
    sa.Column('buyer_name', sa.String(length=200), nullable=False),
    sa.Column('buyer_email', sa.String(length=254), nullable=False),
    sa.Column('buyer_phone', sa.String(length=40), nullable=True),
    sa.Column('expires_at', sync_server.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sold_at', sync_server.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('refunded_at', sync_server.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('refund_reason', sa.String(length=500), nullable=True),
    sa.Column('refunded_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sync_server.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quantity >= 0 AND total_cents >= 0 AND commission_cents >= 0', name=op.f('ck_box_office_sales_amounts')),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_box_office_sales_device_id_devices'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_box_office_sales_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_box_office_sales_order_id_orders'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['refunded_by_user_id'], ['users.id'], name=op.f('fk_box_office_sales_refunded_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['seller_id'], ['authorized_sellers.id'], name=op.f('fk_box_office_sales_seller_id_authorized_sellers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_box_office_sales')),
    sa.UniqueConstraint('event_id', 'client_sale_id', name=op.f('uq_box_office_sales_event_id_client_sale_id'))
    )
    with op.batch_alter_table('box_office_sales', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_box_office_sales_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_box_office_sales_order_id'), ['order_id'], unique=False)
        batch_op.create_index('ix_box_office_sales_seller_id_status', ['seller_id', 'status'], unique=False)

    op.create_table('box_office_stock',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('seller_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.String(length=36), nullable=False),
    sa.Column('ticket_type_id', sa.Integer(), nullable=False),
    sa.Column('price_cents', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('OUT', 'SOLD', 'RETURNED', 'REVOKED', name='stockstatus', native_enum=False, length=20), nullable=False),
    sa.Column('sale_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sync_server.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sync_server.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_box_office_stock_device_id_devices'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_box_office_stock_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_box_office_stock_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sale_id'], ['box_office_sales.id'], name=op.f('fk_box_office_stock_sale_id_box_office_sales'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['seller_id'], ['authorized_sellers.id'], name=op.f('fk_box_office_stock_seller_id_authorized_sellers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket_instances.id'], name=op.f('fk_box_office_stock_ticket_id_ticket_instances'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_type_id'], ['ticket_types.id'], name=op.f('fk_box_office_stock_ticket_type_id_ticket_types'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ticket_id', name=op.f('pk_box_office_stock'))
    )
    with op.batch_alter_table('box_office_stock', schema=None) as batch_op:
        batch_op.create_index('ix_box_office_stock_device_seller_status', ['device_id', 'seller_id', 'status'], unique=False)
        batch_op.create_index('ix_box_office_stock_event_id_batch', ['event_id', 'batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_box_office_stock_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_box_office_stock_sale_id'), ['sale_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('box_office_stock', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_box_office_stock_sale_id'))
        batch_op.drop_index(batch_op.f('ix_box_office_stock_order_id'))
        batch_op.drop_index('ix_box_office_stock_event_id_batch')
        batch_op.drop_index('ix_box_office_stock_device_seller_status')

    op.drop_table('box_office_stock')
    with op.batch_alter_table('box_office_sales', schema=None) as batch_op:
        batch_op.drop_index('ix_box_office_sales_seller_id_status')
        batch_op.drop_index(batch_op.f('ix_box_office_sales_order_id'))
        batch_op.drop_index(batch_op.f('ix_box_office_sales_device_id'))

    op.drop_table('box_office_sales')
    op.drop_table('box_office_seller_secrets')
