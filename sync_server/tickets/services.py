"""Issue ticket instances (the ONE place that creates them and signs their tokens) and transfer.

A ticket's token signs ``TicketClaims(event.id, instance.id, active key version)`` with the event
key derived from the master secret, so the id comes first. :func:`prepare_tickets` takes the ids
(and those of rows inserted alongside, e.g. a new order and its items) from
``sync_server.bulk.take_ids`` (usually no statement at all on PostgreSQL), derives the ticket
numbers from the ids (``tickets.numbers``: unique by construction) and reads the active key
version; :func:`signed_ticket` builds the row with its token; the caller inserts them with
``sync_server.bulk.insert_new`` (one statement for every row) and numbers them for the doors.
:func:`issue_ticket_instance` does all of it for one ticket.
Valid days: a day ticket's day, every day for a whole-event ticket, the bundle's days for a
bundle.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.ticket_token import TicketClaims, sign
from sync_server.bulk import build, insert_new, take_ids
from sync_server.db import Base, utcnow
from sync_server.door.changes import touch_tickets
from sync_server.events.models import Bundle, Event, EventDay, TicketType
from sync_server.keys.services import active_key_number, event_key, revoke_ticket
from sync_server.orders.models import Order
from sync_server.tickets.models import TicketInstance, TicketStatus, ticket_instance_days
from sync_server.tickets.numbers import ticket_number

logger = logging.getLogger(__name__)

def valid_days(
    event: Event, ticket_type: TicketType | None, bundle: Bundle | None
) -> list[EventDay]:
    if bundle is not None:
        return list(bundle.days)
    assert ticket_type is not None
    if ticket_type.event_day_id is not None:
        return [day for day in event.days if day.id == ticket_type.event_day_id]
    return list(event.days)


def prepare_tickets(
    session: Session, *, event_id: int, count: int, master_secret: bytes,
    alongside: Mapping[type[Base], int] | None = None, key_version: int | None = None,
) -> tuple[dict[type[Base], list[int]], list[str], int]:
    """Ids for ``count`` tickets (and ``alongside`` rows), their ticket numbers, and the event's
    active key version (``key_version`` if the caller read it already)."""
    ids = take_ids(session, {**(alongside or {}), TicketInstance: count})
    numbers = [ticket_number(ticket_id, master_secret) for ticket_id in ids[TicketInstance]]
    if key_version is None:
        key_version = active_key_number(session, event_id)
    return ids, numbers, key_version


def signed_ticket(
    *, ticket_id: int, number: str, key_version: int, master_secret: bytes, order: Order,
    event: Event, ticket_type: TicketType | None, bundle: Bundle | None, holder_name: str,
    holder_email: str, days: Sequence[EventDay], now: datetime,
    original_owner_id: int | None, current_owner_id: int | None,
) -> TicketInstance:
    """A new VALID ticket instance (not yet inserted) with its signed token."""
    if (ticket_type is None) == (bundle is None):
        raise ValueError("give exactly one of ticket_type and bundle")
    owner = ticket_type or bundle
    assert owner is not None
    if owner.event_id != event.id or order.event_id != event.id:
        raise ValueError("order, ticket type/bundle and event must belong together")
    claims = TicketClaims(event_id=event.id, ticket_id=ticket_id, key_version=key_version)
    return build(
        TicketInstance, id=ticket_id, event_id=event.id, order_id=order.id,
        ticket_type_id=ticket_type.id if ticket_type is not None else None,
        bundle_id=bundle.id if bundle is not None else None,
        ticket_number=number, holder_name=holder_name, holder_email=holder_email.strip().lower(),
        status=TicketStatus.VALID, key_version=key_version,
        token=sign(claims, event_key(master_secret, event.id, key_version)),
        original_owner_id=original_owner_id, current_owner_id=current_owner_id,
        valid_days=list(days), created_at=now, updated_at=now,
    )


def day_links(tickets: Sequence[TicketInstance]) -> dict[sa.Table, list[dict[str, Any]]]:
    """The ``ticket_instance_days`` rows of new tickets, for ``insert_new``."""
    return {ticket_instance_days: [{"ticket_instance_id": t.id, "event_day_id": d.id}
                                   for t in tickets for d in t.valid_days]}


def issue_ticket_instance(
    session: Session,
    *,
    order: Order,
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
    """Create one ticket instance for ``order``, signed and inserted; never commits. Owners
    default to the order's buyer (None: nobody's account), days to those of the ticket type or
    bundle."""
    if (ticket_type is None) == (bundle is None):
        raise ValueError("give exactly one of ticket_type and bundle")
    ids, numbers, key_version = prepare_tickets(session, event_id=event.id, count=1,
                                                master_secret=master_secret)
    ticket = signed_ticket(
        ticket_id=ids[TicketInstance][0], number=numbers[0], key_version=key_version,
        master_secret=master_secret, order=order, event=event, ticket_type=ticket_type,
        bundle=bundle, holder_name=holder_name, holder_email=holder_email,
        days=valid_days(event, ticket_type, bundle) if days is None else days, now=utcnow(),
        original_owner_id=order.user_id if original_owner_id == "buyer" else original_owner_id,
        current_owner_id=order.user_id if owner_id == "buyer" else owner_id,
    )
    insert_new(session, [ticket], day_links([ticket]))  # numbered at commit, any database
    touch_tickets(session, event.id, [ticket.id])
    return ticket


def transfer_ticket_instance(
    session: Session,
    instance: TicketInstance,
    *,
    event: Event,
    order: Order,
    holder_name: str,
    holder_email: str,
    master_secret: bytes,
    new_owner_id: int | None = None,
    by_user_id: int | None = None,
) -> TicketInstance:
    """Issue a NEW instance to the new holder; the old one becomes TRANSFERRED and revoked."""
    if instance.status is not TicketStatus.VALID:
        raise ValueError(f"only a VALID ticket can be transferred (this one is {instance.status})")
    new = issue_ticket_instance(
        session, order=order, event=event, ticket_type=instance.ticket_type,
        bundle=instance.bundle, holder_name=holder_name, holder_email=holder_email,
        master_secret=master_secret, original_owner_id=instance.original_owner_id,
        owner_id=new_owner_id, days=list(instance.valid_days),
    )
    instance.status = TicketStatus.TRANSFERRED
    instance.transferred_at = utcnow()
    instance.transferred_to_id = new.id
    revoke_ticket(session, event_id=event.id, ticket_instance_id=instance.id,
                  reason="transferred", user_id=by_user_id)
    session.flush()
    return new
