"""The scans log: every admission decision a door or a person made (model only).

A device uploads each scan with its own id (``client_scan_id``); the pair (device, client id) is
unique, so a retried upload is dropped rather than counted twice. ``scanned_at`` is the device's
time of the scan; ``received_at`` is when the server heard of it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from sync_server.db import Base, UTCDateTime, enum_type, utcnow


class ScanType(StrEnum):
    QR_SCAN = "QR_SCAN"
    MANUAL_LOOKUP = "MANUAL_LOOKUP"


class Scan(Base):
    __tablename__ = "scans"
    __table_args__ = (
        sa.UniqueConstraint("device_id", "client_scan_id"),
        sa.Index("ix_scans_event_id_scanned_at", "event_id", "scanned_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # NULL when the payload named no ticket we know (a forged or foreign code).
    ticket_instance_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("ticket_instances.id", ondelete="SET NULL"), index=True
    )
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    event_day_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("event_days.id", ondelete="SET NULL")
    )
    scanned_by_user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    device_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("devices.id", ondelete="SET NULL")
    )
    client_scan_id: Mapped[str | None] = mapped_column(sa.String(64))
    scan_type: Mapped[ScanType] = mapped_column(enum_type(ScanType), default=ScanType.QR_SCAN)
    manual_reason: Mapped[str | None] = mapped_column(sa.String(500))
    device_info: Mapped[str | None] = mapped_column(sa.String(200))
    location: Mapped[str | None] = mapped_column(sa.String(100))
    valid: Mapped[bool]
    # A stable verdict code (scanner_app.core.verdict.VerdictCode values).
    result_code: Mapped[str] = mapped_column(sa.String(40))
    error_message: Mapped[str | None] = mapped_column(sa.String(500))
    raw_payload: Mapped[str | None] = mapped_column(sa.String(256))
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
