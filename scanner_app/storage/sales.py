"""The box office's tables: tiers to sell, offline stock, the sales journal and its tickets.

A sale is written in ONE transaction (its row, its tickets, and for an offline sale the stock
tickets it takes): a desk killed at any instant has the whole sale or none of it. An offline
sale stays ``uploaded = False`` until the server answered for its ``sale_id``.

Rows in, rows out: the core's value types (``core/box_office.py``) are made by the desk
(``core/desk.py``), since storage never imports the core above it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from scanner_app.storage import models as m

COMPLETED = "completed"


def store_tiers(s: Session, rows: Sequence[m.BoxTier]) -> None:
    """Replace the tiers this desk sells (the catalogue is always downloaded whole)."""
    s.execute(sa.delete(m.BoxTier))
    for position, row in enumerate(rows):
        row.position = position
        s.add(row)


def tiers(s: Session) -> list[tuple[m.BoxTier, int]]:
    """Each tier with the unsold stock tickets this desk holds of it."""
    stock = {int(tier): int(count) for tier, count in s.execute(
        sa.select(m.BoxStock.tier_id, sa.func.count()).where(m.BoxStock.sale_id.is_(None))
        .group_by(m.BoxStock.tier_id))}
    rows = s.scalars(sa.select(m.BoxTier).order_by(m.BoxTier.position, m.BoxTier.tier_id))
    return [(r, int(stock.get(r.tier_id, 0))) for r in rows]


def add_stock(s: Session, rows: Iterable[m.BoxStock]) -> int:
    """Keep pre-issued tickets; ones already held (sold or not) are left as they are."""
    added = 0
    for row in rows:
        if s.get(m.BoxStock, row.ticket_id) is None:
            s.add(row)
            added += 1
    return added


def free_stock(s: Session, event_id: int | None = None) -> list[m.BoxStock]:
    query = sa.select(m.BoxStock).where(m.BoxStock.sale_id.is_(None))
    if event_id is not None:
        query = query.where(m.BoxStock.event_id == event_id)
    return list(s.scalars(query.order_by(m.BoxStock.ticket_id)))


def drop_stock(s: Session, ticket_ids: Iterable[int]) -> None:
    """Forget unsold stock (returned to, or revoked by, the server); sold stock stays."""
    ids = list(ticket_ids)
    if ids:
        s.execute(sa.delete(m.BoxStock).where(m.BoxStock.ticket_id.in_(ids),
                                              m.BoxStock.sale_id.is_(None)))


def take_stock(s: Session, sale_id: str, ticket_ids: Sequence[int]) -> None:
    done = s.execute(sa.update(m.BoxStock).where(
        m.BoxStock.ticket_id.in_(list(ticket_ids)), m.BoxStock.sale_id.is_(None))
        .values(sale_id=sale_id))
    if done.rowcount != len(ticket_ids):  # type: ignore[attr-defined]
        raise RuntimeError("a stock ticket was taken twice")


def add_sale(s: Session, row: m.BoxSale, tickets: Iterable[m.BoxSaleTicket]) -> None:
    s.add(row)
    s.flush()
    for t in tickets:
        s.add(t)


def complete_sale(s: Session, sale_id: str, order_number: str,
                  tickets: Iterable[m.BoxSaleTicket]) -> None:
    """A confirmed online sale: its tickets, in the transaction that marks it complete."""
    row = sale_row(s, sale_id)
    row.state = COMPLETED
    row.order_number = order_number
    existing = set(s.scalars(sa.select(m.BoxSaleTicket.ticket_id)
                             .where(m.BoxSaleTicket.sale_id == sale_id)))
    for t in tickets:
        if t.ticket_id not in existing:
            s.add(t)


def sale_row(s: Session, sale_id: str) -> m.BoxSale:
    row = s.scalar(sa.select(m.BoxSale).where(m.BoxSale.sale_id == sale_id))
    if row is None:
        raise KeyError(sale_id)
    return row


def find_sale(s: Session, sale_id: str) -> m.BoxSale | None:
    return s.scalar(sa.select(m.BoxSale).where(m.BoxSale.sale_id == sale_id))


def sale_tickets(s: Session, sale_id: str) -> list[m.BoxSaleTicket]:
    return list(s.scalars(sa.select(m.BoxSaleTicket).where(m.BoxSaleTicket.sale_id == sale_id)
                          .order_by(m.BoxSaleTicket.ticket_id)))


def sale_rows(s: Session, *, since: datetime | None = None,
              states: Sequence[str] | None = None) -> list[m.BoxSale]:
    query = sa.select(m.BoxSale).order_by(m.BoxSale.seq)
    if since is not None:
        query = query.where(m.BoxSale.sold_at >= since)
    if states is not None:
        query = query.where(m.BoxSale.state.in_(list(states)))
    return list(s.scalars(query))


def waiting_upload(s: Session) -> list[m.BoxSale]:
    """Offline sales not yet stored by the server, and voids not yet sent, oldest first."""
    query = sa.select(m.BoxSale).where(
        sa.or_(m.BoxSale.uploaded.is_(False), m.BoxSale.void_pending.is_(True))
    ).order_by(m.BoxSale.seq)
    return list(s.scalars(query))


def lines_of(row: m.BoxSale) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in json.loads(row.lines_json)]


def lines_json(lines: Iterable[tuple[int, int]]) -> str:
    return json.dumps([list(x) for x in lines])
