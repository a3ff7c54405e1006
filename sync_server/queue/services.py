"""The waiting-list engine: join, leave, place in line, offers, accept, decline, expiry.

Rules (docs/queue.md):

- A person joins the line of a ticket type only at an event that takes a waiting list
  (``allow_waitlist``), only when it is sold out (nothing left to buy now), once at a time (a
  second join is refused; the partial unique index guards it too), at most ``joins_per_hour``
  times an hour (counted here with ``ratelimit``, so the JSON API and the page both get it).
- Their place is computed from the order of joining (the row id), never stored.
- When units come back (``signals.capacity_returned``, in the sender's transaction; or the jobs
  worker's scan, for holds that lapse with nobody writing), ``queue.offers.advance`` locks the
  ticket type's inventory row (the purchase engine's own lock: two advancers of one ticket type
  take turns, and whoever goes second sees the first one's offers), and offers the free units to
  the people waiting, first come first served: each offer is a PENDING order of that person whose
  hold reserves the ticket until the offer expires (so nobody else can buy it).
- Accepting completes a free order at once, or sends a paid one to the payment step; declining,
  leaving, or letting the offer lapse cancels that order, which returns the unit, which offers it
  to the next person at once (the same transaction).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sync_server.accounts.models import User
from sync_server.config import Config
from sync_server.db import utcnow
from sync_server.errors import ApiError, Code
from sync_server.events.models import Event, EventStatus, TicketType
from sync_server.live import publish
from sync_server.orders import holds
from sync_server.orders.cancellation import cancel_order
from sync_server.orders.models import Order, PaymentMethod, PaymentStatus
from sync_server.orders.services import (
    Outcome,
    PurchaseSettings,
    complete_order,
)
from sync_server.queue.models import LIVE_STATUSES, WaitingListEntry, WaitingStatus
from sync_server.ratelimit.services import count as count_hits

logger = logging.getLogger(__name__)

# Stable error codes of the queue (409 unless noted); values cross the wire.
ALREADY_WAITING = "already_waiting"  # a second join while in line or holding an offer
NOT_SOLD_OUT = "not_sold_out"  # tickets can be bought now: no line to join
OFFER_EXPIRED = "offer_expired"  # the offer lapsed, was declined, or the person left
OFFER_USED = "offer_used"  # the offer was bought already (a replayed link)
NO_OFFER = "no_offer"  # still waiting: nothing to accept or decline yet
NO_WAITING_LIST = "no_waiting_list"  # the event does not take a waiting list (allow_waitlist)
JOIN_ACTION = "queue_join"  # the rate-limit action of joins (subject ``user:<id>``)
HOUR = 3600


@dataclass(frozen=True)
class QueueSettings:
    purchase: PurchaseSettings
    offer_minutes: float = 5.0

    @classmethod
    def from_config(cls, config: Config) -> QueueSettings:
        return cls(purchase=PurchaseSettings.from_config(config),
                   offer_minutes=config.queue_offer_minutes)

    @property
    def offer_purchase(self) -> PurchaseSettings:
        """The purchase settings of an offer's order: its hold lasts as long as the offer."""
        return dataclasses.replace(self.purchase, hold_minutes=self.offer_minutes)


# --- reading ---------------------------------------------------------------------------------


def position(session: Session, entry: WaitingListEntry) -> int | None:
    """1 for the first person waiting; None when the entry is not WAITING."""
    if entry.status is not WaitingStatus.WAITING:
        return None
    ahead = session.scalar(
        sa.select(sa.func.count()).select_from(WaitingListEntry)
        .where(WaitingListEntry.ticket_type_id == entry.ticket_type_id,
               WaitingListEntry.status == WaitingStatus.WAITING,
               WaitingListEntry.id < entry.id))
    return int(ahead or 0) + 1


def waiting_count(session: Session, ticket_type_id: int) -> int:
    return int(session.scalar(
        sa.select(sa.func.count()).select_from(WaitingListEntry)
        .where(WaitingListEntry.ticket_type_id == ticket_type_id,
               WaitingListEntry.status == WaitingStatus.WAITING)) or 0)


def live_entry(session: Session, user: User, ticket_type_id: int) -> WaitingListEntry | None:
    return session.scalars(
        sa.select(WaitingListEntry)
        .where(WaitingListEntry.user_id == user.id,
               WaitingListEntry.ticket_type_id == ticket_type_id,
               WaitingListEntry.status.in_(LIVE_STATUSES))).one_or_none()


