"""A guest's order (bought without an account) is reached by its private link,
``/orders/<order number>/<token>``, mailed with the tickets, as mature ticket shops do.

The token is 32 random bytes (URL-safe base64), unguessable, compared in constant time. The
guest may revoke it: a new token replaces it at once and the old link answers "not found";
the tickets e-mail is sent again with the new link. The token is kept as it is, not hashed,
because the e-mail renderer needs it to send the link again; whoever reads the database can
read the tickets' own tokens anyway."""

from __future__ import annotations

import hmac
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session

from sync_server.orders.models import Order

MAX_TOKEN_LENGTH = 64


def new_guest_token() -> str:
    return secrets.token_urlsafe(32)


def give_guest_link(session: Session, order: Order) -> str:
    """Give a just-placed guest order its private link (an explicit UPDATE: the flash sale's
    fast path hands back a detached order, on which a changed attribute would never be saved)."""
    token = new_guest_token()
    session.execute(sa.update(Order).where(Order.id == order.id).values(guest_token=token)
                    .execution_options(synchronize_session=False))
    order.guest_token = token
    return token


def find_guest_order(session: Session, order_number: str, token: str) -> Order | None:
    """The guest order this link opens, or None (no such order, an account's order, a wrong
    or revoked token: all the same answer)."""
    if len(order_number) > 32 or len(token) > MAX_TOKEN_LENGTH:
        return None
    order = session.scalars(sa.select(Order).where(Order.order_number == order_number)).first()
    if order is None or order.guest_token is None:
        return None
    if not hmac.compare_digest(order.guest_token.encode(), token.encode()):
        return None
    return order


def replace_guest_token(order: Order) -> str:
    """Revoke the order's link: a new token, the old link dead once this commits."""
    order.guest_token = new_guest_token()
    return order.guest_token


def guest_link_path(order: Order) -> str | None:
    if order.guest_token is None:
        return None
    return f"/orders/{order.order_number}/{order.guest_token}"
