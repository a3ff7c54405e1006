"""The scan journal and its outbound queue.

A decision is one journal row plus one outbound row, written in the caller's transaction before
the verdict is shown. A scan leaves the outbound queue only in the transaction that stores the
server's answer for it, so a door killed at any instant re-sends (harmless: the server dedupes
by ``scan_id``) but never loses a scan.

The one other way out of the queue: a scan the server keeps refusing (``MAX_REFUSALS`` rounds
in which it was refused when sent alone) is set aside, its journal row kept with the state
``set_aside`` and the server's error, so it can never hold back the scans behind it.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from scanner_app.storage import models as m
from shared import protocol as p

logger = logging.getLogger(__name__)

PENDING = "pending"
SET_ASIDE = "set_aside"  # the server kept refusing it: kept in the journal, no longer sent
NOT_ON_SERVER = (SET_ASIDE, p.ScanOutcome.REJECTED.value)  # "set aside" in the door's status


@dataclass(frozen=True, slots=True)
class JournalEntry:
    scan_id: str
    scanned_at: datetime
    door: str
    source: str
    payload: str
    verdict: str
    counted: bool
    direction: p.Direction
    scan_type: p.ScanType
    event_id: int | None = None
    ticket_id: int | None = None
    manual_reason: str | None = None


@dataclass(frozen=True, slots=True)
class PastScan:
    scanned_at: datetime
    door: str
    direction: p.Direction


def driver(s: Session) -> Any:
    """The session's DB-API connection, inside its transaction (for the per-scan statements)."""
    raw = s.info.get("driver")  # a session lives for one transaction (DoorStore.transaction)
    if raw is None:
        raw = s.info["driver"] = s.connection().connection.driver_connection
    return raw


def sql_time(value: datetime | None) -> str | None:
    """The text SQLAlchemy's SQLite DateTime stores (naive UTC, microseconds)."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def utc_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=UTC)


_INSERT_SCAN = (
    "INSERT INTO scan_journal (scan_id, scanned_at, door, source, payload, event_id, ticket_id, "
    "verdict, counted, direction, scan_type, manual_reason, upload_state) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def append(s: Session, entry: JournalEntry) -> None:
    # Plain statements on the session's connection: the ORM's flush cost ~20x the insert itself.
    raw = driver(s)
    cursor = raw.execute(_INSERT_SCAN, (
        entry.scan_id, sql_time(entry.scanned_at), entry.door[: p.MAX_DOOR_CHARS],
        entry.source[:40], entry.payload[: p.MAX_PAYLOAD_CHARS], entry.event_id,
        entry.ticket_id, entry.verdict, int(entry.counted), entry.direction.value,
        entry.scan_type.value,
        None if entry.manual_reason is None else entry.manual_reason[: p.MAX_REASON_CHARS],
        PENDING,
    ))
    raw.execute("INSERT INTO outbound (seq, attempts) VALUES (?, 0)", (cursor.lastrowid,))


def counted_scans(s: Session, ticket_id: int, limit: int = 20) -> list[PastScan]:
    """This door's entries and exits of a ticket, newest first."""
    rows = driver(s).execute(
        "SELECT scanned_at, door, direction FROM scan_journal WHERE ticket_id = ? AND counted "
        "ORDER BY seq DESC LIMIT ?", (ticket_id, limit),
    )
    return [PastScan(utc_time(at), door, p.Direction(direction))  # type: ignore[arg-type]
            for at, door, direction in rows]


def pending(s: Session, limit: int, skip: Collection[str] = ()) -> list[p.ScanRecord]:
    """The oldest ``limit`` scans the server has not acknowledged yet (but those in ``skip``);
    scans the server refused before come after the rest."""
    query = sa.select(m.Scan).join(m.Outbound, m.Outbound.seq == m.Scan.seq)
    if skip:
        query = query.where(m.Scan.scan_id.not_in(list(skip)))
    rows = s.scalars(query.order_by(m.Outbound.attempts, m.Scan.seq).limit(limit))
    return [
        p.ScanRecord(
            scan_id=r.scan_id, scanned_at=r.scanned_at, door=r.door, payload=r.payload,
            verdict=r.verdict, scan_type=p.ScanType(r.scan_type),
            direction=p.Direction(r.direction), event_id=r.event_id, ticket_id=r.ticket_id,
            manual_reason=r.manual_reason,
        )
        for r in rows
    ]


def count_pending(s: Session) -> int:
    return int(s.scalar(sa.select(sa.func.count()).select_from(m.Outbound)) or 0)


def count_set_aside(s: Session) -> int:
    """Scans that will not reach the server: set aside here, or refused for good by it."""
    query = sa.select(sa.func.count()).where(m.Scan.upload_state.in_(NOT_ON_SERVER))
    return int(s.scalar(query) or 0)


def note_refusals(s: Session, refused: Mapping[str, str], max_refusals: int,
                  now: datetime) -> int:
    """Count one more refusal for each scan in ``refused`` (scan id -> the server's error);
    set aside those refused ``max_refusals`` times. Returns how many were set aside."""
    set_aside = 0
    for scan_id, error in refused.items():
        row = s.scalar(sa.select(m.Scan).where(m.Scan.scan_id == scan_id))
        queued = None if row is None else s.get(m.Outbound, row.seq)
        if row is None or queued is None:
            continue
        queued.attempts += 1
        if queued.attempts < max_refusals:
            continue
        row.upload_state = SET_ASIDE
        row.upload_error = error[:64]
        row.acknowledged_at = now
        s.delete(queued)
        set_aside += 1
        logger.error("scan %s set aside after %d refusals by the server (%s)",
                     scan_id, queued.attempts, error)
    return set_aside


def acknowledge(s: Session, results: Sequence[p.ScanResult], now: datetime) -> int:
    """Store the server's answers; each answered scan leaves the queue. Returns how many did."""
    done = 0
    for result in results:
        row = s.scalar(sa.select(m.Scan).where(m.Scan.scan_id == result.scan_id))
        if row is None:
            logger.warning("server answered for unknown scan %s", result.scan_id)
            continue
        if row.upload_state == PENDING:
            row.upload_state = result.outcome.value
            row.upload_error = result.error
            row.acknowledged_at = now
        s.execute(sa.delete(m.Outbound).where(m.Outbound.seq == row.seq))
        done += 1
        if result.outcome is p.ScanOutcome.REJECTED:
            logger.warning("server rejected scan %s: %s", result.scan_id, result.error)
    return done
