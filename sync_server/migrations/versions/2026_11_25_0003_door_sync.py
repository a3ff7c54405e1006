# ruff: noqa: E501  (Alembic autogenerates long lines; the file is reviewed, not hand-formatted)
"""door sync (change numbers, scan conflicts) — owned by issue 5

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sync_server.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('door_event_changes',
    sa.Column('event_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_change', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_door_event_changes_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_door_event_changes'))
    )
    op.create_table('door_event_settings',
    sa.Column('event_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('reentry_allowed', sa.Boolean(), nullable=False),
    sa.Column('refuse_uncached', sa.Boolean(), nullable=False),
    sa.Column('entry_opens_minutes_before', sa.Integer(), nullable=False),
    sa.CheckConstraint('entry_opens_minutes_before >= 0 AND entry_opens_minutes_before <= 1440', name=op.f('ck_door_event_settings_entry_opens_range')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_door_event_settings_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_door_event_settings'))
    )
    op.create_table('door_scans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scan_id', sa.String(length=36), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('ticket_id', sa.BigInteger(), nullable=True),
    sa.Column('ticket_instance_id', sa.Integer(), nullable=True),
    sa.Column('scanned_at', sync_server.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('received_at', sync_server.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('door', sa.String(length=100), nullable=False),
    sa.Column('direction', sa.Enum('entry', 'exit', name='direction', native_enum=False, length=10), nullable=False),
    sa.Column('verdict', sa.String(length=40), nullable=False),
    sa.Column('scan_type', sa.Enum('QR_SCAN', 'MANUAL_LOOKUP', name='scantype', native_enum=False, length=20), nullable=False),
    sa.Column('payload', sa.String(length=1024), nullable=False),
    sa.Column('manual_reason', sa.String(length=500), nullable=True),
    sa.Column('admission', sa.Boolean(), nullable=False),
    sa.Column('lost_to_id', sa.Integer(), nullable=True),
    sa.Column('change_no', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_door_scans_device_id_devices'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_door_scans_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['lost_to_id'], ['door_scans.id'], name=op.f('fk_door_scans_lost_to_id_door_scans'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_instance_id'], ['ticket_instances.id'], name=op.f('fk_door_scans_ticket_instance_id_ticket_instances'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_door_scans')),
    sa.UniqueConstraint('scan_id', name=op.f('uq_door_scans_scan_id'))
    )
    with op.batch_alter_table('door_scans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_door_scans_device_id'), ['device_id'], unique=False)
        batch_op.create_index('ix_door_scans_event_id_change_no', ['event_id', 'change_no'], unique=False)
        batch_op.create_index('ix_door_scans_ticket_instance_id_admission', ['ticket_instance_id', 'admission'], unique=False)

    with op.batch_alter_table('ticket_instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('door_change', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.create_index('ix_ticket_instances_event_id_door_change', ['event_id', 'door_change'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ticket_instances', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_instances_event_id_door_change')
        batch_op.drop_column('door_change')

    with op.batch_alter_table('door_scans', schema=None) as batch_op:
        batch_op.drop_index('ix_door_scans_ticket_instance_id_admission')
        batch_op.drop_index('ix_door_scans_event_id_change_no')
        batch_op.drop_index(batch_op.f('ix_door_scans_device_id'))

    op.drop_table('door_scans')
    op.drop_table('door_event_settings')
    op.drop_table('door_event_changes')
