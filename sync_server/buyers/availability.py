"""What a buyer sees of an event's stock: units left and people buying now, per ticket type and
bundle, read in two queries for the whole event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from sync_server.events.models import Event, TicketType
from sync_server.orders import holds
from sync_server.orders.models import InventoryHold


@dataclass(frozen=True)
class OnSale:
    """One line of the event page."""

    name: str
    description: str
    price_cents: int
    left: int
    buying_now: int  # distinct orders holding units right now (not yet paid)
    on_sale: bool  # inside its sales window and active
    day: str  # the night it admits to, or "" for every night
    kind: str = "ticket_type"  # or "bundle" (the live stream's names)
    id: int = 0  # the ticket type's or bundle's id (the page's data attributes)

    @property
    def sold_out(self) -> bool:
        return self.left <= 0


def _buying_now(session: Session, event: Event, now: datetime) -> dict[tuple[str, int | None], int]:
    rows = session.execute(
        sa.select(InventoryHold.ticket_type_id, InventoryHold.bundle_id,
                  sa.func.count(sa.distinct(InventoryHold.order_id)))
        .where(InventoryHold.event_id == event.id, InventoryHold.released_at.is_(None),
               InventoryHold.expires_at > now)
        .group_by(InventoryHold.ticket_type_id, InventoryHold.bundle_id)
    )
    out: dict[tuple[str, int | None], int] = {}
    for ticket_type_id, bundle_id, count in rows:
        key = ("type", ticket_type_id) if ticket_type_id is not None else ("bundle", bundle_id)
        out[key] = int(count)
    return out


def _on_sale(row: TicketType, now: datetime) -> bool:
    return row.active and (row.sales_start is None or row.sales_start <= now) and (
        row.sales_end is None or now < row.sales_end)


def event_stock(session: Session, event: Event, now: datetime) -> list[OnSale]:
    """Every active ticket type and bundle of the event, in the organizer's order.

    ``left`` is what the checkout page offers (``holds.availability``: sold and unexpired holds
    taken; a lapsed hold is free again, as checkout itself finds)."""
    busy = _buying_now(session, event, now)
    left = holds.availability(session, event.id, now)
    lines = []
    for row in sorted(event.ticket_types, key=lambda t: (t.sort_order, t.id)):
        if not row.active:
            continue
        day = row.event_day.date.strftime("%a %d %b") if row.event_day is not None else ""
        lines.append(OnSale(
            name=row.name, description=row.description, price_cents=row.price_cents,
            left=left[holds.Stock("ticket_type", row.id)].available,
            buying_now=busy.get(("type", row.id), 0), on_sale=_on_sale(row, now), day=day,
            kind="ticket_type", id=row.id))
    for bundle in sorted(event.bundles, key=lambda b: b.id):
        if not bundle.active:
            continue
        lines.append(OnSale(
            name=bundle.name, description=bundle.description, price_cents=bundle.price_cents,
            left=left[holds.Stock("bundle", bundle.id)].available,
            buying_now=busy.get(("bundle", bundle.id), 0), on_sale=True, day="every night",
            kind="bundle", id=bundle.id))
    return lines
