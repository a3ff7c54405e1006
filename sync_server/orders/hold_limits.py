"""How many units one buyer and one client address may hold at once (docs/purchase.md).

A PENDING order's hold keeps units off sale until it lapses; without a cap a few accounts (or
one address with many accounts) could keep a sale sold out for free. The cap counts the units
of every live hold (unreleased, unexpired) of the buyer's, or the address's, PENDING orders,
the new order's own included, inside the checkout's transaction: over it, the checkout is
refused with 409 ``too_many_held`` and rolls back.

Per buyer it is race-safe: the buyer's ``users`` row is locked first (PostgreSQL ``FOR NO KEY
UPDATE``; SQLite has one writer anyway), so two checkouts of one account count one after the
other. Per address it is a count only: two accounts behind one address racing may together go
over it by one order.
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from sync_server.accounts.models import User
from sync_server.errors import ApiError, Code
from sync_server.orders.models import InventoryHold, Order, PaymentStatus

logger = logging.getLogger(__name__)


def held_units(session: Session, where: sa.ColumnElement[bool], now: datetime) -> int:
    """Units in live holds of PENDING orders matching ``where``."""
    return int(session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(InventoryHold.quantity), 0))
        .join(Order, Order.id == InventoryHold.order_id)
        .where(where, Order.payment_status == PaymentStatus.PENDING,
               InventoryHold.released_at.is_(None), InventoryHold.expires_at > now)
    ) or 0)


def check_held(session: Session, order: Order, *, per_buyer: int, per_address: int,
               now: datetime) -> None:
    """Refuse (409 ``too_many_held``) if ``order``'s holds (flushed) take its buyer or its
    client address over their cap; 0 means no cap."""
    if per_buyer and order.user_id is not None:
        session.execute(sa.select(User.id).where(User.id == order.user_id)
                        .with_for_update(key_share=True))  # FOR NO KEY UPDATE
        held = held_units(session, Order.user_id == order.user_id, now)
        if held > per_buyer:
            logger.info("user %s would hold %d units (cap %d)", order.user_id, held, per_buyer)
            raise ApiError(409, Code.TOO_MANY_HELD,
                           f"you already hold unpaid tickets: at most {per_buyer} at once; "
                           "pay for or cancel an unpaid order first")
    if per_address and order.client_address:
        held = held_units(session, Order.client_address == order.client_address, now)
        if held > per_address:
            logger.info("address %s would hold %d units (cap %d)", order.client_address, held,
                        per_address)
            raise ApiError(409, Code.TOO_MANY_HELD,
                           f"too many unpaid tickets are held from your network: at most "
                           f"{per_address} at once; try again once some are paid or released")
