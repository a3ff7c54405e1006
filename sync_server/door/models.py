"""Door-sync tables: the per-event change counter, door settings, and every uploaded scan.

``door_event_changes`` holds one counter row per event. A writing transaction takes the next
change number from it with ``UPDATE ... RETURNING`` just before it commits and keeps the row
locked until then, so for one event numbers become visible in commit order (see
``sync_server.door.changes``). ``door_scans`` is the door's own record of each uploaded scan
(deduplicated by the device-made ``scan_id``) with its admission conflict, if any; the seed's
``scans`` log gets a row too for every scan that names an event.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shared.protocol import MAX_DOOR_CHARS, MAX_PAYLOAD_CHARS, MAX_REASON_CHARS, Direction
from sync_server.db import Base, UTCDateTime, enum_type, utcnow
from sync_server.scanning.models import ScanType


def table_of(model: type[Base]) -> sa.Table:
    """A model's table, typed as one (``__table__`` is typed as any FromClause)."""
    return cast(sa.Table, model.__table__)


class DoorEventChange(Base):
    """The last change number handed out for one event (its door-data ``revision``)."""

    __tablename__ = "door_event_changes"

    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("events.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    last_change: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class DoorEventSettings(Base):
    """Door rules of one event; an event without a row uses the defaults below."""

    __tablename__ = "door_event_settings"
    __table_args__ = (
        sa.CheckConstraint(
            "entry_opens_minutes_before >= 0 AND entry_opens_minutes_before <= 1440",
            name="entry_opens_range",
        ),
    )

    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("events.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    reentry_allowed: Mapped[bool] = mapped_column(default=False)
    refuse_uncached: Mapped[bool] = mapped_column(default=False)
    entry_opens_minutes_before: Mapped[int] = mapped_column(default=120)


class DoorScan(Base):
    """One scan a door uploaded, exactly once (``scan_id`` is unique).

    ``admission`` is true for an admitted entry (verdict ``admit``/``admit_uncached``, direction
    entry) of a ticket of that event. Of a ticket's admissions the earliest by ``scanned_at``
    (then ``scan_id``) wins; on a single-entry event every other one has ``lost_to_id`` set to
    the winner and is a conflict. ``change_no`` is the event change number of the last time that
    flag was set or moved, so door-data deltas carry it.
    """

    __tablename__ = "door_scans"
    __table_args__ = (
        sa.Index("ix_door_scans_ticket_instance_id_admission", "ticket_instance_id", "admission"),
        sa.Index("ix_door_scans_event_id_change_no", "event_id", "change_no"),
        # The live door page and the check-in curve: an event's scans by time (migration 0012).
        sa.Index("ix_door_scans_event_id_scanned_at", "event_id", "scanned_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scan_id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    device_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("devices.id", ondelete="SET NULL"), index=True
    )
    # What the payload named (NULL when unreadable); the ticket only when it is of that event.
    event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    ticket_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    ticket_instance_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("ticket_instances.id", ondelete="SET NULL")
    )
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    door: Mapped[str] = mapped_column(sa.String(MAX_DOOR_CHARS), default="")
    direction: Mapped[Direction] = mapped_column(enum_type(Direction, 10))
    verdict: Mapped[str] = mapped_column(sa.String(40))
    scan_type: Mapped[ScanType] = mapped_column(enum_type(ScanType))
    payload: Mapped[str] = mapped_column(sa.String(MAX_PAYLOAD_CHARS), default="")
    manual_reason: Mapped[str | None] = mapped_column(sa.String(MAX_REASON_CHARS))
    admission: Mapped[bool] = mapped_column(default=False)
    lost_to_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("door_scans.id", ondelete="SET NULL")
    )
    change_no: Mapped[int] = mapped_column(sa.BigInteger, default=0)
