"""Scan upload: store each scan exactly once, apply admissions in scan-time order, flag conflicts.

Rules (``docs/door-sync-server.md``):

- A scan naming an event the device does not serve is refused (``event_not_served``), not stored.
- A scan whose texts hold control characters (``p.RefusedScan``) is refused on its own
  (``control_characters``), not stored; the batch's other scans are.
- Dedupe is the unique index on ``door_scans.scan_id``: one ``INSERT ... ON CONFLICT DO NOTHING
  RETURNING`` per batch says which scans are new (``accepted``) and which were stored before
  (``duplicate``). No read-then-write, so two concurrent re-sends cannot both insert.
- Every new scan that names an event also goes into the seed's ``scans`` log.
- Admissions (``admit``/``admit_uncached`` entries of a ticket of that event) are re-evaluated
  per touched ticket, under the ticket's row lock: the earliest by ``scanned_at`` (ties: scan id)
  wins and sets the ticket SCANNED with its time and door; on a single-entry event every other
  admission is flagged as lost to that winner. A late upload of an earlier scan therefore takes
  over: the former winner is flagged, and scans that had lost to it now point at the new winner.
  Each flag set or moved gets a change number, so every door of the event hears of it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared import protocol as p
from shared.vocabulary import ADMITTING_VERDICTS, COUNTED_VERDICTS
from sync_server.devices.models import Device
from sync_server.door.changes import ids_in, next_change
from sync_server.door.data import conflicts
from sync_server.door.models import DoorEventSettings, DoorScan, table_of
from sync_server.door.unnest import insert_rows, update_rows
from sync_server.errors import Code
from sync_server.events.models import EventDay
from sync_server.scanning.models import Scan, ScanType
from sync_server.tickets.models import TicketInstance, TicketStatus

logger = logging.getLogger(__name__)

# A scan time outside these bounds is refused (``scan_time_out_of_range``), never stored: a
# stolen door's forged early admissions would otherwise win as the "earliest" and refuse the
# real holders. Doors open early and events run late: 12 hours either side of the event's days.
EVENT_MARGIN = timedelta(hours=12)
# A door's clock may be this far off the server's, either way: scans dated before its pairing
# or after the server's now by more than this are refused (SCAN_TIME_OUT_OF_RANGE, per scan).
CLOCK_SKEW = timedelta(minutes=10)
SCAN_LOG_PAYLOAD_CHARS = 256  # scans.raw_payload; door_scans keeps the whole payload
_IN_LIMIT = 900
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class _Admission:
    id: int
    ticket_id: int
    event_id: int
    scanned_at: datetime
    scan_id: str
    device_id: int | None
    door: str
    manual: bool
    reason: str | None
    lost_to_id: int | None


def _chunks(items: Sequence[_T]) -> list[Sequence[_T]]:
    return [items[i : i + _IN_LIMIT] for i in range(0, len(items), _IN_LIMIT)]


def _tickets_of_events(session: Session, scans: Sequence[p.ScanRecord]) -> dict[int, int]:
    """ticket id -> its event id, for the tickets the scans name."""
    ids = sorted({s.ticket_id for s in scans if s.ticket_id is not None and s.event_id})
    found: dict[int, int] = {}
    ti = table_of(TicketInstance)
    for chunk in _chunks(ids):
        found.update((int(t), int(e)) for t, e in session.execute(
            sa.select(ti.c.id, ti.c.event_id).where(ids_in(session, ti.c.id, chunk))))
    return found


def _event_day(days: Sequence[EventDay], at: datetime) -> int | None:
    for day in days:
        if day.starts_at - timedelta(hours=12) <= at <= day.ends_at + timedelta(hours=6):
            return day.id
    return None


def _store(session: Session, device: Device, scans: Sequence[p.ScanRecord],
           now: datetime) -> tuple[dict[str, int], set[int]]:
    """Insert the new scans. Answers scan_id -> door_scans.id for the ones stored now, and the
    tickets those new scans admitted."""
    if not scans:
        return {}, set()
    tickets = _tickets_of_events(session, scans)
    rows: list[dict[str, Any]] = []
    for s in scans:
        ticket = s.ticket_id if s.ticket_id is not None and tickets.get(s.ticket_id) == s.event_id \
            else None
        rows.append({
            "scan_id": s.scan_id, "device_id": device.id, "event_id": s.event_id,
            "ticket_id": s.ticket_id, "ticket_instance_id": ticket, "scanned_at": s.scanned_at,
            "received_at": now, "door": s.door, "direction": s.direction,
            "verdict": s.verdict, "scan_type": ScanType(s.scan_type.value),
            "payload": s.payload, "manual_reason": s.manual_reason,
            "admission": ticket is not None and s.verdict in ADMITTING_VERDICTS
            and s.direction is p.Direction.ENTRY,
            "lost_to_id": None, "change_no": 0,
        })
    table = table_of(DoorScan)
    # one statement (see unnest.py); RETURNING names only the rows inserted now
    inserted = insert_rows(session, table, rows, conflict=[table.c.scan_id],
                           returning=[table.c.scan_id, table.c.id])
    stored = {str(s): int(i) for s, i in inserted}

    days_by_event: dict[int, list[EventDay]] = defaultdict(list)
    event_ids = {r["event_id"] for r in rows if r["scan_id"] in stored and r["event_id"]}
    if event_ids:
        for day in session.scalars(sa.select(EventDay).where(EventDay.event_id.in_(event_ids))):
            days_by_event[day.event_id].append(day)
    log = [{
        "ticket_instance_id": r["ticket_instance_id"], "event_id": r["event_id"],
        "event_day_id": _event_day(days_by_event[r["event_id"]], r["scanned_at"]),
        "device_id": device.id, "client_scan_id": r["scan_id"], "scan_type": r["scan_type"],
        "manual_reason": r["manual_reason"], "device_info": None, "location": r["door"] or None,
        "valid": r["verdict"] in COUNTED_VERDICTS,
        "result_code": r["verdict"], "error_message": None,
        "raw_payload": r["payload"][:SCAN_LOG_PAYLOAD_CHARS], "scanned_at": r["scanned_at"],
        "received_at": now, "scanned_by_user_id": None,
    } for r in rows if r["scan_id"] in stored and r["event_id"] is not None]
    if log:
        scans_table = table_of(Scan)
        insert_rows(session, scans_table, log,
                    conflict=[scans_table.c.device_id, scans_table.c.client_scan_id])
    admitted = {r["ticket_instance_id"] for r in rows
                if r["admission"] and r["scan_id"] in stored}
    return stored, admitted


def _admissions(session: Session, ticket_ids: Sequence[int]) -> dict[int, list[_Admission]]:
    by_ticket: dict[int, list[_Admission]] = defaultdict(list)
    ds = table_of(DoorScan)
    for chunk in _chunks(ticket_ids):
        rows = session.execute(
            sa.select(ds.c.id, ds.c.ticket_instance_id, ds.c.event_id, ds.c.scanned_at,
                      ds.c.scan_id, ds.c.device_id, ds.c.door, ds.c.scan_type,
                      ds.c.manual_reason, ds.c.lost_to_id)
            .where(ids_in(session, ds.c.ticket_instance_id, chunk), ds.c.admission)
        )
        for r in rows:
            by_ticket[int(r[1])].append(_Admission(
                id=r[0], ticket_id=r[1], event_id=r[2], scanned_at=r[3], scan_id=r[4],
                device_id=r[5], door=r[6], manual=r[7] == ScanType.MANUAL_LOOKUP,
                reason=r[8], lost_to_id=r[9]))
    for items in by_ticket.values():
        items.sort(key=lambda a: (a.scanned_at, a.scan_id))
    return by_ticket


def _reentry_events(session: Session, event_ids: set[int]) -> set[int]:
    if not event_ids:
        return set()
    return set(session.scalars(sa.select(DoorEventSettings.event_id).where(
        DoorEventSettings.event_id.in_(event_ids), DoorEventSettings.reentry_allowed)))


def _conflict(loser: _Admission, winner: _Admission) -> p.Conflict:
    return p.Conflict(scan_id=loser.scan_id, ticket_id=loser.ticket_id,
                      scanned_at=loser.scanned_at, door=loser.door,
                      winning_scan_id=winner.scan_id, winning_scanned_at=winner.scanned_at,
                      winning_door=winner.door)


_State = tuple[TicketStatus, datetime | None, int | None, str | None, int | None]


def _lock_with_successors(session: Session, ticket_ids: set[int]) -> dict[int, _State]:
    """Lock the tickets and every ticket they were transferred to, in id order (so concurrent
    uploads queue and never deadlock). FOR NO KEY UPDATE (key_share): it does not conflict with
    the KEY SHARE locks that the foreign keys of other uploads' freshly inserted scans hold on
    these tickets (FOR UPDATE would: deadlock). Successors are read before locking; one created
    in between (a transfer racing this upload) is locked in a second round."""
    ti = table_of(TicketInstance)
    wanted = set(ticket_ids)
    frontier = sorted(wanted)
    while frontier:  # the transfer chains, unlocked
        found: set[int] = set()
        for chunk in _chunks(frontier):
            found.update(int(t) for t in session.scalars(
                sa.select(ti.c.transferred_to_id).where(ids_in(session, ti.c.id, chunk),
                                                        ti.c.transferred_to_id.is_not(None))))
        frontier = sorted(found - wanted)
        wanted |= found
    state: dict[int, _State] = {}
    while missing := sorted(wanted - set(state)):
        for chunk in _chunks(missing):
            for ticket_id, status, scanned_at, device_id, door, successor in session.execute(
                    sa.select(ti.c.id, ti.c.status, ti.c.scanned_at, ti.c.scanned_by_device_id,
                              ti.c.scan_location, ti.c.transferred_to_id)
                    .where(ids_in(session, ti.c.id, chunk))
                    .order_by(ti.c.id).with_for_update(key_share=True)):
                state[ticket_id] = (status, scanned_at, device_id, door, successor)
                if successor is not None:
                    wanted.add(successor)
    return state


def _holder_ticket(ticket_id: int, state: dict[int, _State]) -> int | None:
    """The ticket an admission of ``ticket_id`` counts against: the ticket itself, or the one
    it was transferred to (followed to the end of the chain). None when that one is cancelled:
    the scans are kept, the state is not revived."""
    status, *_, successor = state[ticket_id]
    while status is TicketStatus.TRANSFERRED and successor is not None:
        ticket_id = successor
        status, *_, successor = state[ticket_id]
    return ticket_id if status in (TicketStatus.VALID, TicketStatus.SCANNED) else None


def apply_admissions(session: Session, ticket_ids: set[int],
                      now: datetime) -> dict[str, p.Conflict]:
    """Re-evaluate the winner of each ticket (row-locked) and flag every later admission.

    Answers the conflicts of every admission of those tickets, by scan id.
    """
    if not ticket_ids:
        return {}
    state = _lock_with_successors(session, ticket_ids)
    ordered = sorted(ticket_ids)
    by_ticket = _admissions(session, ordered)
    reentry = _reentry_events(session, {a[0].event_id for a in by_ticket.values() if a})
    moves: dict[tuple[int, int | None], list[int]] = defaultdict(list)
    flagged: dict[str, p.Conflict] = {}
    winners: list[dict[str, Any]] = []  # the ticket takes the winner's time, device and door
    scanned: list[dict[str, Any]] = []  # VALID -> SCANNED, an earlier check-in is kept
    touched: dict[int, list[int]] = defaultdict(list)
    best: dict[int, _Admission] = {}  # the ticket that counts as used -> its earliest admission
    for ticket_id, items in by_ticket.items():
        winner = items[0]
        for item in items:
            want = None if item is winner or winner.event_id in reentry else winner.id
            if want is not None:
                flagged[item.scan_id] = _conflict(item, winner)
            if item.lost_to_id != want:
                moves[(item.event_id, want)].append(item.id)
        target = _holder_ticket(ticket_id, state)
        if target is not None and (target not in best or (winner.scanned_at, winner.scan_id)
                                   < (best[target].scanned_at, best[target].scan_id)):
            best[target] = winner
    for ticket_id, winner in best.items():
        status, scanned_at, device_id, door, _ = state[ticket_id]
        location = winner.door[:100] or None
        if scanned_at is None or winner.scanned_at < scanned_at or (
                winner.scanned_at == scanned_at and (device_id, door) != (winner.device_id,
                                                                          location)):
            winners.append({
                "id": ticket_id, "status": TicketStatus.SCANNED, "scanned_at": winner.scanned_at,
                "scanned_by_device_id": winner.device_id, "scanned_by_user_id": None,
                "scan_location": location, "manual_checkin": winner.manual,
                "manual_checkin_reason": winner.reason if winner.manual else None,
                "updated_at": now,
            })
        elif status is TicketStatus.VALID:
            scanned.append({"id": ticket_id, "status": TicketStatus.SCANNED, "updated_at": now})
        else:
            continue
        touched[winner.event_id].append(ticket_id)
    # Number the changes now, in the writes themselves (one UPDATE per kind instead of a write
    # and a re-stamp at commit). The counters are the last locks taken, tickets first, events
    # in id order, held until the commit: the same rule as sync_server.door.changes.
    numbers = {e: next_change(session, e) for e in sorted({e for e, _ in moves} | set(touched))}
    ds = table_of(DoorScan)
    for (event_id, want), ids in moves.items():
        for chunk in _chunks(ids):
            session.execute(ds.update().where(ids_in(session, ds.c.id, chunk))
                            .values(lost_to_id=want, change_no=numbers[event_id]))
    event_of = {t: e for e, ids in touched.items() for t in ids}
    for row in (*winners, *scanned):
        row["door_change"] = numbers[event_of[row["id"]]]
    ti = table_of(TicketInstance)
    update_rows(session, ti, "id", winners)  # one statement each (unnest.py)
    update_rows(session, ti, "id", scanned)
    _expire(session, list(event_of))
    return flagged


def _expire(session: Session, ticket_ids: Sequence[int]) -> None:
    """Tickets loaded in this session were changed behind the ORM's back: reload on next use."""
    for ticket_id in ticket_ids:
        obj = session.identity_map.get(session.identity_key(TicketInstance, ticket_id))
        if obj is not None:
            session.expire(obj)


