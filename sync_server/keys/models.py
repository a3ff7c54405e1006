"""Per-event signing key versions and revoked ticket tokens.

The key itself is never stored: it is ``shared.keys.derive_event_key(master, event_id, version)``.
A version signs new tickets while it is the newest one not retired; older versions still verify
until retired. Doors receive the keys of unretired versions and the list of revoked tickets.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from sync_server.db import Base, UTCDateTime, utcnow


class EventKeyVersion(Base):
    __tablename__ = "event_key_versions"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "version"),
        sa.CheckConstraint("version >= 1 AND version <= 255", name="version_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    version: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RevokedToken(Base):
    """A ticket whose token a door must refuse (transferred, cancelled, refunded)."""

    __tablename__ = "revoked_tokens"
    __table_args__ = (sa.Index("ix_revoked_tokens_event_id_revoked_at", "event_id", "revoked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    ticket_instance_id: Mapped[int] = mapped_column(
        sa.ForeignKey("ticket_instances.id", ondelete="CASCADE"), unique=True
    )
    reason: Mapped[str] = mapped_column(sa.String(40))
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_by_user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
