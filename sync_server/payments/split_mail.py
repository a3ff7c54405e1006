"""Split payments' e-mail: each payer's link when the order is split, and the buyer's word when
the split is closed unpaid (order cancelled, paid shares refunded).

Rows go through the mail domain's outbox, in the transaction that splits or closes the order
(``mail.reactions.queue_after_commit``), and are rendered when sent by the renderers registered
here (``mail.outbox.register_renderer``): a link mail whose share was paid meanwhile, or whose
split has closed, is not sent. The link is absolute, on the configured public address
(``SYNC_PUBLIC_URL``), because the mail may be sent by the jobs worker, outside any request.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from sync_server.events.models import Event
from sync_server.mail.models import MailKind, MailStatus, OutboxMessage
from sync_server.mail.outbox import NothingToSend, register_renderer
from sync_server.mail.reactions import queue_after_commit
from sync_server.mail.smtp import SmtpSettings
from sync_server.orders.models import Order
from sync_server.orders.routes import money
from sync_server.payments.models import ShareStatus, SplitPayment, SplitShare, SplitStatus

CLOSED = (SplitStatus.TIMED_OUT, SplitStatus.FAILED)


def share_page_path(token: str) -> str:
    """Where a payer's link leads (``split_pages.share``)."""
    return f"/split/{token}"


def _row(kind: MailKind, split: SplitPayment, to_email: str, now: datetime,
         detail: str | None = None) -> OutboxMessage:
    return OutboxMessage(kind=kind, order_id=split.order_id, to_email=to_email, detail=detail,
                         status=MailStatus.PENDING, attempts=0, next_attempt_at=now,
                         created_at=now)


def queue_share_links(session: Session, split: SplitPayment, now: datetime) -> None:
    """One mail per payer with their link, sent once the split commits."""
    for share in split.shares:
        queue_after_commit(session, _row(MailKind.SPLIT_SHARE_LINK, split, share.payer_email,
                                         now, detail=str(share.id)))


def queue_split_closed(session: Session, split: SplitPayment, now: datetime) -> None:
    """Tell the buyer the order is cancelled (the split timed out or could not complete)."""
    order = session.get(Order, split.order_id)
    if order is not None and order.buyer_email:
        queue_after_commit(session, _row(MailKind.SPLIT_CANCELLED, split, order.buyer_email, now))


def _local(moment: datetime, event: Event) -> str:
    return moment.astimezone(ZoneInfo(event.timezone)).strftime("%A %d %B %Y, %H:%M") \
        + f" ({event.timezone})"


def _message(settings: SmtpSettings, to: str, subject: str, lines: list[str]) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content("\n".join(lines))
    return message


def _order_and_event(session: Session, order_id: int | None) -> tuple[Order, Event]:
    order = session.get(Order, order_id)
    event = session.get(Event, order.event_id) if order is not None else None
    if order is None or event is None:
        raise NothingToSend("the order is gone")
    return order, event


def share_link_message(session: Session, row: OutboxMessage,
                       settings: SmtpSettings) -> EmailMessage:
    detail = row.detail or ""
    share = session.get(SplitShare, int(detail)) if detail.isdigit() else None
    if share is None:
        raise NothingToSend("the share is gone")
    if share.split.status is not SplitStatus.OPEN:
        raise NothingToSend("the split payment is closed")
    if share.status in (ShareStatus.PAID, ShareStatus.REFUNDED):
        raise NothingToSend("the share is paid already")
    order, event = _order_and_event(session, row.order_id)
    link = settings.public_url.rstrip("/") + share_page_path(share.token)
    return _message(settings, row.to_email, f"{order.buyer_name} asked you to pay your share "
                    f"for {event.name}", [
        f"Hello {share.payer_name},", "",
        f"{order.buyer_name} is buying tickets for {event.name} ({_local(event.starts_at, event)})"
        f" and split the payment. Your share is {money(share.amount_cents)} of "
        f"{money(order.total_cents)} (order {order.order_number}).", "",
        "See your share and pay it by card (keep this link private):", link, "",
        f"Pay before {_local(share.split.deadline, event)}. The tickets are issued once every "
        "share is paid; if a share is still unpaid then, the order is cancelled and every "
        "share already paid is refunded in full.",
    ])


def split_cancelled_message(session: Session, row: OutboxMessage,
                            settings: SmtpSettings) -> EmailMessage:
    order, event = _order_and_event(session, row.order_id)
    split = session.scalar(sa.select(SplitPayment).where(SplitPayment.order_id == order.id))
    if split is None or split.status not in CLOSED:
        raise NothingToSend("the split payment is not closed")
    unpaid = [s.payer_name for s in split.shares
              if s.status not in (ShareStatus.PAID, ShareStatus.REFUNDED)]
    why = (f"not every share was paid by {_local(split.deadline, event)}"
           + (f" (still due: {', '.join(unpaid)})" if unpaid else "")
           if split.status is SplitStatus.TIMED_OUT
           else "the tickets were no longer available when the last share was paid")
    return _message(settings, row.to_email,
                    f"Your order for {event.name} was cancelled (order {order.order_number})", [
        f"Hello {order.buyer_name},", "",
        f"Your split order {order.order_number} for {event.name} was cancelled: {why}.",
        "The tickets it held are back on sale. Every share that was paid is refunded in full "
        "to the card that paid it (banks take a few days to show it).", "",
        "You can buy again from the event's page.",
    ])


def register() -> None:
    register_renderer(MailKind.SPLIT_SHARE_LINK, share_link_message)
    register_renderer(MailKind.SPLIT_CANCELLED, split_cancelled_message)
