"""The mail outbox: one row per message to send, written in the same transaction as its cause.

A row is rendered when it is sent (so a re-send carries the tickets as they are now), claimed with
a conditional UPDATE (so two senders never send it twice at once), and retried with backoff.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from sync_server.db import Base, UTCDateTime, enum_type, utcnow


class MailKind(StrEnum):
    ORDER_TICKETS = "ORDER_TICKETS"  # every valid ticket of an order, to the buyer
    TRANSFERRED_TICKET = "TRANSFERRED_TICKET"  # one ticket, to its new holder
    # Account mail (no order; ``user_id`` set; the link is made when the mail is sent, so no
    # secret is stored): accounts.links
    VERIFY_EMAIL = "VERIFY_EMAIL"  # a new account: confirm the address
    ACCOUNT_EXISTS = "ACCOUNT_EXISTS"  # a sign-up with an address that has an account
    PASSWORD_RESET = "PASSWORD_RESET"  # noqa: S105 - a mail kind: a link to choose a new password
    CHANGE_EMAIL = "CHANGE_EMAIL"  # to the new address (``detail``): confirm it
    QUEUE_OFFER = "QUEUE_OFFER"  # a waiting-list offer: a ticket reserved for a few minutes
    # Split payments (rendered by the payments domain through ``outbox.register_renderer``):
    SPLIT_SHARE_LINK = "SPLIT_SHARE_LINK"  # to a payer: their share's link (``detail``: share id)
    SPLIT_CANCELLED = "SPLIT_CANCELLED"  # to the buyer: not every share paid in time


class MailStatus(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"  # gave up after the last attempt; a re-send queues a new row


class OutboxMessage(Base):
    __tablename__ = "mail_outbox"
    __table_args__ = (
        sa.Index("ix_mail_outbox_status_next_attempt_at", "status", "next_attempt_at"),
        sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[MailKind] = mapped_column(enum_type(MailKind, length=30))
    order_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    detail: Mapped[str | None] = mapped_column(sa.String(254))  # CHANGE_EMAIL: the new address
    ticket_instance_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("ticket_instances.id", ondelete="CASCADE")
    )
    to_email: Mapped[str] = mapped_column(sa.String(254))
    status: Mapped[MailStatus] = mapped_column(enum_type(MailStatus), default=MailStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
