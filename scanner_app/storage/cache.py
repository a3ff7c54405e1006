"""The server-data cache: store door-data pages, read tickets, events and keys, look tickets up.

Functions take an open ``Session`` inside the caller's transaction. Pages are stored in chunks
so the scan path never waits long for the write lock; replays are harmless (upserts keep the row
with the higher revision).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from scanner_app.storage import journal
from scanner_app.storage import models as m
from scanner_app.storage.search import prefix_upper_bound, query_words, ticket_terms
from scanner_app.storage.vault import Vault, VaultError
from shared import protocol as p

logger = logging.getLogger(__name__)

_SQLITE_VARS = 900  # stay under SQLite's bound-parameter limit in IN (...) lists


def _chunks(items: Sequence[int], size: int = _SQLITE_VARS) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- events and keys -----------------------------------------------------------------------


def store_event(s: Session, event: p.EventSettings) -> None:
    row = s.get(m.Event, event.event_id)
    if row is None:
        row = m.Event(event_id=event.event_id, snapshot_complete=False, revision=0)
        s.add(row)
    row.name = event.name
    row.time_zone = event.time_zone
    row.days_json = json.dumps([d.to_json() for d in event.days])
    row.reentry_allowed = event.reentry_allowed
    row.uncached_policy = event.uncached_policy.value
    row.entry_opens_minutes_before = event.entry_opens_minutes_before
    row.cancelled = event.cancelled


def event_settings(row: m.Event) -> p.EventSettings:
    return p.EventSettings(
        event_id=row.event_id,
        name=row.name,
        time_zone=row.time_zone,
        days=tuple(p.EventDay.from_json(d) for d in json.loads(row.days_json)),
        reentry_allowed=row.reentry_allowed,
        uncached_policy=p.UncachedPolicy(row.uncached_policy),
        entry_opens_minutes_before=row.entry_opens_minutes_before,
        cancelled=row.cancelled,
    )


def store_keys(s: Session, event_id: int, keys: Sequence[p.EventKey], vault: Vault) -> None:
    """Replace the event's keys with ``keys``: a version the server no longer lists is retired."""
    wanted: dict[int, bytes] = {}
    for key in keys:
        try:
            wanted[key.key_version] = base64.b64decode(key.key, validate=True)
        except (binascii.Error, ValueError):
            logger.error("event %s key version %s is not base64; ignored", event_id,
                         key.key_version)
    existing = {
        row.key_version: row
        for row in s.scalars(sa.select(m.EventKey).where(m.EventKey.event_id == event_id))
    }
    for version, row in existing.items():
        if version not in wanted:
            s.delete(row)
    for version, raw in wanted.items():
        current = existing.get(version)
        if current is not None:
            try:
                if vault.open(current.key_encrypted) == raw:
                    continue
            except VaultError:
                pass
            current.key_encrypted = vault.seal(raw)
        else:
            s.add(m.EventKey(event_id=event_id, key_version=version,
                             key_encrypted=vault.seal(raw)))


def load_keys(s: Session, vault: Vault) -> dict[tuple[int, int], bytes]:
    keys: dict[tuple[int, int], bytes] = {}
    for row in s.scalars(sa.select(m.EventKey)):
        try:
            keys[(row.event_id, row.key_version)] = vault.open(row.key_encrypted)
        except VaultError:
            logger.error("key of event %s version %s cannot be opened", row.event_id,
                         row.key_version)
    return keys


def forget_event(s: Session, event_id: int) -> None:
    """Drop everything cached for an event this door no longer serves (the journal stays)."""
    _delete_terms(s, m.Ticket.event_id == event_id)
    s.execute(sa.delete(m.Ticket).where(m.Ticket.event_id == event_id))
    s.execute(sa.delete(m.Revocation).where(m.Revocation.event_id == event_id))
    s.execute(sa.delete(m.EventKey).where(m.EventKey.event_id == event_id))
    s.execute(sa.delete(m.Event).where(m.Event.event_id == event_id))


# --- tickets ---------------------------------------------------------------------------------

def _delete_terms(s: Session, which: sa.ColumnElement[bool]) -> None:
    """Delete the search terms of the tickets ``which`` selects, by key.

    ticket_terms has no index on ticket_id (a download fills ~9 terms a ticket, and a second
    B-tree cost a third of that): a ticket's terms are found again by recomputing them.
    """
    _delete_terms_of(s, s.execute(
        sa.select(m.Ticket.ticket_id, m.Ticket.holder_name, m.Ticket.holder_email,
                  m.Ticket.order_number, m.Ticket.ticket_number).where(which)))


