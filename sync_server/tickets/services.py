"""Issue ticket instances (the ONE place that creates them and signs their tokens) and transfer.

A ticket's token signs ``TicketClaims(event.id, instance.id, active key version)`` with the event
key derived from the master secret, so the id comes first: :func:`new_ticket_ids` takes it from
the table's sequence (PostgreSQL) or as ``max(id) + 1`` under SQLite's single write lock. Ticket
numbers are derived from the ids (``tickets.numbers``: unique by construction). The rows go
through the ORM session; the door domain numbers them for the doors at commit
(``door.changes``), as it numbers every ticket write.
Valid days: a day ticket's day, every day for a whole-event ticket, the bundle's days for a
bundle.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.ticket_token import TicketClaims, sign
from sync_server.db import utcnow
from sync_server.errors import ApiError, Code
from sync_server.events.models import Bundle, Event, EventDay, TicketType
from sync_server.keys.services import active_key_number, event_key, revoke_ticket
from sync_server.signals import ticket_transferred
from sync_server.tickets.models import TicketInstance, TicketStatus
from sync_server.tickets.numbers import ticket_number

logger = logging.getLogger(__name__)

# What a ticket is of: exactly one of a ticket type and a bundle.
Unit = tuple[TicketType | None, Bundle | None]


class OrderRef(Protocol):
    """The order a ticket belongs to (orders build on tickets, so tickets name no Order)."""

    @property
    def id(self) -> int: ...
    @property
    def event_id(self) -> int: ...
    @property
    def user_id(self) -> int | None: ...


def valid_days(
    event: Event, ticket_type: TicketType | None, bundle: Bundle | None
) -> list[EventDay]:
    if bundle is not None:
        return list(bundle.days)
    assert ticket_type is not None
    if ticket_type.event_day_id is not None:
        return [day for day in event.days if day.id == ticket_type.event_day_id]
    return list(event.days)


def new_ticket_ids(session: Session, count: int) -> list[int]:
    """``count`` ids for tickets not inserted yet. PostgreSQL: from the table's sequence, in
    one statement. SQLite: ``max(id) + 1`` once this transaction holds the write lock (one
    writer at a time, so nobody else can take them)."""
    if count <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        sequence = sa.func.pg_get_serial_sequence(TicketInstance.__tablename__, "id")
        return [int(v) for v in session.scalars(
            sa.select(sa.func.nextval(sequence)).select_from(sa.func.generate_series(1, count)))]
    # A write that matches nothing still takes SQLite's write lock for this transaction.
    session.execute(sa.update(TicketInstance).where(sa.false()).values(id=TicketInstance.id))
    top = session.scalar(sa.select(sa.func.coalesce(sa.func.max(TicketInstance.id), 0))) or 0
    return list(range(top + 1, top + 1 + count))


def new_ticket_values(
    session: Session, *, order: OrderRef, event: Event, units: Sequence[Unit],
    holder_name: str, holder_email: str, master_secret: bytes, now: datetime,
    owner_id: int | None, original_owner_id: int | None, key_version: int | None = None,
) -> list[dict[str, Any]]:
    """The columns of ``order``'s new VALID tickets, one per unit: ids taken, numbered and
    signed (the ONE place a ticket's token is signed). :func:`issue_tickets` makes ORM rows of
    them; ``orders.free_sale`` inserts them in one statement."""
    for ticket_type, bundle in units:
        if (ticket_type is None) == (bundle is None):
            raise ValueError("give exactly one of ticket_type and bundle")
        owner = ticket_type or bundle
        assert owner is not None
        if owner.event_id != event.id or order.event_id != event.id:
            raise ValueError("order, ticket type/bundle and event must belong together")
    if key_version is None:
        key_version = active_key_number(session, event.id)
    key = event_key(master_secret, event.id, key_version)
    email = holder_email.strip().lower()
    return [
        {"id": ticket_id, "event_id": event.id, "order_id": order.id,
         "ticket_type_id": ticket_type.id if ticket_type is not None else None,
         "bundle_id": bundle.id if bundle is not None else None,
         "ticket_number": ticket_number(ticket_id, master_secret),
         "holder_name": holder_name, "holder_email": email,
         "status": TicketStatus.VALID, "key_version": key_version,
         "token": sign(TicketClaims(event_id=event.id, ticket_id=ticket_id,
                                    key_version=key_version), key),
         "original_owner_id": original_owner_id, "current_owner_id": owner_id,
         "created_at": now, "updated_at": now}
        for (ticket_type, bundle), ticket_id in zip(units, new_ticket_ids(session, len(units)),
                                                    strict=True)
    ]


def issue_tickets(
    session: Session, *, order: OrderRef, event: Event, units: Sequence[Unit],
    holder_name: str, holder_email: str, master_secret: bytes, now: datetime,
    owner_id: int | None, original_owner_id: int | None,
    days: Sequence[EventDay] | None = None, key_version: int | None = None,
) -> list[TicketInstance]:
    """New VALID ticket instances of ``order``, one per unit, signed and added to the session
    (inserted at the next flush). ``days``: the valid days of every one (default: each unit's
    own); ``key_version``: the event's active signing key version, if the caller read it."""
    values = new_ticket_values(
        session, order=order, event=event, units=units, holder_name=holder_name,
        holder_email=holder_email, master_secret=master_secret, now=now, owner_id=owner_id,
        original_owner_id=original_owner_id, key_version=key_version)
    tickets = [
        TicketInstance(**columns, valid_days=list(
            valid_days(event, ticket_type, bundle) if days is None else days))
        for columns, (ticket_type, bundle) in zip(values, units, strict=True)
    ]
    session.add_all(tickets)
    return tickets


def issue_ticket_instance(
    session: Session,
    *,
    order: OrderRef,
    event: Event,
    ticket_type: TicketType | None = None,
    bundle: Bundle | None = None,
    holder_name: str,
    holder_email: str,
    master_secret: bytes,
    owner_id: int | Literal["buyer"] | None = "buyer",
    original_owner_id: int | Literal["buyer"] | None = "buyer",
    days: Sequence[EventDay] | None = None,
) -> TicketInstance:
    """Create one ticket instance for ``order``, signed and inserted (flushed); never commits.
    Owners default to the order's buyer (None: nobody's account), days to those of the ticket
    type or bundle."""
    [ticket] = issue_tickets(
        session, order=order, event=event, units=[(ticket_type, bundle)],
        holder_name=holder_name, holder_email=holder_email, master_secret=master_secret,
        now=utcnow(), days=days,
        original_owner_id=order.user_id if original_owner_id == "buyer" else original_owner_id,
        owner_id=order.user_id if owner_id == "buyer" else owner_id,
    )
    session.flush()
    return ticket


def first_day_start(event: Event) -> datetime:
    """When the event's doors first let anyone in: its first day's start (or its own start)."""
    return min((day.starts_at for day in event.days), default=event.starts_at)


def transfer_ticket_instance(
    session: Session,
    instance: TicketInstance,
    *,
    event: Event,
    order: OrderRef,
    holder_name: str,
    holder_email: str,
    master_secret: bytes,
    new_owner_id: int | None = None,
    by_user_id: int | None = None,
    now: datetime | None = None,
) -> TicketInstance:
    """Issue a NEW instance to the new holder; the old one becomes TRANSFERRED and revoked.
    Sends ``ticket_transferred`` (the mail domain queues the new holder's e-mail).

    Transfers close when the event's first day starts (409 ``transfer_closed``): from then on
    doors admit, and an admission a door uploads late for the old ticket follows the transfer
    to the new one (``door/scans.py``), which would refuse its holder."""
    now = now or utcnow()  # when the transfer is made
    if now >= first_day_start(event):
        raise ApiError(409, Code.TRANSFER_CLOSED, "transfers closed when the event started")
    # Under the row lock a door upload takes too: an admission applied meanwhile is seen here.
    session.refresh(instance, ["status"], with_for_update={"key_share": True})
    if instance.status is not TicketStatus.VALID:
        raise ValueError(f"only a VALID ticket can be transferred (this one is {instance.status})")
    new = issue_ticket_instance(
        session, order=order, event=event, ticket_type=instance.ticket_type,
        bundle=instance.bundle, holder_name=holder_name, holder_email=holder_email,
        master_secret=master_secret, original_owner_id=instance.original_owner_id,
        owner_id=new_owner_id, days=list(instance.valid_days),
    )
    instance.status = TicketStatus.TRANSFERRED
    instance.transferred_at = now
    instance.transferred_to_id = new.id
    revoke_ticket(session, event_id=event.id, ticket_instance_id=instance.id,
                  reason="transferred", user_id=by_user_id)
    session.flush()
    ticket_transferred.send(new, session=session, to_email=new.holder_email)
    return new
