"""Inventory: holds for PENDING orders, sold counts, and the lock that keeps them honest.

Every change to ``quantity_sold``/``quantity_reserved`` of a ticket type or bundle, and to its
holds, happens with that inventory row locked, in one order: ticket types by id, then bundles by
id (no deadlocks). PostgreSQL: ``SELECT ... ORDER BY id FOR NO KEY UPDATE`` (plain ``FOR
UPDATE`` conflicts with the ``KEY SHARE`` locks that inserting order items, holds and tickets take
through their foreign keys, and would deadlock two buyers). SQLite: a no-op UPDATE takes the
database's single write lock at once (pysqlite opens the transaction there, so it behaves as
``BEGIN IMMEDIATE``). Inside the lock the counters are changed by conditional UPDATEs, and the
CHECK constraints ``quantity_sold + quantity_reserved <= quantity_total`` guard the database.

A hold counts while it is unreleased and unexpired. ``quantity_reserved`` is the sum of the
unreleased holds; expired ones are released lazily, under the lock, by the next buyer of the same
row, so availability is exact at once with no job (``tidy_expired`` only keeps things neat).

The common case costs one statement: the conditional UPDATE itself (it locks the row, the same
``FOR NO KEY UPDATE`` lock). Only when it finds too few units free as counted does the buyer lock
the row explicitly, release its expired holds and count again (rows one at a time, in lock order).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import InstrumentedAttribute, Session

from sync_server.errors import ApiError, Code
from sync_server.events.models import Bundle, TicketType
from sync_server.orders.models import InventoryHold, Order, ReleaseReason

logger = logging.getLogger(__name__)

SOLD_OUT = Code.SOLD_OUT


@dataclass(frozen=True)
class Stock:
    """One inventory row: a ticket type or a bundle."""

    kind: Literal["bundle", "ticket_type"]
    id: int

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.id}"


def stock_of(ticket_type_id: int | None, bundle_id: int | None) -> Stock:
    if ticket_type_id is not None:
        return Stock("ticket_type", ticket_type_id)
    assert bundle_id is not None
    return Stock("bundle", bundle_id)


def _table(stock: Stock) -> sa.Table:
    model = TicketType if stock.kind == "ticket_type" else Bundle
    table = model.__table__
    assert isinstance(table, sa.Table)
    return table


def _hold_column(stock: Stock) -> InstrumentedAttribute[int | None]:
    return (InventoryHold.ticket_type_id if stock.kind == "ticket_type"
            else InventoryHold.bundle_id)


def _lock_order(stocks: Iterable[Stock]) -> list[Stock]:
    # Ticket types first, then bundles, each by id: every transaction takes locks in this order.
    return sorted(set(stocks), key=lambda s: (s.kind != "ticket_type", s.id))


def lock(session: Session, stocks: Iterable[Stock]) -> dict[Stock, int]:
    """Lock the inventory rows of ``stocks`` until the transaction ends; returns them in lock
    order, each with its ``quantity_reserved`` as locked (0: the row has no unreleased hold, so
    no expired one to release either)."""
    ordered = _lock_order(stocks)
    postgres = session.get_bind().dialect.name == "postgresql"
    reserved: dict[Stock, int] = {}
    for kind in ("ticket_type", "bundle"):
        ids = [s.id for s in ordered if s.kind == kind]
        if not ids:
            continue
        table = _table(Stock(kind, ids[0]))
        if postgres:
            rows = session.execute(
                sa.select(table.c.id, table.c.quantity_reserved).where(table.c.id.in_(ids))
                .order_by(table.c.id).with_for_update(key_share=True)
            )
        else:
            rows = session.execute(
                table.update().where(table.c.id.in_(ids))
                .values(quantity_reserved=table.c.quantity_reserved)
                .returning(table.c.id, table.c.quantity_reserved)
            )
        for row_id, units in rows:
            reserved[Stock(kind, int(row_id))] = int(units)
    return {stock: reserved.get(stock, 0) for stock in ordered}


def _release_expired(session: Session, stock: Stock, now: datetime) -> int:
    """Mark the expired, unreleased holds of ``stock`` released; returns their quantity."""
    column = _hold_column(stock)
    released = session.execute(
        sa.update(InventoryHold)
        .where(column == stock.id, InventoryHold.released_at.is_(None),
               InventoryHold.expires_at <= now)
        .values(released_at=now, release_reason=ReleaseReason.EXPIRED)
        .returning(InventoryHold.quantity)
        .execution_options(synchronize_session=False)
    ).scalars().all()
    return int(sum(released))


def rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


def _sold_out(stock: Stock, left: int, wanted: int) -> ApiError:
    return ApiError(
        409, SOLD_OUT, f"only {max(left, 0)} left of {stock.label}, {wanted} wanted",
        fields={stock.label: [f"only {max(left, 0)} left"]},
    )


def _left(session: Session, stock: Stock, freed: int) -> int:
    t = _table(stock)
    row = session.execute(
        sa.select(t.c.quantity_total, t.c.quantity_sold, t.c.quantity_reserved)
        .where(t.c.id == stock.id)
    ).one()
    return int(row[0] - row[1] - row[2] + freed)


def _take(session: Session, stock: Stock, quantity: int, *, sell: bool) -> bool:
    """The common case in one statement: a conditional UPDATE that locks the row and counts
    ``quantity`` as sold (or reserved) if that many are free without releasing any hold."""
    t = _table(stock)
    column = t.c.quantity_sold if sell else t.c.quantity_reserved
    return rowcount(session.execute(
        t.update()
        .where(t.c.id == stock.id,
               t.c.quantity_total - t.c.quantity_sold - t.c.quantity_reserved >= quantity)
        .values({column: column + quantity})
    )) == 1


def reserve(session: Session, *, wanted: Mapping[Stock, int], now: datetime) -> None:
    """Count ``wanted`` units as reserved, or raise ``sold_out`` (409). The caller inserts the
    matching holds in the same transaction (``new_holds``)."""
    for stock in _lock_order(wanted):  # one row at a time, in lock order
        quantity = wanted[stock]
        if _take(session, stock, quantity, sell=False):
            continue
        # Too few free as counted: lock the row, release its expired holds, count again.
        reserved = lock(session, [stock])[stock]
        freed = _release_expired(session, stock, now) if reserved else 0
        t = _table(stock)
        done = rowcount(session.execute(
            t.update()
            .where(t.c.id == stock.id,
                   t.c.quantity_total - t.c.quantity_sold - t.c.quantity_reserved + freed
                   >= quantity)
            .values(quantity_reserved=t.c.quantity_reserved - freed + quantity)
        ))
        if done != 1:
            raise _sold_out(stock, _left(session, stock, freed), quantity)


def new_holds(order: Order, wanted: Mapping[Stock, int], expires_at: datetime,
              now: datetime) -> list[InventoryHold]:
    """The hold rows of ``order`` (not inserted), one per ticket type or bundle."""
    return [InventoryHold(
        order_id=order.id, event_id=order.event_id, quantity=quantity,
        expires_at=expires_at,
        ticket_type_id=stock.id if stock.kind == "ticket_type" else None,
        bundle_id=stock.id if stock.kind == "bundle" else None,
        released_at=None, release_reason=None, created_at=now,
    ) for stock, quantity in wanted.items()]


def sell(session: Session, *, order: Order, wanted: Mapping[Stock, int], now: datetime,
         held: bool = True) -> None:
    """Count ``wanted`` as sold for ``order``: its own holds (even expired, if nobody released
    them yet) turn into sales, the rest must still be available; else ``sold_out`` (409).
    ``held=False`` says the order never had holds (a free checkout): usually one statement."""
    for stock in _lock_order(wanted):  # one row at a time, in lock order
        quantity = wanted[stock]
        if not held and _take(session, stock, quantity, sell=True):
            continue
        reserved = lock(session, [stock])[stock]
        column = _hold_column(stock)
        mine = 0
        if held and reserved:
            own = session.execute(
                sa.update(InventoryHold)
                .where(InventoryHold.order_id == order.id, column == stock.id,
                       InventoryHold.released_at.is_(None))
                .values(released_at=now, release_reason=ReleaseReason.CONVERTED)
                .returning(InventoryHold.quantity)
                .execution_options(synchronize_session=False)
            ).scalars().all()
            mine = int(sum(own))
        freed = mine + (_release_expired(session, stock, now) if reserved else 0)
        t = _table(stock)
        done = rowcount(session.execute(
            t.update()
            .where(t.c.id == stock.id,
                   t.c.quantity_total - t.c.quantity_sold - t.c.quantity_reserved + freed
                   >= quantity)
            .values(quantity_sold=t.c.quantity_sold + quantity,
                    quantity_reserved=t.c.quantity_reserved - freed)
        ))
        if done != 1:
            raise _sold_out(stock, _left(session, stock, freed), quantity)
    session.flush()


def release(session: Session, *, order: Order, now: datetime,
            reason: ReleaseReason = ReleaseReason.CANCELLED) -> int:
    """Release every unreleased hold of ``order``; returns the units given back."""
    live = list(session.scalars(
        sa.select(InventoryHold).where(InventoryHold.order_id == order.id,
                                       InventoryHold.released_at.is_(None))
    ))
    if not live:
        return 0
    stocks = {stock_of(h.ticket_type_id, h.bundle_id) for h in live}
    total = 0
    for stock in lock(session, stocks):
        column = _hold_column(stock)
        back = session.execute(
            sa.update(InventoryHold)
            .where(InventoryHold.order_id == order.id, column == stock.id,
                   InventoryHold.released_at.is_(None))
            .values(released_at=now, release_reason=reason)
            .returning(InventoryHold.quantity)
            .execution_options(synchronize_session=False)
        ).scalars().all()
        units = int(sum(back))
        t = _table(stock)
        session.execute(t.update().where(t.c.id == stock.id)
                        .values(quantity_reserved=t.c.quantity_reserved - units))
        total += units
    session.expire_all()
    return total


def unsell(session: Session, *, sold: Mapping[Stock, int]) -> None:
    """Put ``sold`` units back on sale (a cancelled completed order)."""
    for stock in lock(session, sold):
        t = _table(stock)
        session.execute(
            t.update().where(t.c.id == stock.id, t.c.quantity_sold >= sold[stock])
            .values(quantity_sold=t.c.quantity_sold - sold[stock])
        )
    session.flush()


def tidy_expired(session: Session, *, now: datetime) -> int:
    """Release every expired hold (optional housekeeping; correctness never needs it)."""
    stocks = {
        stock_of(tt, b) for tt, b in session.execute(
            sa.select(InventoryHold.ticket_type_id, InventoryHold.bundle_id).distinct()
            .where(InventoryHold.released_at.is_(None), InventoryHold.expires_at <= now)
        )
    }
    total = 0
    for stock in lock(session, stocks):
        freed = _release_expired(session, stock, now)
        t = _table(stock)
        session.execute(t.update().where(t.c.id == stock.id)
                        .values(quantity_reserved=t.c.quantity_reserved - freed))
        total += freed
    return total


def free_units(session: Session, stock: Stock, *, now: datetime) -> int:
    """Lock ``stock``'s row (until the transaction ends), release its expired holds and return
    the units free now (total - sold - unexpired holds): what the queue may offer."""
    reserved = lock(session, [stock])[stock]
    if reserved:
        freed = _release_expired(session, stock, now)
        if freed:
            t = _table(stock)
            session.execute(t.update().where(t.c.id == stock.id)
                            .values(quantity_reserved=t.c.quantity_reserved - freed))
    return max(_left(session, stock, 0), 0)


@dataclass(frozen=True)
class Availability:
    total: int
    sold: int
    held: int

    @property
    def available(self) -> int:
        return max(self.total - self.sold - self.held, 0)


def availability(session: Session, event_id: int, now: datetime) -> dict[Stock, Availability]:
    """Total, sold and currently held (unexpired) units of every ticket type and bundle."""
    result: dict[Stock, Availability] = {}
    for kind, model in (("ticket_type", TicketType), ("bundle", Bundle)):
        column = InventoryHold.ticket_type_id if kind == "ticket_type" else InventoryHold.bundle_id
        held = (
            sa.select(sa.func.coalesce(sa.func.sum(InventoryHold.quantity), 0))
            .where(column == model.id, InventoryHold.released_at.is_(None),
                   InventoryHold.expires_at > now)
            .scalar_subquery()
        )
        rows = session.execute(
            sa.select(model.id, model.quantity_total, model.quantity_sold, held)
            .where(model.event_id == event_id)
        )
        for row_id, total, sold, held_units in rows:
            result[Stock(kind, row_id)] = Availability(  # type: ignore[arg-type]
                total=int(total), sold=int(sold), held=int(held_units))
    return result