def _delete_terms_of(s: Session, rows: Iterable[Sequence[Any]]) -> None:
    """Delete the terms of the tickets ``rows`` (id, name, e-mail, order, ticket number)."""
    terms = [(term, ticket_id)
             for ticket_id, name, email, order, number in rows
             for term in ticket_terms(name, email, order, number)]
    journal.driver(s).executemany(
        "DELETE FROM ticket_terms WHERE term = ? AND ticket_id = ?", terms
    )


def _dates_text(dates: tuple[date, ...] | None) -> str | None:
    return None if dates is None else ",".join(d.isoformat() for d in dates)


def _dates(text: str | None) -> tuple[date, ...] | None:
    if text is None:
        return None
    return tuple(date.fromisoformat(d) for d in text.split(",") if d)


@dataclass(frozen=True, slots=True)
class PreparedTickets:
    """Tickets as the rows and search terms SQLite stores, computed before any lock is taken.

    Terms are sorted, so their index is filled in order (appended to, not split page by page):
    by term alone, a stable sort, so a term's tickets stay in the page's order (by id, as the
    server sends them); 20 % less than sorting the pairs.
    """

    revisions: dict[int, int]
    rows: list[tuple[object, ...]]
    terms: list[tuple[str, int]]

    def __len__(self) -> int:
        return len(self.rows)


def prepare_tickets(tickets: Sequence[p.TicketRecord]) -> PreparedTickets:
    return PreparedTickets(
        revisions={t.ticket_id: t.revision for t in tickets},
        rows=[
            (t.ticket_id, t.event_id, t.ticket_number, t.order_number, t.holder_name,
             t.holder_email, t.ticket_type, _dates_text(t.valid_dates), t.status.value,
             t.revision, _sql_time(t.scanned_at), t.scanned_door, _sql_time(t.last_entry_at),
             t.last_entry_door)
            for t in tickets
        ],
        terms=sorted(
            [(term, t.ticket_id)
             for t in tickets
             for term in ticket_terms(t.holder_name, t.holder_email, t.order_number,
                                      t.ticket_number)],
            key=itemgetter(0),
        ),
    )


def store_tickets(s: Session, tickets: Sequence[p.TicketRecord] | PreparedTickets) -> int:
    """Upsert ``tickets``; a row is replaced only by one of the same or a higher revision."""
    prepared = tickets if isinstance(tickets, PreparedTickets) else prepare_tickets(tickets)
    if not prepared.rows:
        return 0
    raw = journal.driver(s)
    ids = json.dumps(list(prepared.revisions))
    current: dict[int, int] = dict(raw.execute(_KNOWN_REVISIONS, (ids,)))
    stale = {i for i, r in prepared.revisions.items() if current.get(i, -1) > r}
    rows = [row for row in prepared.rows if row[0] not in stale]
    if not rows:
        return 0
    replaced = [i for i in current if i not in stale]
    if replaced:  # before the upsert: the old terms come from the old row
        _delete_terms_of(s, raw.execute(_TERM_FIELDS, (json.dumps(replaced),)))
    # Raw executemany: at 100,000 tickets (and ~9 terms each) the ORM's per-row work dominates.
    raw.executemany(_UPSERT_TICKET, rows)
    raw.executemany(
        "INSERT OR IGNORE INTO ticket_terms (term, ticket_id) VALUES (?, ?)",
        prepared.terms if not stale else [t for t in prepared.terms if t[1] not in stale],
    )
    return len(rows)


_TICKET_COLUMNS = ("ticket_id", "event_id", "ticket_number", "order_number", "holder_name",
                   "holder_email", "ticket_type", "valid_dates", "status", "revision",
                   "scanned_at", "scanned_door", "last_entry_at", "last_entry_door")
_UPSERT_TICKET = (
    f"INSERT INTO tickets ({', '.join(_TICKET_COLUMNS)}) "  # noqa: S608 - fixed column names
    f"VALUES ({', '.join('?' * len(_TICKET_COLUMNS))}) ON CONFLICT (ticket_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _TICKET_COLUMNS[1:])
    + " WHERE excluded.revision >= tickets.revision"
)


# The stored revisions of a page's tickets in one statement: the ids go as one JSON array.
# SQLAlchemy's IN lists of 900 cost ~0.5 s of CPU per 100,000 tickets to compile and bind.
_KNOWN_REVISIONS = ("SELECT tickets.ticket_id, tickets.revision FROM json_each(?) AS ids "
                    "JOIN tickets ON tickets.ticket_id = ids.value")

_TERM_FIELDS = ("SELECT tickets.ticket_id, holder_name, holder_email, order_number, "
                "ticket_number FROM json_each(?) AS ids "
                "JOIN tickets ON tickets.ticket_id = ids.value")

