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


def _is_entry(verdict: str, direction: Direction) -> bool:
    return verdict in ADMITTING_VERDICTS and direction is Direction.ENTRY


def _is_exit(verdict: str, direction: Direction) -> bool:
    return verdict == VerdictCode.EXIT.value or (
        verdict in COUNTED_VERDICTS and direction is Direction.EXIT)


@dataclass(frozen=True)
class _Group:
    device_id: int | None
    verdict: str
    direction: Direction
    lost: bool
    count: int
    latest_scan: datetime
    last_received: datetime


def live_figures(session: Session, event_id: int, *, now: datetime) -> LiveFigures:
    """All of the event's scans are read once, grouped by (device, verdict, direction, lost):
    a few dozen rows from which every total below is summed; then the last half hour by
    minute (the scans-by-time index) and the latest double entries."""
    figures = LiveFigures(as_of=now)
    groups = [_Group(d, v, Direction(r), bool(lost), int(n), latest, received)
              for d, v, r, lost, n, latest, received in session.execute(
                  sa.select(DoorScan.device_id, DoorScan.verdict, DoorScan.direction,
                            DoorScan.lost_to_id.is_not(None), sa.func.count(),
                            sa.func.max(DoorScan.scanned_at), sa.func.max(DoorScan.received_at))
                  .where(DoorScan.event_id == event_id)
                  .group_by(DoorScan.device_id, DoorScan.verdict, DoorScan.direction,
                            DoorScan.lost_to_id.is_not(None)))]
    figures.entries = sum(g.count for g in groups if _is_entry(g.verdict, g.direction))
    figures.exits = sum(g.count for g in groups if _is_exit(g.verdict, g.direction))
    figures.double_entry_count = sum(g.count for g in groups if g.lost)
    refused: dict[str, int] = {}
    for g in groups:
        if g.verdict not in COUNTED_VERDICTS:
            refused[g.verdict] = refused.get(g.verdict, 0) + g.count
    figures.refused = [(code, REASONS.get(code, code), n)
                       for code, n in sorted(refused.items(), key=lambda x: (-x[1], x[0]))]
    if groups:
        _per_minute(session, figures, event_id, max(g.latest_scan for g in groups))
    if figures.double_entry_count:
        _double_entries(session, figures, event_id)
    _devices(session, figures, event_id, now, groups)
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
    rows = session.execute(
        sa.select(TicketInstance.ticket_number, loser.door, loser.scanned_at, winner.door,
                  winner.scanned_at)
        .join(winner, winner.id == loser.lost_to_id)
        .join(TicketInstance, TicketInstance.id == loser.ticket_instance_id)
        .where(flagged).order_by(loser.scanned_at.desc()).limit(MAX_CONFLICTS))
    figures.double_entries = [DoubleEntry(*row) for row in rows]


def _devices(session: Session, figures: LiveFigures, event_id: int, now: datetime,
             groups: list[_Group]) -> None:
    sent: dict[int, tuple[int, datetime]] = {}
    for g in groups:
        if g.device_id is not None:
            n, last = sent.get(g.device_id, (0, g.last_received))
            sent[g.device_id] = (n + g.count, max(last, g.last_received))
    rows = session.execute(
        sa.select(Device.id, Device.name, Device.last_seen_at)
        .join(device_events, device_events.c.device_id == Device.id)
        .where(device_events.c.event_id == event_id, Device.revoked_at.is_(None))
        .order_by(Device.name, Device.id))
    for device_id, name, seen in rows:
        n, last_upload = sent.get(device_id, (0, None))
        contact = max((t for t in (seen, last_upload) if t is not None), default=None)
        figures.devices.append(DeviceContact(
            name, contact, last_upload, n,
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