def own_entry(session: Session, user: User, entry_id: int, *,
              event_id: int | None = None) -> WaitingListEntry:
    """``user``'s entry ``entry_id`` (of ``event_id`` if given). Someone else's, or one that does
    not exist, is 404 ``not_found`` alike (never "forbidden": no probing of ids), so nobody can
    leave, accept or decline another person's place or offer, whichever shell asks."""
    entry = session.get(WaitingListEntry, entry_id)
    if entry is None or entry.user_id != user.id or (event_id is not None
                                                     and entry.event_id != event_id):
        raise ApiError(404, Code.NOT_FOUND, "no such waiting-list entry")
    return entry


def _available(session: Session, ticket_type: TicketType, now: datetime) -> int:
    found = holds.availability(session, ticket_type.event_id, now)
    return found[holds.Stock("ticket_type", ticket_type.id)].available


def _on_sale(ticket_type: TicketType, now: datetime) -> bool:
    return (ticket_type.active
            and (ticket_type.sales_start is None or ticket_type.sales_start <= now)
            and (ticket_type.sales_end is None or now < ticket_type.sales_end))


# --- the person's actions --------------------------------------------------------------------


def join(session: Session, *, user: User, event: Event, ticket_type: TicketType,
         now: datetime | None = None, joins_per_hour: int = 0) -> WaitingListEntry:
    """Put ``user`` in line for one ticket of ``ticket_type`` (sold out now).

    ``joins_per_hour`` (0: no limit) counts the join against the person's hourly limit
    (``rate_limited``, 429, past it). A join refused with words (a second join, not sold out,
    no waiting list) is checked first and never counted. The count commits on its own short
    transaction, so nothing of ``session`` may be written yet (it is rolled back first: no lock
    held while the count commits on SQLite)."""
    now = now or utcnow()
    check_join(session, user=user, event=event, ticket_type=ticket_type, now=now)
    if joins_per_hour:
        session.rollback()
        bind = session.get_bind()
        count_hits(bind if isinstance(bind, Engine) else bind.engine, action=JOIN_ACTION,
                   limits={f"user:{user.id}": joins_per_hour}, window_seconds=HOUR, now=now)
    entry = WaitingListEntry(user_id=user.id, event_id=event.id, ticket_type_id=ticket_type.id,
                             quantity=1, status=WaitingStatus.WAITING, joined_at=now,
                             updated_at=now)
    try:
        with session.begin_nested():
            session.add(entry)
    except IntegrityError:  # a concurrent join of the same person won the race
        raise ApiError(409, ALREADY_WAITING,
                       "you are already in line for this ticket type") from None
    publish(session, f"event:{event.id}", f"user:{user.id}")
    logger.info("user %s joined the line of ticket type %s", user.id, ticket_type.id)
    return entry


def check_join(session: Session, *, user: User, event: Event, ticket_type: TicketType,
               now: datetime) -> None:
    """Refuse a join that cannot be (writes nothing): not on sale, no waiting list at this
    event, already in line, not sold out."""
    if ticket_type.event_id != event.id:
        raise ApiError(404, Code.NOT_FOUND, "ticket type not found")
    if event.status is not EventStatus.PUBLISHED or not _on_sale(ticket_type, now):
        raise ApiError(409, Code.INVALID_STATE, "this ticket type is not on sale")
    if not event.allow_waitlist:
        raise ApiError(409, NO_WAITING_LIST, "this event does not take a waiting list: buy a "
                                             "ticket if one comes back on sale")
    if live_entry(session, user, ticket_type.id) is not None:
        raise ApiError(409, ALREADY_WAITING, "you are already in line for this ticket type")
    if _available(session, ticket_type, now) > 0:
        raise ApiError(409, NOT_SOLD_OUT, "tickets of this type can be bought now: no need to "
                                          "wait in line")


def leave(session: Session, entry: WaitingListEntry, *, now: datetime | None = None) -> None:
    """Leave the line (an offer held is declined: its ticket goes to the next person)."""
    now = now or utcnow()
    if entry.status is WaitingStatus.OFFERED:
        decline(session, entry, now=now)
        return
    if not _move(session, entry, WaitingStatus.WAITING, WaitingStatus.CANCELLED, now):
        raise ApiError(409, Code.INVALID_STATE, f"a {entry.status.value} entry cannot leave")
    publish(session, f"event:{entry.event_id}", f"user:{entry.user_id}")


