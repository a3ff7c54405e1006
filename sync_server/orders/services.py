"""The purchase engine: checkout (hold + PENDING order), confirmation, cancellation, comps.

Transactions: each service flushes and never commits; the route commits once. Work that needs no
lock (inserting the order, issuing and signing tickets) comes first; the inventory lock is taken
last, so it is held only for a few short statements before the commit (docs/purchase.md). The
one exception: on PostgreSQL a free sale's single all-or-nothing insert, run with no transaction
open (a checkout request's first write), commits on its own (``db.standalone``).

Lock order, always: the order row -> inventory rows (ticket types, then bundles, by id) -> the
discount code row.
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sync_server.accounts.models import User
from sync_server.audit.services import record
from sync_server.bulk import build, insert_new, take_ids
from sync_server.config import Config
from sync_server.db import Base, utcnow
from sync_server.door.changes import touch_tickets
from sync_server.errors import ApiError, Code, validation_error
from sync_server.events.models import Bundle, Event, EventStatus, EventType, TicketType
from sync_server.events.services import cancel_event
from sync_server.keys.models import EventKeyVersion
from sync_server.keys.services import active_key_version, revoke_ticket
from sync_server.mail.models import MailKind, MailStatus, OutboxMessage
from sync_server.orders import holds, pricing
from sync_server.orders.discounts import discount_for_checkout, use_discount_code
from sync_server.orders.models import (
    DiscountCode,
    Order,
    OrderItem,
    PaymentMethod,
    PaymentStatus,
)
from sync_server.orders.purchase_models import EventFees, InventoryHold
from sync_server.orders.refunds import refund
from sync_server.tickets.models import TicketInstance, TicketStatus
from sync_server.tickets.services import day_links, prepare_tickets, signed_ticket, valid_days

logger = logging.getLogger(__name__)

_ORDER_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class PurchaseSettings:
    master_secret: bytes
    hold_minutes: float = 10.0
    default_fees: pricing.Fees = field(default_factory=pricing.Fees)

    @classmethod
    def from_config(cls, config: Config) -> PurchaseSettings:
        return cls(master_secret=config.master_secret, hold_minutes=config.hold_minutes,
                   default_fees=pricing.Fees(config.platform_fee_bp,
                                             config.platform_fee_fixed_cents))


@dataclass(frozen=True)
class WantedLine:
    ticket_type_id: int | None
    bundle_id: int | None
    quantity: int


@dataclass
class Outcome:
    """What a service did: the order, tickets it issued, outbox rows to send after commit."""

    order: Order
    issued: list[TicketInstance] = field(default_factory=list)
    outbox_ids: list[int] = field(default_factory=list)
    completed_now: bool = False


def new_order_number() -> str:
    """``SL-XXXXX-XXXXX``: ten characters drawn uniformly from 31 (one random draw, not ten)."""
    value, chars = secrets.randbelow(len(_ORDER_ALPHABET) ** 10), []
    for _ in range(10):
        value, digit = divmod(value, len(_ORDER_ALPHABET))
        chars.append(_ORDER_ALPHABET[digit])
    return f"SL-{''.join(chars[:5])}-{''.join(chars[5:])}"


def event_fees(session: Session, event: Event, default: pricing.Fees) -> pricing.Fees:
    row = session.get(EventFees, event.id)
    return default if row is None else pricing.Fees(row.percent_bp, row.fixed_cents)


def set_event_fees(session: Session, event: Event, *, percent_bp: int, fixed_cents: int,
                   user: User) -> EventFees:
    row = session.get(EventFees, event.id)
    if row is None:
        row = EventFees(event_id=event.id, percent_bp=percent_bp, fixed_cents=fixed_cents)
        session.add(row)
    else:
        row.percent_bp, row.fixed_cents = percent_bp, fixed_cents
    session.flush()
    record(session, action="event.fees", entity_type="event", entity_id=event.id, user=user,
           event_id=event.id, details={"percent_bp": percent_bp, "fixed_cents": fixed_cents})
    return row


def _on_sale(ticket_type: TicketType, now: datetime) -> bool:
    started = ticket_type.sales_start is None or ticket_type.sales_start <= now
    not_ended = ticket_type.sales_end is None or now < ticket_type.sales_end
    return ticket_type.active and started and not_ended


def _check_event(event: Event, complimentary: bool, now: datetime) -> None:
    if event.status is not EventStatus.PUBLISHED and not (
        complimentary and event.status is EventStatus.DRAFT
    ):
        raise ApiError(409, Code.INVALID_STATE, "this event is not on sale")
    if not complimentary and event.ends_at is not None and now >= event.ends_at:
        raise ApiError(409, Code.INVALID_STATE, "this event is over")
    if event.event_type is EventType.SAVE_THE_DATE:
        raise ApiError(409, Code.INVALID_STATE, "a save-the-date event sells no tickets")


def _priced_lines(
    session: Session, event: Event, wanted: Sequence[WantedLine], now: datetime,
    complimentary: bool,
    keep: list[object],
) -> list[pricing.Line]:
    """Validate and price the lines; the rows read are appended to ``keep`` (the session only
    holds them weakly, and confirmation reads them again)."""
    errors: dict[str, list[str]] = {}
    lines: list[pricing.Line] = []
    seen: set[holds.Stock] = set()
    for index, want in enumerate(wanted):
        key = f"items.{index}"
        stock = holds.stock_of(want.ticket_type_id, want.bundle_id)
        if stock in seen:
            errors.setdefault(key, []).append("the same ticket type or bundle twice")
            continue
        seen.add(stock)
        if stock.kind == "ticket_type":
            row = session.get(TicketType, stock.id)
            if row is None or row.event_id != event.id:
                errors.setdefault(key, []).append("no such ticket type in this event")
                continue
            keep.append(row)
            if not complimentary:
                if not _on_sale(row, now):
                    errors.setdefault(key, []).append("this ticket type is not on sale now")
                elif not row.min_per_order <= want.quantity <= row.max_per_order:
                    errors.setdefault(key, []).append(
                        f"buy between {row.min_per_order} and {row.max_per_order} of these")
            unit = row.price_cents
        else:
            bundle = session.get(Bundle, stock.id)
            if bundle is None or bundle.event_id != event.id:
                errors.setdefault(key, []).append("no such bundle in this event")
                continue
            keep.append(bundle)
            if not bundle.active and not complimentary:
                errors.setdefault(key, []).append("this bundle is not on sale")
            unit = bundle.price_cents
        lines.append(pricing.Line(want.ticket_type_id, want.bundle_id, want.quantity,
                                  0 if complimentary else unit))
    tickets = sum(w.quantity for w in wanted)
    if not complimentary and not (
        event.min_tickets_per_order <= tickets <= event.max_tickets_per_order
    ):
        errors.setdefault("items", []).append(
            f"an order has between {event.min_tickets_per_order} and "
            f"{event.max_tickets_per_order} tickets")
    if errors:
        raise validation_error(errors, "the order cannot be placed as asked")
    return lines


def _wanted_stock(order: Order) -> dict[holds.Stock, int]:
    wanted: Counter[holds.Stock] = Counter()
    for item in order.items:
        wanted[holds.stock_of(item.ticket_type_id, item.bundle_id)] += item.quantity
    return dict(wanted)


def checkout(
    session: Session,
    *,
    event: Event,
    buyer: User | None,
    wanted: Sequence[WantedLine],
    buyer_name: str,
    buyer_email: str,
    settings: PurchaseSettings,
    buyer_phone: str | None = None,
    discount_code: str | None = None,
    payment_method: PaymentMethod = PaymentMethod.STRIPE,
    complimentary: bool = False,
    by_user: User | None = None,
    sold_by_device_id: int | None = None,
    now: datetime | None = None,
    signing_key_version: int | None = None,
) -> Outcome:
    """Place a PENDING order holding its inventory; an order that costs nothing completes now.
    ``signing_key_version``: the event's active key version if the caller read it with the
    event (``orders.api.load_event_for_checkout``), saving a query.

    Raises ``validation_failed`` (422) for a bad request, ``sold_out`` (409) when too few are
    left, ``invalid_state`` (409) when the event is not on sale.
    """
    now = now or utcnow()
    _check_event(event, complimentary, now)
    if not wanted:
        raise validation_error({"items": ["ask for at least one ticket"]})
    rows: list[object] = []
    lines = _priced_lines(session, event, wanted, now, complimentary, rows)
    code: DiscountCode | None = None
    discount: pricing.Discount | None = None
    if discount_code and not complimentary:
        code, discount = discount_for_checkout(session, event=event, text=discount_code,
                                               buyer=buyer, now=now)
    # An order that costs nothing before fees pays no fee (pricing.quote): no fee row to read.
    free = sum(line.subtotal_cents for line in lines) == 0
    price = pricing.quote(lines, discount=discount,
                          fees=(settings.default_fees if free
                                else event_fees(session, event, settings.default_fees)))
    method = PaymentMethod.FREE if price.total_cents == 0 else payment_method
    free_now = method is PaymentMethod.FREE
    order = build(
        Order, order_number=new_order_number(), event_id=event.id,
        user_id=buyer.id if buyer else None,
        subtotal_cents=price.subtotal_cents, discount_cents=price.discount_cents,
        fees_cents=price.fees_cents, total_cents=price.total_cents,
        discount_code_id=code.id if code and price.discount_cents else None,
        payment_method=method,
        # A free order completes in this transaction: inserted COMPLETED with its tickets in one
        # statement (confirm_order, ``_new``); nobody else ever sees it PENDING.
        payment_status=PaymentStatus.COMPLETED if free_now else PaymentStatus.PENDING,
        completed_at=now if free_now else None,
        # A seller's sale (the box office): comps are recorded in the audit log instead.
        sold_by_seller_id=(by_user.id if by_user is not None and by_user is not buyer
                           and not complimentary else None),
        sold_by_device_id=sold_by_device_id,
        buyer_name=buyer_name, buyer_email=buyer_email.strip().lower(), buyer_phone=buyer_phone,
        created_at=now, updated_at=now,
        items=[build(OrderItem, ticket_type_id=line.ticket_type_id, bundle_id=line.bundle_id,
                     quantity=line.quantity, price_per_item_cents=line.unit_cents,
                     subtotal_cents=line.subtotal_cents) for line in lines],
    )
    if free_now:
        outcome = confirm_order(session, order, method=PaymentMethod.FREE, settings=settings,
                                now=now, _held=False, _new=True,
                                _key_version=signing_key_version)
        if complimentary:
            record(session, action="order.complimentary", entity_type="order",
                   entity_id=order.id, user=by_user, event_id=event.id,
                   details={"tickets": sum(line.quantity for line in lines)})
        return outcome
    # A PENDING order: the order, its items and its holds in one statement, the units counted
    # as reserved last (the inventory row locks are held only until the commit).
    wanted_stock = _wanted_stock(order)
    ids = take_ids(session, {Order: 1, OrderItem: len(order.items),
                                InventoryHold: len(wanted_stock)})
    _number_new_order(order, ids)
    placed = holds.new_holds(order, wanted_stock,
                             expires_at=now + timedelta(minutes=settings.hold_minutes), now=now)
    for hold, hold_id in zip(placed, ids[InventoryHold], strict=True):
        hold.id = hold_id
    insert_new(session, [order, *order.items, *placed])
    holds.reserve(session, wanted=wanted_stock, now=now)
    return Outcome(order=order)


def _number_new_order(order: Order, ids: dict[type[Base], list[int]]) -> None:
    order.id = ids[Order][0]
    for item, item_id in zip(order.items, ids[OrderItem], strict=True):
        item.id, item.order_id = item_id, order.id


def hold_expires_at(session: Session, order: Order) -> datetime | None:
    """When the order's earliest live hold lapses (None for an order that is not PENDING)."""
    if order.payment_status is not PaymentStatus.PENDING:
        return None
    return session.scalar(
        sa.select(sa.func.min(InventoryHold.expires_at))
        .where(InventoryHold.order_id == order.id, InventoryHold.released_at.is_(None))
    )


