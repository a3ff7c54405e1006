"""Request bodies, response shapes and the JSON of a waiting-list entry."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from sync_server.orders.models import Order
from sync_server.queue.models import WaitingListEntry
from sync_server.queue.services import position, waiting_count
from sync_server.schemas import Body, Id, Out


class JoinBody(Body):
    event_id: Id
    ticket_type_id: Id


class EntryRef(Body):
    entry_id: Id


class OfferOut(Out):
    order_id: int
    order_number: str
    total_cents: int
    created_at: str | None
    expires_at: str


class EntryOut(Out):
    id: int
    event_id: int
    ticket_type_id: int
    status: str  # WAITING, OFFERED, EXPIRED, PURCHASED, CANCELLED
    joined_at: str
    position: int | None  # 1 = next; only while WAITING
    waiting: int  # people waiting for this ticket type
    offer: OfferOut | None  # while OFFERED (and kept once PURCHASED)


class EntryEnvelopeOut(Out):
    entry: EntryOut


class MyQueueOut(Out):
    entries: list[EntryOut]


class AcceptOut(Out):
    entry: EntryOut
    order_id: int
    order_number: str
    order_status: str  # COMPLETED (free: tickets issued) or PENDING (pay: payment_url)
    payment_url: str | None = None


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def entry_json(session: Session, entry: WaitingListEntry, *,
               place: int | None = None, waiting: int | None = None) -> dict[str, Any]:
    offer = None
    if entry.order_id is not None and entry.offer_expires_at is not None:
        order = session.get(Order, entry.order_id)
        if order is not None:
            offer = {"order_id": order.id, "order_number": order.order_number,
                     "total_cents": order.total_cents,
                     "created_at": _iso(entry.offer_created_at),
                     "expires_at": entry.offer_expires_at.isoformat()}
    return {
        "id": entry.id, "event_id": entry.event_id, "ticket_type_id": entry.ticket_type_id,
        "status": entry.status.value, "joined_at": entry.joined_at.isoformat(),
        "position": place if place is not None else position(session, entry),
        "waiting": waiting if waiting is not None else waiting_count(session,
                                                                      entry.ticket_type_id),
        "offer": offer,
    }