def check_offer(entry: WaitingListEntry, now: datetime) -> None:
    """Refuse an entry that holds no offer usable now."""
    if entry.status is WaitingStatus.PURCHASED:
        raise ApiError(409, OFFER_USED, "this offer was used: the ticket is yours already")
    if entry.status is WaitingStatus.WAITING:
        raise ApiError(409, NO_OFFER, "no offer yet: you are still in line")
    if (entry.status is not WaitingStatus.OFFERED or entry.offer_expires_at is None
            or entry.offer_expires_at <= now):
        raise ApiError(409, OFFER_EXPIRED, "this offer has ended; join the line again")


def accept(session: Session, entry: WaitingListEntry, *, settings: QueueSettings,
           now: datetime | None = None) -> Outcome:
    """Buy within the offer: a free order completes now (tickets issued); a paid one stays
    PENDING for the payment step, its hold still reserving the ticket until the offer ends."""
    now = now or utcnow()
    check_offer(entry, now)
    order = session.get(Order, entry.order_id) if entry.order_id is not None else None
    if order is None or order.payment_status is not PaymentStatus.PENDING:
        raise ApiError(409, OFFER_EXPIRED, "this offer has ended; join the line again")
    if order.total_cents == 0:
        # order_completed -> the entry is PURCHASED (queue.reactions)
        return complete_order(session, order, method=PaymentMethod.FREE,
                              settings=settings.purchase, now=now)
    return Outcome(order=order)


def decline(session: Session, entry: WaitingListEntry, *, now: datetime | None = None) -> None:
    """Give the offer up: its ticket is offered to the next person at once."""
    now = now or utcnow()
    check_offer(entry, now)
    _end_offer(session, entry, WaitingStatus.CANCELLED, now, reason="queue offer declined")


# --- the engine --------------------------------------------------------------------------------


def _move(session: Session, entry: WaitingListEntry, was: WaitingStatus, to: WaitingStatus,
          now: datetime) -> bool:
    moved = holds.rowcount(session.execute(
        sa.update(WaitingListEntry)
        .where(WaitingListEntry.id == entry.id, WaitingListEntry.status == was)
        .values(status=to, updated_at=now)
        .execution_options(synchronize_session=False)))
    session.refresh(entry)
    return moved == 1


def _end_offer(session: Session, entry: WaitingListEntry, to: WaitingStatus, now: datetime, *,
               reason: str) -> bool:
    """OFFERED -> ``to``; its order, still PENDING, is cancelled (the hold released, so
    ``capacity_returned`` offers the ticket to the next person). Locks in the order every path
    takes: the order row first (accepting completes it under the same lock), then the entry."""
    order = None
    if entry.order_id is not None:
        order = session.scalars(sa.select(Order).where(Order.id == entry.order_id)
                                .with_for_update(key_share=True)
                                .execution_options(populate_existing=True)).one_or_none()
    if not _move(session, entry, WaitingStatus.OFFERED, to, now):
        return False
    publish(session, f"event:{entry.event_id}", f"user:{entry.user_id}")
    if order is not None and order.payment_status is PaymentStatus.PENDING:
        cancel_order(session, order, by_user=None, reason=reason, now=now)
    return True


def expire_offers(session: Session, *, now: datetime | None = None, limit: int = 100) -> int:
    """End the offers that lapsed (the caller commits); returns how many. Their tickets go to
    the next people at once. Two workers may run it together: each offer ends once."""
    now = now or utcnow()
    due = list(session.scalars(
        sa.select(WaitingListEntry)
        .where(WaitingListEntry.status == WaitingStatus.OFFERED,
               WaitingListEntry.offer_expires_at <= now)
        .order_by(WaitingListEntry.offer_expires_at, WaitingListEntry.id).limit(limit)))
    ended = 0
    for entry in due:
        if _end_offer(session, entry, WaitingStatus.EXPIRED, now, reason="queue offer expired"):
            ended += 1
    return ended


def offer_end(settings: QueueSettings, now: datetime) -> datetime:
    return now + timedelta(minutes=settings.offer_minutes)
