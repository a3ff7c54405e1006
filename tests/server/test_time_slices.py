"""``db.time_slice`` (``date_bin`` on PostgreSQL 14+) puts every time in the same slice as
``db.epoch_bucket`` (``floor(epoch / seconds)``), which the analytics page used before: the
sales and check-in curves keep their numbers. Times on a slice's edge, a microsecond before
it, and fractions of a second, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from sync_server.db import UTCDateTime, epoch_bucket, make_engine, slice_number, time_slice
from sync_server.migrate import upgrade

EDGE = datetime(2030, 6, 1, 3, 0, tzinfo=UTC)  # a whole day, hour and quarter hour
TIMES = [EDGE, EDGE - timedelta(microseconds=1), EDGE + timedelta(microseconds=1),
         EDGE + timedelta(minutes=14, seconds=59, microseconds=999_999),
         EDGE + timedelta(minutes=15), EDGE - timedelta(hours=3, microseconds=1),
         datetime(2030, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC)]


@pytest.mark.parametrize("seconds", [900, 3600, 86400])
def test_time_slice_agrees_with_epoch_bucket(database_url: str, seconds: int) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            for at in TIMES:
                value = sa.literal(at, UTCDateTime)
                key, number = session.execute(sa.select(
                    time_slice(session, value, seconds),
                    epoch_bucket(session, value, seconds))).one()
                assert slice_number(key, seconds) == int(number), (at, seconds)
                if not database_url.startswith("sqlite"):  # SQLite's clock is in milliseconds
                    assert int(number) == int(at.timestamp() // seconds), (at, seconds)
    finally:
        engine.dispose()
