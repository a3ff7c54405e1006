"""Fixed-window rate-limit counters, one row per (action, subject, window start)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from sync_server.db import Base, UTCDateTime


class RateLimit(Base):
    __tablename__ = "rate_limits"
    __table_args__ = (sa.UniqueConstraint("action", "subject", "window_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # "SIGN_IN", "PAIR_DEVICE", "JOIN_QUEUE", "PURCHASE_TICKET", ...
    action: Mapped[str] = mapped_column(sa.String(40))
    # Who is counted: "user:12", "ip:203.0.113.9", "email:<sha256>".
    subject: Mapped[str] = mapped_column(sa.String(100))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    count: Mapped[int] = mapped_column(default=0)
