"""Change numbers: every change a door must hear of gets the event's next number at commit.

Why not a sequence or ``updated_at``: a transaction that took number 41 may commit after
another one committed 42, and a door that already read up to 42 would never see 41. Here the
number comes from the event's counter row (``door_event_changes``) through
``INSERT ... ON CONFLICT DO UPDATE SET last_change = last_change + 1 RETURNING`` taken in the
session's ``before_commit`` hook, i.e. as late as possible, and the row stays locked until the
commit. So for one event a transaction can only take number n+1 once the holder of n has
committed: numbers become visible in number order, and a reader that sees the counter at H sees
every row numbered <= H. The lock is held for two short statements and the commit, so writers
of one event queue only for that long (not for their whole transaction).

What is numbered, for every writer that goes through an ORM session (the purchase engine,
transfers, cancels, the scan upload) without it doing anything:

- a ticket instance inserted or changed (``ticket_instances.door_change``);
- a revoked token added (its ticket gets the number, so the revocation rides on it);
- the event, its days, key versions or door settings changed (the counter moves, so the
  heartbeat's ``revision`` moves and doors download again);
- a ticket type or bundle renamed (its tickets are renumbered: the name is in the door data).

This hook is the ONE way anything is numbered. Writers that bypass the ORM unit of work
(``session.execute(update(TicketInstance)...)`` or core inserts) must call
:func:`touch_tickets`, which only tells this hook which rows to number. One transaction takes
one number per event; rows sharing a number are ordered by id in deltas (the cursor keeps both).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, SessionTransaction, UOWTransaction
from sqlalchemy.orm.attributes import set_committed_value

from sync_server.door.models import DoorEventChange, DoorEventSettings, DoorScan, table_of
from sync_server.events.models import Bundle, Event, EventDay, TicketType
from sync_server.keys.models import EventKeyVersion, RevokedToken
from sync_server.signals import tickets_inserted
from sync_server.tickets.models import TicketInstance

logger = logging.getLogger(__name__)

_KEY = "door_sync_pending"
_CHUNK = 900  # ids per IN (...) list: well under SQLite's bound-parameter limit
_EVENT_PARTS = (EventDay, EventKeyVersion, DoorEventSettings)


@dataclass
class _Pending:
    """What the current transaction changed, collected at each flush, numbered at commit."""

    objects: list[Any] = field(default_factory=list)
    tickets: dict[int, set[int]] = field(default_factory=dict)
    scans: dict[int, set[int]] = field(default_factory=dict)
    events: set[int] = field(default_factory=set)
    ticket_types: dict[int, set[int]] = field(default_factory=dict)
    bundles: dict[int, set[int]] = field(default_factory=dict)
    deleted_events: set[int] = field(default_factory=set)  # nothing to number for these
    # tickets numbered because of another row (a revocation): this transaction may not hold
    # their row locks yet, and must take them before the counter's (see _lock_first)
    unlocked: set[int] = field(default_factory=set)

    def empty(self) -> bool:
        return not (self.objects or self.tickets or self.scans or self.events
                    or self.ticket_types or self.bundles)


def _pending(session: Session) -> _Pending:
    pending = session.info.get(_KEY)
    if pending is None:
        pending = session.info[_KEY] = _Pending()
    assert isinstance(pending, _Pending)
    return pending


def touch_tickets(session: Session, event_id: int, ticket_ids: Iterable[int]) -> None:
    """Number these tickets at commit (for writers that bypass the ORM unit of work)."""
    _pending(session).tickets.setdefault(event_id, set()).update(ticket_ids)


def _tickets_inserted(_sender: object, *, session: Session, event_id: int,
                      ticket_ids: Iterable[int], **_: Any) -> None:
    """``signals.tickets_inserted``: a writer inserted tickets past the unit of work."""
    touch_tickets(session, event_id, ticket_ids)


def touch_scans(session: Session, event_id: int, door_scan_ids: Iterable[int]) -> None:
    """Number these door scans at commit (their conflict flag was set or moved)."""
    _pending(session).scans.setdefault(event_id, set()).update(door_scan_ids)


def touch_event(session: Session, event_id: int) -> None:
    """Move the event's revision at commit (its settings or keys changed)."""
    _pending(session).events.add(event_id)


