"""Issue ticket instances (the ONE place that creates them and signs their tokens) and transfer.

``issue_ticket_instance`` signs ``TicketClaims(event.id, instance.id, active key version)`` with
the event key derived from the master secret and stores the 32-character token. On PostgreSQL it
takes the id from the table's sequence first, in the statement that checks the random ticket
number is unused, so the row is inserted once, token included (two statements and one flush less
per ticket than check, insert, update); elsewhere it inserts,
flushes to learn the id, then sets the token. Valid days: a day ticket's day, every day for a
whole-event ticket, the bundle's days for a bundle.
"""

from __future__ import annotations

import logging
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.ticket_token import TicketClaims, sign
from sync_server.db import utcnow
from sync_server.events.models import Bundle, Event, EventDay, TicketType
from sync_server.keys.models import EventKeyVersion
from sync_server.keys.services import active_key_number, event_key, revoke_ticket
from sync_server.orders.models import Order
from sync_server.tickets.models import TicketInstance, TicketStatus

logger = logging.getLogger(__name__)

# Ticket numbers are read aloud and typed: no 0/O/1/I/L.
_NUMBER_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_ticket_number() -> str:
    chars = "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def _valid_days(
    event: Event, ticket_type: TicketType | None, bundle: Bundle | None
) -> list[EventDay]:
    if bundle is not None:
        return list(bundle.days)
    assert ticket_type is not None
    if ticket_type.event_day_id is not None:
        return [day for day in event.days if day.id == ticket_type.event_day_id]
    return list(event.days)


def _unused_ticket_number(session: Session) -> str:
    while True:
        number = new_ticket_number()
        taken = session.scalar(
            sa.select(sa.func.count()).select_from(TicketInstance)
            .where(TicketInstance.ticket_number == number)
        )
        if not taken:
            return number


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
) -> TicketInstance:
    """Create one ticket instance for ``order`` and sign its token. Flushes, never commits."""
    if (ticket_type is None) == (bundle is None):
        raise ValueError("give exactly one of ticket_type and bundle")
    owner = ticket_type or bundle
    assert owner is not None
    if owner.event_id != event.id or order.event_id != event.id:
        raise ValueError("order, ticket type/bundle and event must belong together")
    postgres = session.get_bind().dialect.name == "postgresql"
    new_id: int | None = None
    key: int | None = None
    if postgres:
        new_id, number, key = _next_id_number_and_key(session, event.id)
    else:
        number = _unused_ticket_number(session)
    key_version = key if key is not None else active_key_number(session, event.id)
    instance = TicketInstance(
        id=new_id,
        event_id=event.id,
        order_id=order.id,
        ticket_type_id=ticket_type.id if ticket_type is not None else None,
        bundle_id=bundle.id if bundle is not None else None,
        ticket_number=number,
        holder_name=holder_name,
        holder_email=holder_email.strip().lower(),
        status=TicketStatus.VALID,
        key_version=key_version,
        original_owner_id=order.user_id,
        current_owner_id=order.user_id,
        valid_days=_valid_days(event, ticket_type, bundle),
    )
    if not postgres:
        session.add(instance)
        session.flush()  # learn the id
    claims = TicketClaims(event_id=event.id, ticket_id=instance.id, key_version=key_version)
    instance.token = sign(claims, event_key(master_secret, event.id, key_version))
    session.add(instance)
    session.flush()
    return instance


def _next_id_number_and_key(session: Session, event_id: int) -> tuple[int, str, int | None]:
    """The next ``ticket_instances.id`` from its sequence, an unused ticket number and the
    event's active key version (None: the event has none yet), in one statement (PostgreSQL).
    A number already taken costs one sequence value and a retry."""
    active = (
        sa.select(sa.func.max(EventKeyVersion.version))
        .where(EventKeyVersion.event_id == event_id, EventKeyVersion.retired_at.is_(None))
        .scalar_subquery()
    )
    while True:
        number = new_ticket_number()
        new_id, taken, key = session.execute(sa.select(
            sa.func.nextval(sa.func.pg_get_serial_sequence("ticket_instances", "id")),
            sa.exists().where(TicketInstance.ticket_number == number),
            active,
        )).one()
        if not taken:
            return int(new_id), number, None if key is None else int(key)


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
        master_secret=master_secret,
    )
    new.original_owner_id = instance.original_owner_id
    new.current_owner_id = new_owner_id
    new.valid_days = list(instance.valid_days)
    instance.status = TicketStatus.TRANSFERRED
    instance.transferred_at = utcnow()
    instance.transferred_to_id = new.id
    revoke_ticket(session, event_id=event.id, ticket_instance_id=instance.id,
                  reason="transferred", user_id=by_user_id)
    session.flush()
    return new
