"""One-time form nonces: a create form carries one; the first submit records where it led."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from sync_server.db import Base, UTCDateTime, utcnow


class FormNonce(Base):
    __tablename__ = "form_nonces"
    __table_args__ = (sa.UniqueConstraint("user_id", "nonce"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    nonce: Mapped[str] = mapped_column(sa.String(64))
    # Where the first submit went (the thing it created): a second submit is sent there too.
    result_url: Mapped[str] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
