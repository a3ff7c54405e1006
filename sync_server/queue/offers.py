"""Offers: the free units of a ticket type go to the people waiting, in order of joining.

:func:`advance` runs under the ticket type's inventory row lock (the purchase engine's own
``FOR NO KEY UPDATE``): it counts the units free, takes the first WAITING entries, and makes
their offers **a batch at a time** (``_offer_batch``): the entries are claimed with ONE
conditional ``UPDATE … WHERE status = 'WAITING' … RETURNING`` (a person who left meanwhile is
not claimed), their people read with one SELECT, their orders, items, holds and offer e-mails
inserted with one multi-row INSERT each (``orders.batch_holds``), the units reserved with ONE
UPDATE of the inventory row, and the entries' orders set with one UPDATE. About a dozen
statements for a batch of 50 instead of ~13 per offer (docs/queue.md, "Measured"). A batch the
purchase rules refuse as a whole (a per-order minimum above one ticket, say) is rolled back to
its savepoint and offered one at a time (``_offer_one``), so each person is treated as before.
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from sync_server.accounts.models import User
from sync_server.db import utcnow
from sync_server.errors import ApiError, Code
from sync_server.events.models import Event, EventStatus, TicketType
from sync_server.live import publish
from sync_server.orders import holds
from sync_server.orders.batch_holds import hold_for_each
from sync_server.orders.models import InventoryHold, PaymentMethod
from sync_server.orders.services import WantedLine, checkout
from sync_server.queue.models import WaitingListEntry, WaitingStatus
from sync_server.queue.services import QueueSettings, _move, _on_sale, offer_end
from sync_server.signals import queue_offer_made

logger = logging.getLogger(__name__)

BATCH = 200  # entries read and offered per round inside one advance


def tiers_to_advance(session: Session, *, now: datetime | None = None) -> list[int]:
    """Ticket types with people waiting and units free now (a hold lapsed with nobody writing,
    or anything the signals missed): the jobs worker advances them."""
    now = now or utcnow()
    waiting = sa.select(WaitingListEntry.ticket_type_id).where(
        WaitingListEntry.status == WaitingStatus.WAITING).distinct().scalar_subquery()
    held = (sa.select(sa.func.coalesce(sa.func.sum(InventoryHold.quantity), 0))
            .where(InventoryHold.ticket_type_id == TicketType.id,
                   InventoryHold.released_at.is_(None), InventoryHold.expires_at > now)
            .scalar_subquery())
    return list(session.scalars(
        sa.select(TicketType.id)
        .where(TicketType.id.in_(waiting),
               TicketType.quantity_total - TicketType.quantity_sold - held > 0)
        .order_by(TicketType.id)))


def advance(session: Session, ticket_type_id: int, *, settings: QueueSettings,
            now: datetime | None = None, skip_locked: bool = False,
            limit: int | None = None) -> list[WaitingListEntry]:
    """Offer the free units of a ticket type to the people waiting, in order of joining.

    Takes the ticket type's inventory row lock (``skip_locked``: on PostgreSQL, give up at once
    if another transaction holds it; a jobs worker retries on its next tick). Runs in the
    caller's transaction; returns the entries offered now (at most ``limit``: the jobs worker
    commits every batch, so the first offers reach people while later ones are made)."""
    now = now or utcnow()
    first = session.scalar(
        sa.select(WaitingListEntry.id)
        .where(WaitingListEntry.ticket_type_id == ticket_type_id,
               WaitingListEntry.status == WaitingStatus.WAITING).limit(1))
    if first is None:
        return []
    ticket_type = session.get(TicketType, ticket_type_id)
    event = session.get(Event, ticket_type.event_id) if ticket_type is not None else None
    if ticket_type is None or event is None or event.status is not EventStatus.PUBLISHED \
            or not _on_sale(ticket_type, now):
        return []
    stock = holds.Stock("ticket_type", ticket_type_id)
    if skip_locked and session.get_bind().dialect.name == "postgresql":
        table = TicketType.__table__
        got = session.execute(
            sa.select(table.c.id).where(table.c.id == ticket_type_id)
            .with_for_update(key_share=True, skip_locked=True)).first()
        if got is None:
            return []
    free = holds.free_units(session, stock, now=now)
    if limit is not None:
        free = min(free, limit)
    offered: list[WaitingListEntry] = []
    while free > 0:
        entries = list(session.scalars(
            sa.select(WaitingListEntry)
            .where(WaitingListEntry.ticket_type_id == ticket_type_id,
                   WaitingListEntry.status == WaitingStatus.WAITING)
            .order_by(WaitingListEntry.id).limit(min(free, BATCH))))
        if not entries:
            break
        batch: list[WaitingListEntry] = []
        for entry in entries:  # first come first served: nobody jumps a person asking for more
            if entry.quantity > free:
                break
            batch.append(entry)
            free -= entry.quantity
        if not batch:
            break
        made, sold_out = _offer_batch(session, batch, event, settings, now)
        offered.extend(made)
        free += sum(e.quantity for e in batch) - sum(e.quantity for e in made)  # who left
        if sold_out:
            break
    if offered:
        publish(session, f"event:{event.id}", *(f"user:{e.user_id}" for e in offered))
        logger.info("ticket type %s: %d offer(s) made", ticket_type_id, len(offered))
    return offered


def _offer_batch(session: Session, batch: list[WaitingListEntry], event: Event,
                 settings: QueueSettings, now: datetime) -> tuple[list[WaitingListEntry], bool]:
    """Offer each entry of ``batch`` its ticket, in one go; returns the entries offered and
    whether the units ran out. Entries whose person left meanwhile are skipped."""
    expires_at = offer_end(settings, now)
    try:
        with session.begin_nested():
            claimed = set(session.scalars(
                sa.update(WaitingListEntry)
                .where(WaitingListEntry.id.in_([e.id for e in batch]),
                       WaitingListEntry.status == WaitingStatus.WAITING)
                .values(status=WaitingStatus.OFFERED, updated_at=now, offer_created_at=now,
                        offer_expires_at=expires_at)
                .returning(WaitingListEntry.id)
                .execution_options(synchronize_session=False)))
            mine = [e for e in batch if e.id in claimed]
            if not mine:
                return [], False
            users = {u.id: u for u in session.scalars(
                sa.select(User).where(User.id.in_({e.user_id for e in mine})))}
            orders = hold_for_each(
                session, event=event, ticket_type_id=mine[0].ticket_type_id,
                buyers=[(users[e.user_id], e.quantity) for e in mine],
                settings=settings.offer_purchase, now=now)
            session.execute(
                sa.update(WaitingListEntry)
                .where(WaitingListEntry.id.in_([e.id for e in mine]))
                .values(order_id=sa.case({e.id: o.id for e, o in zip(mine, orders, strict=True)},
                                         value=WaitingListEntry.id))
                .execution_options(synchronize_session=False))
            for entry, order in zip(mine, orders, strict=True):
                for key, value in (("status", WaitingStatus.OFFERED), ("order_id", order.id),
                                   ("updated_at", now), ("offer_created_at", now),
                                   ("offer_expires_at", expires_at)):
                    set_committed_value(entry, key, value)  # what the UPDATEs wrote
                queue_offer_made.send(entry, session=session, order=order)
            session.flush()  # the offer e-mails: one multi-row INSERT
    except ApiError as error:
        for entry in batch:
            session.refresh(entry)
        if error.code == Code.SOLD_OUT:
            return [], True
        logger.info("a batch of %d offers was refused (%s): one at a time", len(batch),
                    error.message)
        made: list[WaitingListEntry] = []
        for entry in batch:
            result = _offer_one(session, entry, event, settings, now)
            if result == "sold_out":
                return made, True
            if result == "offered":
                made.append(entry)
        return made, False
    return mine, False


def _offer_one(session: Session, entry: WaitingListEntry, event: Event, settings: QueueSettings,
               now: datetime) -> str:
    """Reserve ``entry``'s ticket for its person (a PENDING order with a hold until the offer
    ends): "offered"; "gone" if they left meanwhile or cannot buy it at all (then cancelled);
    "sold_out" if the unit was taken after all (nothing changes)."""
    user = session.get(User, entry.user_id)
    assert user is not None
    try:
        with session.begin_nested():
            if not _move(session, entry, WaitingStatus.WAITING, WaitingStatus.OFFERED, now):
                return "gone"  # they left in the meantime
            outcome = checkout(
                session, event=event, buyer=user,
                wanted=[WantedLine(entry.ticket_type_id, None, entry.quantity)],
                buyer_name=user.name or user.email, buyer_email=user.email,
                settings=settings.offer_purchase, payment_method=PaymentMethod.STRIPE,
                hold_only=True, now=now)
            order = outcome.order
            if order.total_cents == 0:
                order.payment_method = PaymentMethod.FREE
            entry.order_id = order.id
            entry.offer_created_at = now
            entry.offer_expires_at = offer_end(settings, now)
            session.flush()
            queue_offer_made.send(entry, session=session, order=order)
    except ApiError as error:
        session.refresh(entry)
        if error.code == Code.SOLD_OUT:
            return "sold_out"
        # e.g. the ticket type's per-order minimum is above what this person asked for
        logger.warning("waiting-list entry %s cannot be offered (%s): cancelled", entry.id,
                       error.message)
        _move(session, entry, WaitingStatus.WAITING, WaitingStatus.CANCELLED, now)
        return "gone"
    return "offered"
