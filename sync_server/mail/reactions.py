"""The mail domain's reactions: a completed order or a transferred ticket queues its e-mail in
the sender's transaction (so it is durable with the sale), and is sent once that commits."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import has_request_context
from sqlalchemy.orm import Session, SessionTransaction

from sync_server.mail.after_commit import send_queued
from sync_server.mail.models import MailKind, MailStatus, OutboxMessage
from sync_server.orders.models import Order
from sync_server.signals import (
    guest_link_replaced,
    order_completed,
    queue_offer_made,
    ticket_transferred,
)
from sync_server.tickets.models import TicketInstance

logger = logging.getLogger(__name__)

_TO_SEND = "mail_to_send_after_commit"


def queue_after_commit(session: Session, row: OutboxMessage) -> None:
    """Add ``row`` in the caller's transaction; it is sent once that commits (in a request;
    the jobs' ``send-mail`` sends it otherwise), forgotten if it rolls back."""
    session.add(row)
    session.info.setdefault(_TO_SEND, []).append(row)


_queue = queue_after_commit


def queue_order_tickets(order: Order, *, session: Session, now: datetime,
                        **_: Any) -> None:
    """``order_completed`` (and ``guest_link_replaced``): the buyer's tickets e-mail (none for
    an order without an address: a cash buyer who gave none, the box office's offline stock)."""
    if not order.buyer_email:
        return
    _queue(session, OutboxMessage(kind=MailKind.ORDER_TICKETS, order_id=order.id,
                                  to_email=order.buyer_email, status=MailStatus.PENDING,
                                  attempts=0, next_attempt_at=now, created_at=now))


def queue_transferred_ticket(ticket: TicketInstance, *, session: Session, to_email: str,
                             **_: Any) -> None:
    """``ticket_transferred``: the new holder's e-mail with their ticket."""
    _queue(session, OutboxMessage(kind=MailKind.TRANSFERRED_TICKET, order_id=ticket.order_id,
                                  ticket_instance_id=ticket.id, to_email=to_email,
                                  status=MailStatus.PENDING, attempts=0,
                                  next_attempt_at=ticket.created_at))


def queue_offer(entry: Any, *, session: Session, order: Order, **_: Any) -> None:
    """``queue_offer_made``: tell the person a ticket is reserved for them."""
    _queue(session, OutboxMessage(kind=MailKind.QUEUE_OFFER, order_id=order.id,
                                  to_email=order.buyer_email, status=MailStatus.PENDING,
                                  attempts=0, next_attempt_at=order.created_at))


def _send_after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released (SQLAlchemy says
        return  # "after_commit" for it too): nothing is committed yet; the outer commit sends
    rows: Sequence[OutboxMessage] = session.info.pop(_TO_SEND, ())
    if rows and has_request_context():  # else `sync-server send-mail` sends them
        send_queued([row.id for row in rows])


def _forget(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is None:  # the whole transaction was rolled back: nothing was queued
        session.info.pop(_TO_SEND, None)


def connect() -> None:
    """Connect the receivers and the after-commit send (idempotent)."""
    order_completed.connect(queue_order_tickets)
    guest_link_replaced.connect(queue_order_tickets)  # the same e-mail, with the new link
    ticket_transferred.connect(queue_transferred_ticket)
    queue_offer_made.connect(queue_offer)
    for name, listener in (("after_commit", _send_after_commit),
                           ("after_soft_rollback", _forget)):
        if not sa.event.contains(Session, name, listener):
            sa.event.listen(Session, name, listener)