def _windows(device: Device) -> dict[int, tuple[datetime, datetime]]:
    """event id -> the scan times the device may upload for it: the event's days (or its own
    start and end) with :data:`EVENT_MARGIN`, and never before the device was paired."""
    paired = device.paired_at - CLOCK_SKEW
    windows = {}
    for event in device.events:
        starts = [d.starts_at for d in event.days] or [event.starts_at]
        ends = [d.ends_at for d in event.days] or [event.ends_at or event.starts_at]
        windows[event.id] = (max(min(starts) - EVENT_MARGIN, paired), max(ends) + EVENT_MARGIN)
    return windows


def latest_scan_time(now: datetime) -> datetime:
    """The latest scan time a door may upload: the server's clock plus :data:`CLOCK_SKEW`."""
    return now + CLOCK_SKEW


def _refusal(scan: p.ScanRecord | p.RefusedScan,
             served: dict[int, tuple[datetime, datetime]], paired: datetime,
             latest: datetime) -> str | None:
    """Why the scan is refused, or None. ``latest``: the server's clock plus
    :data:`CLOCK_SKEW`; a scan dated after it has not happened yet (issue #13: a stolen or
    mis-set door cannot plant admissions dated later tonight)."""
    if isinstance(scan, p.RefusedScan):  # its texts hold control characters
        logger.warning("scan %s refused, control characters in %s", scan.scan_id,
                       ", ".join(scan.fields))
        return Code.CONTROL_CHARACTERS
    if scan.event_id is not None and scan.event_id not in served:
        return Code.EVENT_NOT_SERVED
    low, high = served[scan.event_id] if scan.event_id is not None else (paired, scan.scanned_at)
    if not low <= scan.scanned_at <= min(high, latest):
        return Code.SCAN_TIME_OUT_OF_RANGE
    return None