_sql_time = journal.sql_time


_SELECT_TICKET = (
    f"SELECT {', '.join(_TICKET_COLUMNS)} FROM tickets WHERE ticket_id = ?"  # noqa: S608
)


def ticket(s: Session, ticket_id: int) -> p.TicketRecord | None:
    """One cached ticket, read with a plain statement (the scan path: no ORM identity map)."""
    row = journal.driver(s).execute(_SELECT_TICKET, (ticket_id,)).fetchone()
    if row is None:
        return None
    (ticket_id, event_id, ticket_number, order_number, holder_name, holder_email, ticket_type,
     valid_dates, status, revision, scanned_at, scanned_door, last_entry_at,
     last_entry_door) = row
    return p.TicketRecord(
        ticket_id=ticket_id, event_id=event_id, ticket_number=ticket_number,
        order_number=order_number, holder_name=holder_name, holder_email=holder_email,
        ticket_type=ticket_type, valid_dates=_dates(valid_dates),
        status=p.TicketStatus(status), revision=revision,
        scanned_at=journal.utc_time(scanned_at), scanned_door=scanned_door,
        last_entry_at=journal.utc_time(last_entry_at), last_entry_door=last_entry_door,
    )


def revocation(s: Session, ticket_id: int) -> m.Revocation | None:
    row = journal.driver(s).execute(
        "SELECT event_id, reason, revoked_at FROM revocations WHERE ticket_id = ?", (ticket_id,)
    ).fetchone()
    if row is None:
        return None
    return m.Revocation(ticket_id=ticket_id, event_id=row[0], reason=row[1],
                        revoked_at=journal.utc_time(row[2]))


def store_revocations(s: Session, event_id: int, items: Sequence[p.Revocation]) -> None:
    if not items:
        return
    rows = [
        {"ticket_id": r.ticket_id, "event_id": event_id, "reason": r.reason.value,
         "revoked_at": r.revoked_at}
        for r in items
    ]
    stmt = sqlite_insert(m.Revocation)
    stmt = stmt.on_conflict_do_update(
        index_elements=[m.Revocation.ticket_id],
        set_={"reason": stmt.excluded.reason, "revoked_at": stmt.excluded.revoked_at},
    )
    s.execute(stmt, rows)


def store_conflicts(s: Session, items: Sequence[p.Conflict]) -> None:
    if not items:
        return
    rows = [
        {"scan_id": c.scan_id, "ticket_id": c.ticket_id, "scanned_at": c.scanned_at,
         "door": c.door, "winning_scan_id": c.winning_scan_id,
         "winning_scanned_at": c.winning_scanned_at, "winning_door": c.winning_door}
        for c in items
    ]
    stmt = sqlite_insert(m.Conflict)
    stmt = stmt.on_conflict_do_update(  # an even earlier scan may have become the winner since
        index_elements=[m.Conflict.scan_id],
        set_={c: stmt.excluded[c]
              for c in ("winning_scan_id", "winning_scanned_at", "winning_door")},
    )
    s.execute(stmt, rows)


# --- lookup ----------------------------------------------------------------------------------


def lookup_ticket_ids(s: Session, text: str, limit: int) -> list[int]:
    """Ticket ids whose terms start with every word of ``text`` (at most ``limit``)."""
    words = query_words(text)
    if not words or limit <= 0:
        return []
    selects = [
        sa.select(m.TicketTerm.ticket_id).where(
            m.TicketTerm.term >= word, m.TicketTerm.term < prefix_upper_bound(word)
        )
        for word in dict.fromkeys(words)
    ]
    query: sa.Select[int] | sa.CompoundSelect[tuple[int]]
    query = selects[0].distinct() if len(selects) == 1 else sa.intersect(*selects)
    return list(s.scalars(query.limit(limit)))


def last_entry_times(s: Session, ticket_ids: Sequence[int]) -> dict[int, datetime]:
    """When each ticket was last admitted at this door (counted entries only)."""
    out: dict[int, datetime] = {}
    for chunk in _chunks(list(ticket_ids)):
        rows = s.execute(
            sa.select(m.Scan.ticket_id, sa.func.max(m.Scan.scanned_at))
            .where(m.Scan.ticket_id.in_(chunk), m.Scan.counted,
                   m.Scan.direction == p.Direction.ENTRY.value)
            .group_by(m.Scan.ticket_id)
        )
        for ticket_id, at in rows:
            if ticket_id is not None and at is not None:
                out[ticket_id] = at  # max() keeps the column type: aware UTC
    return out