def ids_in(session: Session, column: Any, ids: Iterable[int]) -> Any:
    """``column IN (ids)``; on PostgreSQL ``column = ANY(:array)``: one parameter, so the query
    text stays small and the same whatever the number of ids (cheaper to send and to parse)."""
    values = list(ids)
    if session.connection().dialect.name == "postgresql":
        array = sa.bindparam("ids", values, type_=postgresql.ARRAY(sa.BigInteger), unique=True)
        return column == sa.any_(array)
    return column.in_(values)


def current_revision(session: Session, event_id: int) -> int:
    """The event's last committed change number (0 before any)."""
    value = session.scalar(
        sa.select(DoorEventChange.last_change).where(DoorEventChange.event_id == event_id)
    )
    return int(value or 0)


def revisions(session: Session, event_ids: Sequence[int]) -> dict[int, int]:
    rows = session.execute(
        sa.select(DoorEventChange.event_id, DoorEventChange.last_change)
        .where(DoorEventChange.event_id.in_(list(event_ids)))
    )
    found = {int(e): int(n) for e, n in rows}
    return {e: found.get(e, 0) for e in event_ids}


def next_change(session: Session, event_id: int) -> int:
    """Take the event's next change number; its counter row stays locked until commit."""
    table = table_of(DoorEventChange)
    dialect = session.connection().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(table)
        .values(event_id=event_id, last_change=1)
        .on_conflict_do_update(index_elements=[table.c.event_id],
                               set_={"last_change": table.c.last_change + 1})
        .returning(table.c.last_change)
    )
    return int(session.execute(stmt).scalar_one())


def _renamed(obj: TicketType | Bundle) -> bool:
    state: Any = sa.inspect(obj)
    return bool(state.attrs.name.history.deleted)


def _collect(session: Session, _context: UOWTransaction, _instances: object) -> None:
    found: list[Any] = []
    pending: _Pending | None = None
    for obj in session.new:
        if isinstance(obj, (TicketInstance, RevokedToken, Event, *_EVENT_PARTS)):
            found.append(obj)
    for obj in session.dirty:
        if isinstance(obj, (TicketInstance, Event, *_EVENT_PARTS)):
            if session.is_modified(obj):
                found.append(obj)
        elif isinstance(obj, (TicketType, Bundle)) and _renamed(obj):
            pending = pending or _pending(session)
            into = pending.ticket_types if isinstance(obj, TicketType) else pending.bundles
            into.setdefault(obj.event_id, set()).add(obj.id)
    for obj in session.deleted:
        if isinstance(obj, (RevokedToken, *_EVENT_PARTS)):
            (pending or _pending(session)).events.add(obj.event_id)
        elif isinstance(obj, Event):
            (pending or _pending(session)).deleted_events.add(obj.id)
    if found:
        _pending(session).objects.extend(found)


def _resolve(pending: _Pending) -> None:
    """Turn collected objects (ids known after the flush) into ids per event."""
    changed: set[int] = set()
    for obj in pending.objects:
        state = sa.inspect(obj)
        if not state.persistent:  # rolled back with a savepoint, or deleted: nothing to number
            continue
        if isinstance(obj, TicketInstance):
            pending.tickets.setdefault(obj.event_id, set()).add(obj.id)
            changed.add(obj.id)
        elif isinstance(obj, RevokedToken):
            pending.tickets.setdefault(obj.event_id, set()).add(obj.ticket_instance_id)
            pending.unlocked.add(obj.ticket_instance_id)
        elif isinstance(obj, Event):
            pending.events.add(obj.id)
        else:
            pending.events.add(obj.event_id)
    pending.objects.clear()
    pending.unlocked -= changed  # the flush's UPDATE already locked those


def _lock_first(session: Session, pending: _Pending) -> None:
    """Lock the ticket rows this commit will number but may not hold yet, BEFORE the counter.

    Every other writer locks ticket rows before it takes the counter at commit; taking one
    after it could wait, counter in hand, for a transaction that waits for the counter.
    """
    tickets = table_of(TicketInstance)
    conditions = [ids_in(session, tickets.c.id, chunk) for chunk in _chunks(pending.unlocked)]
    for column, owners in ((tickets.c.ticket_type_id, pending.ticket_types),
                           (tickets.c.bundle_id, pending.bundles)):
        ids = set().union(*owners.values()) if owners else set()
        conditions += [ids_in(session, column, chunk) for chunk in _chunks(ids)]
    for condition in conditions:
        session.execute(sa.select(tickets.c.id).where(condition).order_by(tickets.c.id)
                        .with_for_update(key_share=True))


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ordered = sorted(ids)
    for i in range(0, len(ordered), _CHUNK):
        yield ordered[i : i + _CHUNK]