def upload(session: Session, device: Device, batch: p.ScanBatch,
           now: datetime) -> list[p.ScanResult]:
    """Apply one batch from ``device``; one result per scan, in the order sent. Flushes."""
    served = _windows(device)
    paired = device.paired_at - CLOCK_SKEW
    refused = {s.scan_id: why for s in batch.scans
               if (why := _refusal(s, served, paired, latest_scan_time(now))) is not None}
    if refused:
        logger.warning("device %s: %d scans refused (%s)", device.id, len(refused),
                       ", ".join(sorted(set(refused.values()))))
    fresh: list[p.ScanRecord] = []
    seen: set[str] = set()
    for scan in batch.scans:
        if (isinstance(scan, p.ScanRecord) and scan.scan_id not in refused
                and scan.scan_id not in seen):
            seen.add(scan.scan_id)
            fresh.append(scan)
    stored, admitted = _store(session, device, fresh, now)
    flagged = apply_admissions(session, admitted, now)
    # scans stored before (a re-sent batch): their conflicts as they stand now
    earlier = sorted(sid for sid in seen if sid not in stored and sid not in flagged)
    for chunk in _chunks(earlier):
        flagged.update((c.scan_id, c) for c in conflicts(session, scan_ids=chunk))
    results = []
    for scan in batch.scans:
        if scan.scan_id in refused:
            results.append(p.ScanResult(scan.scan_id, p.ScanOutcome.REJECTED,
                                        error=refused[scan.scan_id]))
            continue
        outcome = p.ScanOutcome.ACCEPTED if stored.pop(scan.scan_id, None) is not None \
            else p.ScanOutcome.DUPLICATE
        results.append(p.ScanResult(scan.scan_id, outcome, conflict=flagged.get(scan.scan_id)))
    logger.info("device %s uploaded %d scans (%d new)", device.id, len(batch.scans),
                sum(r.outcome is p.ScanOutcome.ACCEPTED for r in results))
    return results
