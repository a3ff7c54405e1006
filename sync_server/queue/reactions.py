"""The queue's receivers: units back on sale are offered to the line in the sender's
transaction; a completed offer order marks its entry PURCHASED; a cancelled event ends its lines.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from sync_server.config import Config
from sync_server.db import utcnow
from sync_server.events.models import Event, TicketType
from sync_server.live import publish
from sync_server.orders.models import Order
from sync_server.queue.models import LIVE_STATUSES, WaitingListEntry, WaitingStatus
from sync_server.queue.offers import advance
from sync_server.queue.services import QueueSettings
from sync_server.signals import capacity_returned, event_cancelled, order_completed

logger = logging.getLogger(__name__)

_fallback: dict[str, QueueSettings] = {}


def settings() -> QueueSettings:
    """The current app's queue settings (outside an app: those given to ``connect``)."""
    if has_app_context():
        config: Config = current_app.extensions["sync_config"]
        found = current_app.extensions.get("sync_queue_settings")
        if found is None:
            found = current_app.extensions["sync_queue_settings"] = QueueSettings.from_config(
                config)
        return found
    return _fallback["settings"]


def offer_returned_units(ticket_type: TicketType, *, session: Session,
                         now: datetime | None = None, **_: Any) -> None:
    """``capacity_returned``: offer the units to the people waiting, in this transaction."""
    advance(session, ticket_type.id, settings=settings(), now=now or utcnow())


def mark_purchased(order: Order, *, session: Session, now: datetime, placed: bool = True,
                   **_: Any) -> None:
    """``order_completed``: an offer's order was bought (accepted, or paid by card). An offer's
    order is placed (PENDING, its ticket held) when the offer is made, so an order placed and
    completed in one request is no offer's: nothing to look up (the flash sale's checkouts)."""
    if not placed:
        return
    entries = list(session.scalars(
        sa.select(WaitingListEntry).where(WaitingListEntry.order_id == order.id,
                                          WaitingListEntry.status == WaitingStatus.OFFERED)))
    for entry in entries:
        entry.status, entry.updated_at = WaitingStatus.PURCHASED, now
        publish(session, f"user:{entry.user_id}", f"event:{entry.event_id}")


def end_lines(event: Event, *, session: Session, **_: Any) -> None:
    """``event_cancelled``: nobody waits for a cancelled event (offers' orders are cancelled by
    the orders domain's own receiver)."""
    session.execute(
        sa.update(WaitingListEntry)
        .where(WaitingListEntry.event_id == event.id, WaitingListEntry.status.in_(LIVE_STATUSES))
        .values(status=WaitingStatus.CANCELLED, updated_at=utcnow())
        .execution_options(synchronize_session=False))
    publish(session, f"event:{event.id}")


def connect(config: Config) -> None:
    _fallback["settings"] = QueueSettings.from_config(config)
    capacity_returned.connect(offer_returned_units)
    order_completed.connect(mark_purchased)
    event_cancelled.connect(end_lines)
