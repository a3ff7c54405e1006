"""One row per job of ``sync-server jobs`` (and one, ``worker``, for the process itself): when it
last ran and how it went. ``sync-server doctor`` and ``/metrics`` read them."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from sync_server.db import Base, UTCDateTime


class JobRun(Base):
    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    runs: Mapped[int] = mapped_column(default=0)
    failures: Mapped[int] = mapped_column(default=0)
    worker: Mapped[str | None] = mapped_column(sa.String(100))  # host:pid of the last runner
