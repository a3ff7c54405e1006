"""The outbox: queue a message in the caller's transaction; send it after commit; retry.

``enqueue`` adds a row (flush only). ``deliver_due`` (after a commit, from ``sync-server
send-mail``, or from any job) claims each due row with a conditional UPDATE that also pushes its
next attempt a lease ahead (so two senders never send one row at once), commits the claim, renders
and sends outside any transaction, then marks it SENT or schedules a retry with exponential
backoff (1, 2, 4, ... minutes, at most an hour) until ``max_attempts``, then FAILED. A failure is
logged and recorded on the row; it never touches the order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from sync_server.accounts.models import User
from sync_server.db import utcnow
from sync_server.events.models import Event
from sync_server.mail import smtp
from sync_server.mail.account_mail import ACCOUNT_KINDS, account_message
from sync_server.mail.models import MailKind, MailStatus, OutboxMessage
from sync_server.mail.render import offer_message, ticket_message
from sync_server.orders.guest_links import guest_link_path
from sync_server.orders.models import InventoryHold, Order, PaymentStatus
from sync_server.tickets.models import TicketInstance, TicketStatus

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)

# A mail whose words belong to a domain above this one (split payments): that domain registers
# how to render its kinds (it may import mail; mail never imports it). It may raise
# ``NothingToSend`` when the mail no longer makes sense (a share paid before its link went).
Renderer = Callable[[Session, OutboxMessage, "smtp.SmtpSettings"], EmailMessage]
_RENDERERS: dict[MailKind, Renderer] = {}


def register_renderer(kind: MailKind, renderer: Renderer) -> None:
    _RENDERERS[kind] = renderer


def enqueue(session: Session, *, kind: MailKind, order: Order, to_email: str,
            ticket_instance_id: int | None = None, now: datetime | None = None) -> OutboxMessage:
    """Add an outbox row in the caller's transaction (flushed: its ``id`` is known). A completed
    order's or a transfer's row is queued by ``mail.reactions`` instead."""
    row = OutboxMessage(kind=kind, order_id=order.id, ticket_instance_id=ticket_instance_id,
                        to_email=to_email, status=MailStatus.PENDING, attempts=0,
                        next_attempt_at=now or utcnow())
    session.add(row)
    session.flush()
    return row


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after ``attempts`` failed ones (1 -> 1 min, 2 -> 2 min ...)."""
    delay: timedelta = FIRST_RETRY * (2 ** max(attempts - 1, 0))
    return min(delay, LONGEST_RETRY)


@dataclass
class Delivery:
    sent: int = 0
    failed: int = 0  # attempts that failed (the row is retried later or given up)


class NothingToSend(Exception):
    pass


def _buyer_email(session: Session, order_id: int | None) -> str:
    order = session.get(Order, order_id)
    assert order is not None
    return order.buyer_email


def _tickets(session: Session, row: OutboxMessage) -> list[TicketInstance]:
    query = sa.select(TicketInstance).where(TicketInstance.status == TicketStatus.VALID)
    if row.kind is MailKind.TRANSFERRED_TICKET:
        query = query.where(TicketInstance.id == row.ticket_instance_id)
    else:  # the order's tickets still held by the buyer (not those given away)
        query = query.where(TicketInstance.order_id == row.order_id,
                            TicketInstance.holder_email == _buyer_email(session, row.order_id))
    return list(session.scalars(query.order_by(TicketInstance.id)))


def _render(session: Session, row: OutboxMessage, settings: smtp.SmtpSettings) -> EmailMessage:
    if row.kind in _RENDERERS:
        return _RENDERERS[row.kind](session, row, settings)
    if row.kind in ACCOUNT_KINDS:
        user = session.get(User, row.user_id)
        if user is None:
            raise NothingToSend("the account is gone")
        return account_message(kind=row.kind, user=user, to=row.to_email,
                               sender=settings.sender, base_url=settings.public_url,
                               secret=settings.link_secret, detail=row.detail)
    order = session.get(Order, row.order_id)
    assert order is not None
    event = session.get(Event, order.event_id)
    assert event is not None
    if row.kind is MailKind.QUEUE_OFFER:
        return _offer(session, row, order, event, settings)
    tickets = _tickets(session, row)
    if not tickets:
        raise NothingToSend("no valid ticket to send")
    intro = ("Here are your tickets." if row.kind is MailKind.ORDER_TICKETS
             else "A ticket was transferred to you.")
    path = guest_link_path(order) if row.kind is MailKind.ORDER_TICKETS else None
    link = settings.public_url.rstrip("/") + path if path and settings.public_url else None
    return ticket_message(sender=settings.sender, to=row.to_email, event=event, order=order,
                          tickets=tickets, intro=intro, order_link=link)