def confirm_order(
    session: Session,
    order: Order,
    *,
    method: PaymentMethod,
    settings: PurchaseSettings,
    by_user: User | None = None,
    now: datetime | None = None,
    _held: bool = True,
    _new: bool = False,
    _key_version: int | None = None,
) -> Outcome:
    """Move ``order`` from PENDING to COMPLETED, issue its tickets, queue their e-mail.

    The ONE way an order completes (free, complimentary, cash at the box office, card by the
    Stripe webhook). Confirming a completed order again issues nothing and returns it. Raises
    ``sold_out`` (409) if the hold lapsed and the units were sold meanwhile, ``conflict`` (409)
    if its discount code was used up meanwhile; the order then stays PENDING.

    On PostgreSQL its last statement takes the event's door change counter, which stays locked
    until the commit: commit soon after, and take no other row lock in between.

    ``_new`` (checkout only): ``order`` (COMPLETED, with its items) is not inserted yet; it is
    inserted with its tickets and outbox row in one statement, and no guarding UPDATE is needed.
    ``_key_version``: the event's signing key version, when the caller read it with the event.
    """
    now = now or utcnow()
    moved = 1 if _new else holds._rowcount(session.execute(
        sa.update(Order)
        .where(Order.id == order.id, Order.payment_status == PaymentStatus.PENDING)
        .values(payment_status=PaymentStatus.COMPLETED, payment_method=method,
                completed_at=now, updated_at=now)
    ))
    if moved != 1:
        session.refresh(order)
        if order.payment_status is PaymentStatus.COMPLETED:
            return Outcome(order=order)
        raise ApiError(409, Code.INVALID_STATE,
                       f"a {order.payment_status.value} order cannot be confirmed")
    event = session.get(Event, order.event_id)
    assert event is not None
    _ensure_signing_key(session, event.id)
    units = [(item_ticket_type(session, item), item_bundle(session, item))
             for item in order.items for _ in range(item.quantity)]
    parents: list[Base] = [order, *order.items] if _new else []
    alongside: Counter[type[Base]] = Counter(type(row) for row in parents)
    alongside[OutboxMessage] += 1
    ids, numbers, key_version = prepare_tickets(
        session, event_id=event.id, count=len(units), master_secret=settings.master_secret,
        alongside=alongside, key_version=_key_version)
    if _new:
        _number_new_order(order, ids)
    mail = build(OutboxMessage, id=ids[OutboxMessage][0], kind=MailKind.ORDER_TICKETS,
                 order_id=order.id, to_email=order.buyer_email, status=MailStatus.PENDING,
                 attempts=0, next_attempt_at=now, created_at=now)
    issued = [
        signed_ticket(ticket_id=ticket_id, number=number, key_version=key_version,
                      master_secret=settings.master_secret, order=order, event=event,
                      ticket_type=ticket_type, bundle=bundle, holder_name=order.buyer_name,
                      holder_email=order.buyer_email,
                      days=valid_days(event, ticket_type, bundle), now=now,
                      original_owner_id=order.user_id, current_owner_id=order.user_id)
        for (ticket_type, bundle), ticket_id, number
        in zip(units, ids[TicketInstance], numbers, strict=True)
    ]
    if by_user is not None:
        record(session, action="order.confirm", entity_type="order", entity_id=order.id,
               user=by_user, event_id=order.event_id, details={"method": method.value})
    # Locks in the one order (docs/purchase.md): the inventory rows, the discount code, then the
    # door change counter, taken by the insert itself (PostgreSQL) just before the commit. The
    # common sale (one ticket type or bundle, no hold, no code) is counted by the insert too.
    wanted = _wanted_stock(order)
    postgres = session.get_bind().dialect.name == "postgresql"
    fused = postgres and len(wanted) == 1 and not _held and order.discount_code_id is None
    if not fused:
        holds.sell(session, order=order, wanted=wanted, now=now, held=_held)
        if order.discount_code_id is not None:
            use_discount_code(session, code_id=order.discount_code_id, order=order,
                              inserted=not _new)
    rows, links = [*parents, *issued, mail], day_links(issued)
    guard = holds.take_guard(*next(iter(wanted.items())), now) if fused else None
    # Fused, with no transaction open yet (a checkout's first write), this one statement is
    # the whole sale and commits on its own (bulk.insert_new, db.standalone).
    # A new order's rows are only read back, to answer: they need not join the session.
    done = insert_new(session, rows, links, door_event_id=event.id, guard=guard, attach=not _new)
    if not done.guarded:  # too few free as counted, nothing written: release expired holds,
        # count again (raises sold_out), then insert (a transaction is open by then)
        holds.sell(session, order=order, wanted=wanted, now=now, held=False)
        done = insert_new(session, rows, links, door_event_id=event.id, attach=not _new)
    if done.number is None:  # not numbered in the insert (SQLite)
        touch_tickets(session, event.id, [ticket.id for ticket in issued])
    logger.info("order %s completed (%s, %d tickets)", order.order_number, method.value,
                len(issued))
    return Outcome(order=order, issued=issued, outbox_ids=[mail.id], completed_now=True)


