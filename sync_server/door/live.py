"""What is happening at the doors of one event, now: the figures of the organizer's "At the
door, live" page and of ``GET /events/<id>/door/live`` (the same function feeds both).

- entries per minute per door over the last ``WINDOW_MINUTES`` minutes of scanning (ending at
  the latest scan: a door's clock, not the server's, dates a scan);
- people inside: entries (admitting verdicts, direction entry) minus exits;
- scans refused, by reason (verdict);
- double entries: admissions that lost to an earlier one of the same ticket (both doors, both
  times);
- each door device serving the event: its last contact (heartbeat or upload) and scans sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from shared.protocol import Direction
from shared.vocabulary import ADMITTING_VERDICTS, COUNTED_VERDICTS, VerdictCode
from shared.vocabulary import format_optional_time as iso
from sync_server.db import bucket_start, epoch_bucket
from sync_server.devices.models import Device, device_events
from sync_server.door.models import DoorScan
from sync_server.tickets.models import TicketInstance

logger = logging.getLogger(__name__)

WINDOW_MINUTES = 30
MAX_CONFLICTS = 100
SILENT_AFTER = timedelta(minutes=10)

REASONS: dict[str, str] = {
    VerdictCode.ALREADY_SCANNED: "Already scanned",
    VerdictCode.REPEAT: "Same code again (not counted twice)",
    VerdictCode.WRONG_EVENT: "Ticket for another event",
    VerdictCode.NOT_VALID_TODAY: "Not valid today",
    VerdictCode.NOT_YET_VALID: "Not valid yet",
    VerdictCode.NO_LONGER_VALID: "No longer valid",
    VerdictCode.CANCELLED: "Cancelled ticket",
    VerdictCode.REVOKED: "Transferred or re-issued ticket",
    VerdictCode.UNKNOWN_TICKET: "Unknown ticket",
    VerdictCode.FORGED: "Forged code",
    VerdictCode.UNKNOWN_KEY: "Unknown signing key",
    VerdictCode.UNSUPPORTED_VERSION: "Unsupported code version",
    VerdictCode.MALFORMED: "Not a ticket code",
    VerdictCode.ERROR: "Door could not record it",
}


@dataclass(frozen=True)
class DoubleEntry:
    ticket_number: str
    door: str
    scanned_at: datetime
    first_door: str
    first_scanned_at: datetime


@dataclass(frozen=True)
class DeviceContact:
    name: str
    last_contact: datetime | None
    last_upload: datetime | None
    scans: int
    silent: bool  # no contact for SILENT_AFTER (or never)


@dataclass
class LiveFigures:
    as_of: datetime
    entries: int = 0
    exits: int = 0
    minutes: list[datetime] = field(default_factory=list)  # the window's minutes, oldest first
    per_minute: dict[str, list[int]] = field(default_factory=dict)  # door -> count per minute
    refused: list[tuple[str, str, int]] = field(default_factory=list)  # (code, words, count)
    double_entries: list[DoubleEntry] = field(default_factory=list)
    double_entry_count: int = 0
    devices: list[DeviceContact] = field(default_factory=list)

    @property
    def inside(self) -> int:
        return max(0, self.entries - self.exits)

    @property
    def doors(self) -> list[str]:
        return sorted(self.per_minute)


def _entry() -> sa.ColumnElement[bool]:
    return sa.and_(DoorScan.verdict.in_(sorted(ADMITTING_VERDICTS)),
                   DoorScan.direction == Direction.ENTRY)


def _exit() -> sa.ColumnElement[bool]:
    return sa.or_(DoorScan.verdict == VerdictCode.EXIT.value,
                  sa.and_(DoorScan.verdict.in_(sorted(COUNTED_VERDICTS)),
                          DoorScan.direction == Direction.EXIT))


def live_figures(session: Session, event_id: int, *, now: datetime) -> LiveFigures:
    figures = LiveFigures(as_of=now)
    mine = DoorScan.event_id == event_id
    entries, exits, latest = session.execute(sa.select(
        sa.func.count().filter(_entry()), sa.func.count().filter(_exit()),
        sa.func.max(DoorScan.scanned_at)).where(mine)).one()
    figures.entries, figures.exits = int(entries or 0), int(exits or 0)
    figures.refused = [
        (code, REASONS.get(code, code), int(n)) for code, n in session.execute(
            sa.select(DoorScan.verdict, sa.func.count()).where(
                mine, DoorScan.verdict.not_in(sorted(COUNTED_VERDICTS)))
            .group_by(DoorScan.verdict).order_by(sa.func.count().desc(), DoorScan.verdict))]
    if latest is not None:
        _per_minute(session, figures, event_id, latest)
    _double_entries(session, figures, event_id)
    _devices(session, figures, event_id, now)
    return figures


def _per_minute(session: Session, figures: LiveFigures, event_id: int, latest: datetime) -> None:
    last = int(latest.timestamp()) // 60
    first = last - WINDOW_MINUTES + 1
    bucket = epoch_bucket(session, DoorScan.scanned_at, 60)
    rows = session.execute(
        sa.select(DoorScan.door, bucket, sa.func.count())
        .where(DoorScan.event_id == event_id, _entry(),
               DoorScan.scanned_at >= bucket_start(first, 60),
               DoorScan.scanned_at < bucket_start(last + 1, 60))
        .group_by(DoorScan.door, bucket))
    figures.minutes = [bucket_start(m, 60) for m in range(first, last + 1)]
    for door, minute, count in rows:
        counts = figures.per_minute.setdefault(door or "(no door name)", [0] * WINDOW_MINUTES)
        if first <= int(minute) <= last:
            counts[int(minute) - first] += int(count)


def _double_entries(session: Session, figures: LiveFigures, event_id: int) -> None:
    loser, winner = aliased(DoorScan), aliased(DoorScan)
    flagged = sa.and_(loser.event_id == event_id, loser.lost_to_id.is_not(None))
    figures.double_entry_count = session.scalar(
        sa.select(sa.func.count()).select_from(loser).where(flagged)) or 0
    rows = session.execute(
        sa.select(TicketInstance.ticket_number, loser.door, loser.scanned_at, winner.door,
                  winner.scanned_at)
        .join(winner, winner.id == loser.lost_to_id)
        .join(TicketInstance, TicketInstance.id == loser.ticket_instance_id)
        .where(flagged).order_by(loser.scanned_at.desc()).limit(MAX_CONFLICTS))
    figures.double_entries = [DoubleEntry(*row) for row in rows]


def _devices(session: Session, figures: LiveFigures, event_id: int, now: datetime) -> None:
    uploads = (sa.select(DoorScan.device_id, sa.func.max(DoorScan.received_at).label("last"),
                         sa.func.count().label("n"))
               .where(DoorScan.event_id == event_id).group_by(DoorScan.device_id).subquery())
    rows = session.execute(
        sa.select(Device.name, Device.last_seen_at, uploads.c.last, uploads.c.n)
        .join(device_events, device_events.c.device_id == Device.id)
        .outerjoin(uploads, uploads.c.device_id == Device.id)
        .where(device_events.c.event_id == event_id, Device.revoked_at.is_(None))
        .order_by(Device.name, Device.id))
    for name, seen, last_upload, n in rows:
        contact = max((t for t in (seen, last_upload) if t is not None), default=None)
        figures.devices.append(DeviceContact(
            name, contact, last_upload, int(n or 0),
            silent=contact is None or now - contact > SILENT_AFTER))


def live_json(figures: LiveFigures) -> dict[str, Any]:
    return {
        "as_of": iso(figures.as_of), "entries": figures.entries, "exits": figures.exits,
        "inside": figures.inside,
        "minutes": [iso(m) for m in figures.minutes],
        "entries_per_minute": [{"door": d, "counts": figures.per_minute[d]}
                               for d in figures.doors],
        "refused": [{"verdict": c, "reason": w, "count": n} for c, w, n in figures.refused],
        "double_entries": {"count": figures.double_entry_count, "latest": [
            {"ticket_number": x.ticket_number, "door": x.door, "scanned_at": iso(x.scanned_at),
             "first_door": x.first_door, "first_scanned_at": iso(x.first_scanned_at)}
            for x in figures.double_entries]},
        "devices": [{"name": d.name, "last_contact": iso(d.last_contact),
                     "last_upload": iso(d.last_upload), "scans": d.scans, "silent": d.silent}
                    for d in figures.devices],
    }
