"""A buyer's own tickets: which are theirs, and giving one to someone else. The rules the JSON
routes (``buyer_api``) and the buyer's pages share, in one place."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from sync_server.accounts.models import User
from sync_server.accounts.services import find_user_by_email
from sync_server.audit.services import record
from sync_server.errors import ApiError, Code
from sync_server.events.models import Event, EventStatus
from sync_server.orders.models import Order
from sync_server.tickets.models import TicketInstance, TicketStatus
from sync_server.tickets.services import transfer_ticket_instance


def mine(user: User) -> sa.ColumnElement[bool]:
    """Tickets that are the user's: its ``current_owner_id`` is theirs, or it was issued to their
    VERIFIED e-mail address with no owner account (a comp, or a transfer to someone who had no
    account yet)."""
    owned = TicketInstance.current_owner_id == user.id
    if not user.email_verified:
        return owned  # anyone can sign up with an address: only a verified one claims by e-mail
    return sa.or_(owned, sa.and_(TicketInstance.current_owner_id.is_(None),
                                 TicketInstance.holder_email == user.email))


def transfer_my_ticket(
    session: Session, user: User, ticket: TicketInstance, *, to_name: str, to_email: str,
    master_secret: bytes,
) -> TicketInstance:
    """Give ``ticket`` (already known to be the user's) to ``to_email``; returns the new ticket.

    Refused with words: the event does not allow transfers or is cancelled (409), the ticket is
    not VALID (409), the address is the user's own (422 on ``to_email``), or the event has
    started (409 ``transfer_closed``). The caller commits; mail follows the commit."""
    event = session.get(Event, ticket.event_id)
    order = session.get(Order, ticket.order_id)
    assert event is not None and order is not None
    if not event.allow_transfers:
        raise ApiError(409, Code.INVALID_STATE, "this event does not allow transfers")
    if event.status is EventStatus.CANCELLED:
        raise ApiError(409, Code.INVALID_STATE, "this event is cancelled")
    if ticket.status is not TicketStatus.VALID:
        raise ApiError(409, Code.INVALID_STATE,
                       f"a {ticket.status.value} ticket cannot be transferred")
    if to_email == user.email:
        raise ApiError(422, Code.VALIDATION_FAILED, "that is you",
                       fields={"to_email": ["give another person's address"]})
    receiver = find_user_by_email(session, to_email)
    new = transfer_ticket_instance(
        session, ticket, event=event, order=order, holder_name=to_name,
        holder_email=to_email, new_owner_id=receiver.id if receiver else None,
        by_user_id=user.id, master_secret=master_secret,
    )
    record(session, action="ticket.transfer", entity_type="ticket", entity_id=ticket.id,
           user=user, event_id=event.id, details={"to_ticket": new.id})
    return new