def _offer(session: Session, row: OutboxMessage, order: Order, event: Event,
           settings: smtp.SmtpSettings) -> EmailMessage:
    """A waiting-list offer: only while its order still holds the ticket."""
    until = session.scalar(
        sa.select(sa.func.min(InventoryHold.expires_at))
        .where(InventoryHold.order_id == order.id, InventoryHold.released_at.is_(None)))
    if order.payment_status is not PaymentStatus.PENDING or until is None or until <= utcnow():
        raise NothingToSend("the offer has ended")
    return offer_message(sender=settings.sender, to=row.to_email, event=event, order=order,
                         until=until)


def _claim(factory: sessionmaker[Session], row_id: int, now: datetime) -> bool:
    with factory() as session:
        claimed = session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == row_id, OutboxMessage.status == MailStatus.PENDING,
                   OutboxMessage.next_attempt_at <= now)
            .values(next_attempt_at=now + LEASE, attempts=OutboxMessage.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        return bool(claimed.rowcount)  # type: ignore[attr-defined]


def _finish(factory: sessionmaker[Session], row_id: int, *, error: str | None,
            max_attempts: int, now: datetime, give_up: bool = False) -> None:
    with factory() as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        if error is None:
            row.status, row.sent_at, row.last_error = MailStatus.SENT, now, None
        else:
            row.last_error = error[:500]
            if give_up or row.attempts >= max_attempts:
                row.status = MailStatus.FAILED
            else:
                row.next_attempt_at = now + backoff(row.attempts)
        session.commit()


def deliver_due(
    factory: sessionmaker[Session], settings: smtp.SmtpSettings, *, max_attempts: int = 8,
    ids: Iterable[int] | None = None, limit: int = 100, now: datetime | None = None,
) -> Delivery:
    """Send the due PENDING messages (only ``ids`` if given). Never raises for a failed send."""
    result = Delivery()
    if not settings.configured:
        logger.info("SMTP is not configured (SYNC_SMTP_HOST): mail stays in the outbox")
        return result
    now = now or utcnow()
    with factory() as session:
        query = (sa.select(OutboxMessage.id)
                 .where(OutboxMessage.status == MailStatus.PENDING,
                        OutboxMessage.next_attempt_at <= now)
                 .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit))
        if ids is not None:
            query = query.where(OutboxMessage.id.in_(list(ids)))
        due = list(session.scalars(query))
    for row_id in due:
        if not _claim(factory, row_id, now):
            continue
        try:
            with factory() as session:
                row = session.get(OutboxMessage, row_id)
                assert row is not None
                message = _render(session, row, settings)
            smtp.send(message, settings)
        except NothingToSend as error:
            _finish(factory, row_id, error=str(error), max_attempts=max_attempts, now=now,
                    give_up=True)
            result.failed += 1
        except Exception as error:  # any failure is retried later, never lost
            logger.warning("mail %s not sent: %s", row_id, error)
            _finish(factory, row_id, error=f"{type(error).__name__}: {error}",
                    max_attempts=max_attempts, now=now)
            result.failed += 1
        else:
            _finish(factory, row_id, error=None, max_attempts=max_attempts, now=now)
            result.sent += 1
    return result


def resend_order(session: Session, order: Order, *, to_email: str | None = None) -> OutboxMessage:
    """Queue the order's valid tickets again (to the buyer, or ``to_email``)."""
    return enqueue(session, kind=MailKind.ORDER_TICKETS, order=order,
                   to_email=to_email or order.buyer_email)