# Events known to have a key version (rows are never deleted): skips a query per order.
_KEYED: set[tuple[int, int]] = set()


def _ensure_signing_key(session: Session, event_id: int) -> None:
    """Create the event's first key version safely when two first buyers confirm at once."""
    marker = (id(session.get_bind()), event_id)
    if marker in _KEYED:
        return
    if session.scalar(sa.select(EventKeyVersion.id).where(EventKeyVersion.event_id == event_id)
                      .limit(1)) is None:
        try:
            with session.begin_nested():
                active_key_version(session, event_id)
        except IntegrityError:
            logger.info("event %s: key version 1 was created by a concurrent buyer", event_id)
            return
    else:
        _KEYED.add(marker)


def item_ticket_type(session: Session, item: OrderItem) -> TicketType | None:
    return session.get(TicketType, item.ticket_type_id) if item.ticket_type_id else None


def item_bundle(session: Session, item: OrderItem) -> Bundle | None:
    return session.get(Bundle, item.bundle_id) if item.bundle_id else None


def cancel_order(
    session: Session, order: Order, *, by_user: User | None, reason: str,
    now: datetime | None = None,
) -> Outcome:
    """Cancel ``order``: a PENDING one releases its holds (FAILED); a COMPLETED one has its
    tickets CANCELLED and revoked, its units put back on sale, its money refunded through the
    payment method's hook (REFUNDED). Cancelling again changes nothing."""
    now = now or utcnow()
    current = order.payment_status
    if current not in (PaymentStatus.PENDING, PaymentStatus.COMPLETED):
        return Outcome(order=order)
    target = PaymentStatus.FAILED if current is PaymentStatus.PENDING else PaymentStatus.REFUNDED
    moved = holds._rowcount(session.execute(
        sa.update(Order).where(Order.id == order.id, Order.payment_status == current)
        .values(payment_status=target, updated_at=now)
    ))
    if moved != 1:
        session.refresh(order)
        return cancel_order(session, order, by_user=by_user, reason=reason, now=now)
    if current is PaymentStatus.PENDING:
        holds.release(session, order=order, now=now)
    else:
        tickets = list(session.scalars(
            sa.select(TicketInstance).where(
                TicketInstance.order_id == order.id,
                TicketInstance.status.in_([TicketStatus.VALID, TicketStatus.SCANNED]))
        ))
        for ticket in tickets:
            ticket.status = TicketStatus.CANCELLED
            ticket.cancelled_at = now
            revoke_ticket(session, event_id=order.event_id, ticket_instance_id=ticket.id,
                          reason="cancelled", user_id=by_user.id if by_user else None)
        holds.unsell(session, sold=_wanted_stock(order))
        if order.discount_code_id is not None:
            session.execute(
                sa.update(DiscountCode)
                .where(DiscountCode.id == order.discount_code_id, DiscountCode.current_uses > 0)
                .values(current_uses=DiscountCode.current_uses - 1)
            )
        refund(session, order)
    record(session, action="order.cancel", entity_type="order", entity_id=order.id,
           user=by_user, event_id=order.event_id,
           details={"reason": reason, "was": current.value})
    session.flush()
    return Outcome(order=order)


