"""Discount codes: create, check at checkout, count a use when the order completes.

At checkout a code is checked (active, inside its window, uses left, uses left for this buyer) to
price the order; the use is COUNTED only when the order completes, by one conditional UPDATE
(``current_uses < max_uses``), which also locks the code row so the per-buyer count that follows
is exact under concurrency.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from sync_server.accounts.models import User
from sync_server.audit.services import record
from sync_server.errors import ApiError, Code, validation_error
from sync_server.events.models import Event, TicketType
from sync_server.orders.models import (
    DiscountCode,
    DiscountType,
    Order,
    PaymentStatus,
    discount_code_ticket_types,
)
from sync_server.orders.pricing import Discount

logger = logging.getLogger(__name__)

CODE_USED_UP = Code.DISCOUNT_CODE_USED_UP


def normalise(text: str) -> str:
    return text.strip().upper()


def create_discount_code(
    session: Session, event: Event, *, user: User, code: str, discount_type: DiscountType,
    value: int, valid_from: datetime, valid_until: datetime, max_uses: int | None = None,
    max_uses_per_user: int | None = None, ticket_type_ids: Sequence[int] = (),
    description: str = "",
) -> DiscountCode:
    errors: dict[str, list[str]] = {}
    if discount_type is DiscountType.PERCENTAGE and not 0 < value <= 100:
        errors["value"] = ["a percentage is between 1 and 100"]
    if discount_type is DiscountType.FIXED_AMOUNT and value <= 0:
        errors["value"] = ["a fixed amount is at least 1 cent"]
    if valid_until <= valid_from:
        errors["valid_until"] = ["must be after valid_from"]
    types = list(session.scalars(sa.select(TicketType).where(
        TicketType.id.in_(ticket_type_ids), TicketType.event_id == event.id)))
    if len(types) != len(set(ticket_type_ids)):
        errors["ticket_type_ids"] = ["every id must be a ticket type of this event"]
    text = normalise(code)
    if session.scalar(sa.select(sa.func.count()).select_from(DiscountCode).where(
            DiscountCode.event_id == event.id, DiscountCode.code == text)):
        raise ApiError(409, Code.CONFLICT, "this event already has that code",
                       fields={"code": ["already used in this event"]})
    if errors:
        raise validation_error(errors)
    row = DiscountCode(
        event_id=event.id, code=text, description=description, discount_type=discount_type,
        discount_value=value, max_uses=max_uses, max_uses_per_user=max_uses_per_user,
        valid_from=valid_from, valid_until=valid_until, active=True, current_uses=0,
    )
    session.add(row)
    session.flush()
    for ticket_type in types:
        session.execute(discount_code_ticket_types.insert().values(
            discount_code_id=row.id, ticket_type_id=ticket_type.id))
    record(session, action="discount_code.create", entity_type="discount_code",
           entity_id=row.id, user=user, event_id=event.id, details={"code": text})
    return row


def get_discount_code(session: Session, event: Event, code_id: int) -> DiscountCode:
    row = session.get(DiscountCode, code_id)
    if row is None or row.event_id != event.id:
        raise ApiError(404, Code.NOT_FOUND, "discount code not found")
    return row


def update_discount_code(session: Session, event: Event, row: DiscountCode, *, user: User,
                         values: dict[str, Any]) -> DiscountCode:
    """Edit a code (its text stays: buyers may have it); ``active=False`` deactivates it.
    The same rules as at creation, on the resulting record; uses so far are kept."""
    names = {"value": "discount_value"}
    with session.no_autoflush:
        for name, value in values.items():
            setattr(row, names.get(name, name), value)
        errors: dict[str, list[str]] = {}
        if row.discount_type is DiscountType.PERCENTAGE and not 0 < row.discount_value <= 100:
            errors["value"] = ["a percentage is between 1 and 100"]
        if row.discount_type is DiscountType.FIXED_AMOUNT and row.discount_value <= 0:
            errors["value"] = ["a fixed amount is at least 1 cent"]
        if row.valid_until <= row.valid_from:
            errors["valid_until"] = ["must be after valid_from"]
        if row.max_uses is not None and row.max_uses < row.current_uses:
            errors["max_uses"] = [f"already used {row.current_uses} times"]
        if errors:
            raise validation_error(errors)
    session.flush()
    record(session, action="discount_code.update", entity_type="discount_code",
           entity_id=row.id, user=user, event_id=event.id,
           details={"fields": sorted(values), "code": row.code})
    return row


def applicable_ticket_type_ids(session: Session, code: DiscountCode) -> list[int]:
    return list(session.scalars(
        sa.select(discount_code_ticket_types.c.ticket_type_id)
        .where(discount_code_ticket_types.c.discount_code_id == code.id)
        .order_by(discount_code_ticket_types.c.ticket_type_id)
    ))


def _uses_by(session: Session, code_id: int, user_id: int) -> int:
    return int(session.scalar(
        sa.select(sa.func.count()).select_from(Order).where(
            Order.discount_code_id == code_id, Order.user_id == user_id,
            Order.payment_status == PaymentStatus.COMPLETED)
    ) or 0)


def discount_for_checkout(
    session: Session, *, event: Event, text: str, buyer: User | None, now: datetime,
) -> tuple[DiscountCode, Discount]:
    """The code named ``text`` for ``event`` and its pricing rule, or ``validation_failed``."""
    code = session.scalars(sa.select(DiscountCode).where(
        DiscountCode.event_id == event.id, DiscountCode.code == normalise(text))).one_or_none()

    def refuse(message: str) -> ApiError:
        return validation_error({"discount_code": [message]}, "the discount code cannot be used")

    if code is None or not code.active:
        raise refuse("no such code")
    if not code.valid_from <= now < code.valid_until:
        raise refuse("this code is not valid now")
    if code.max_uses is not None and code.current_uses >= code.max_uses:
        raise refuse("this code has been used up")
    if code.max_uses_per_user is not None:
        if buyer is None:
            raise refuse("sign in to use this code")
        if _uses_by(session, code.id, buyer.id) >= code.max_uses_per_user:
            raise refuse("you have used this code as often as it allows")
    ids = applicable_ticket_type_ids(session, code)
    return code, Discount(code.discount_type, code.discount_value, frozenset(ids) or None)


def use_discount_code(session: Session, *, code_id: int, order: Order,
                      inserted: bool = True) -> None:
    """Count one use for the completing ``order`` or raise ``discount_code_used_up`` (409).
    ``inserted=False``: the order is not in the database yet (checkout), so count it here."""
    counted = session.execute(
        sa.update(DiscountCode)
        .where(DiscountCode.id == code_id,
               sa.or_(DiscountCode.max_uses.is_(None),
                      DiscountCode.current_uses < DiscountCode.max_uses))
        .values(current_uses=DiscountCode.current_uses + 1)
        .returning(DiscountCode.max_uses_per_user)
    ).one_or_none()
    if counted is None:
        raise ApiError(409, CODE_USED_UP, "the discount code was used up meanwhile")
    per_user = counted[0]
    # The UPDATE above locked the code row: completions with this code are now serialised.
    if per_user is not None and order.user_id is not None and (
        _uses_by(session, code_id, order.user_id) + (0 if inserted else 1) > per_user
    ):
        raise ApiError(409, CODE_USED_UP, "you have used this code as often as it allows")


def code_as_dict(session: Session, code: DiscountCode) -> dict[str, Any]:
    from shared.vocabulary import format_optional_time as iso

    return {
        "id": code.id, "event_id": code.event_id, "code": code.code,
        "description": code.description, "discount_type": code.discount_type.value,
        "value": code.discount_value, "max_uses": code.max_uses,
        "current_uses": code.current_uses, "max_uses_per_user": code.max_uses_per_user,
        "valid_from": iso(code.valid_from), "valid_until": iso(code.valid_until),
        "active": code.active, "ticket_type_ids": applicable_ticket_type_ids(session, code),
    }