# PostgreSQL: take the number and stamp the rows in ONE statement (one round trip while the
# counter row is locked). Numbering does not touch updated_at: nothing else changed.
_STAMP_POSTGRES = sa.text("""
WITH n AS (
    INSERT INTO door_event_changes (event_id, last_change) VALUES (:event_id, 1)
    ON CONFLICT (event_id) DO UPDATE SET last_change = door_event_changes.last_change + 1
    RETURNING last_change
), t AS (
    UPDATE ticket_instances SET door_change = (SELECT last_change FROM n)
    WHERE id = ANY(:tickets)
), s AS (
    UPDATE door_scans SET change_no = (SELECT last_change FROM n) WHERE id = ANY(:scans)
)
SELECT last_change FROM n
""").bindparams(sa.bindparam("tickets", type_=postgresql.ARRAY(sa.BigInteger)),
                sa.bindparam("scans", type_=postgresql.ARRAY(sa.BigInteger)))


def _stamp_postgres(session: Session, event_id: int, ticket_ids: set[int],
                    scan_ids: set[int]) -> int:
    return int(session.execute(_STAMP_POSTGRES, {
        "event_id": event_id, "tickets": sorted(ticket_ids), "scans": sorted(scan_ids),
    }).scalar_one())


def _stamp(session: Session, event_id: int, pending: _Pending, ticket_ids: set[int],
           scan_ids: set[int]) -> int:
    """Any database: take the number, then stamp the rows (a few statements)."""
    tickets = table_of(TicketInstance)
    scans = table_of(DoorScan)
    number = next_change(session, event_id)
    for chunk in _chunks(ticket_ids):
        session.execute(tickets.update().where(ids_in(session, tickets.c.id, chunk))
                        .values(door_change=number, updated_at=tickets.c.updated_at))
    for column, owners in ((tickets.c.ticket_type_id, pending.ticket_types),
                           (tickets.c.bundle_id, pending.bundles)):
        for chunk in _chunks(owners.get(event_id, set())):
            session.execute(tickets.update().where(ids_in(session, column, chunk))
                            .values(door_change=number, updated_at=tickets.c.updated_at))
    for chunk in _chunks(scan_ids):
        session.execute(scans.update().where(ids_in(session, scans.c.id, chunk))
                        .values(change_no=number))
    return number


def _number(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: number once, at the outer commit (locks held for less time)
    if session.new or session.dirty or session.deleted:
        session.flush()  # collect what the commit's own flush would write
    pending: _Pending | None = session.info.pop(_KEY, None)
    if pending is None or pending.empty():
        return
    _resolve(pending)
    events = (set(pending.tickets) | set(pending.scans) | pending.events
              | set(pending.ticket_types) | set(pending.bundles)) - pending.deleted_events
    _lock_first(session, pending)
    postgres = session.connection().dialect.name == "postgresql"
    for event_id in sorted(events):  # always the same lock order: no deadlock between events
        ticket_ids = pending.tickets.get(event_id, set())
        scan_ids = pending.scans.get(event_id, set())
        if postgres and event_id not in pending.ticket_types and event_id not in pending.bundles:
            number = _stamp_postgres(session, event_id, ticket_ids, scan_ids)
        else:
            number = _stamp(session, event_id, pending, ticket_ids, scan_ids)
        for ticket_id in ticket_ids:
            obj = session.identity_map.get(session.identity_key(TicketInstance, ticket_id))
            if obj is not None:
                set_committed_value(obj, "door_change", number)
    logger.debug("numbered changes of events %s", sorted(events))


def _forget(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is None:  # the whole transaction was rolled back
        session.info.pop(_KEY, None)


def _forget_after_commit(session: Session) -> None:
    session.info.pop(_KEY, None)


def install() -> None:
    """Listen on every ORM session (idempotent; done when this module is imported)."""
    hooks: tuple[tuple[str, Any], ...] = (
        ("before_flush", _collect), ("before_commit", _number),
        ("after_soft_rollback", _forget), ("after_commit", _forget_after_commit))
    for name, listener in hooks:
        if not sa.event.contains(Session, name, listener):
            sa.event.listen(Session, name, listener)
    tickets_inserted.connect(_tickets_inserted)


install()