def cancel_event_sales(
    session: Session, event: Event, *, by_user: User, reason: str, now: datetime | None = None,
) -> int:
    """Cancel the event and every PENDING or COMPLETED order of it; returns how many orders."""
    cancel_event(session, event, user=by_user)
    orders = list(session.scalars(
        sa.select(Order).where(
            Order.event_id == event.id,
            Order.payment_status.in_([PaymentStatus.PENDING, PaymentStatus.COMPLETED]))
        .order_by(Order.id)
    ))
    for order in orders:
        cancel_order(session, order, by_user=by_user, reason=reason, now=now)
    return len(orders)


def tidy_expired_orders(session: Session, *, now: datetime | None = None) -> int:
    """Release expired holds and mark PENDING orders with no live hold FAILED (housekeeping)."""
    now = now or utcnow()
    holds.tidy_expired(session, now=now)
    live = sa.select(InventoryHold.id).where(
        InventoryHold.order_id == Order.id, InventoryHold.released_at.is_(None)).exists()
    lapsed = holds._rowcount(session.execute(
        sa.update(Order)
        .where(Order.payment_status == PaymentStatus.PENDING, ~live,
               sa.select(InventoryHold.id).where(InventoryHold.order_id == Order.id).exists())
        .values(payment_status=PaymentStatus.FAILED, updated_at=now)
        .execution_options(synchronize_session=False)
    ))
    return lapsed
