"""The purchase engine: checkout (hold + PENDING order), completion, cancellation, comps.

An order's life, as the code reads (docs/purchase.md): **hold** (a PENDING order's units are
reserved until its hold lapses) -> **price** -> **order** -> :func:`complete_order`, the one way
an order completes, whatever pays (free, comp, cash, card): the order moves to COMPLETED, its
**tickets are issued and signed**, its units are counted as sold and its discount code used;
at commit the door domain numbers the new tickets (**door-visible**); **after the commit** the
receivers of ``signals.order_completed`` react (the mail domain queued the tickets e-mail in the
transaction and sends it once committed).

Transactions: each service flushes and never commits; the route commits once. Lock order,
always: the order row -> inventory rows (ticket types, then bundles, by id) -> the discount code
row -> the event's door change counter (taken at commit by ``door.changes``).
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
from sync_server.config import Config
from sync_server.db import utcnow
from sync_server.errors import ApiError, Code, validation_error
from sync_server.events.models import Bundle, Event, EventStatus, EventType, TicketType
from sync_server.keys.models import EventKeyVersion
from sync_server.keys.services import active_key_version
from sync_server.orders import free_sale, holds, pricing
from sync_server.orders.discounts import discount_for_checkout, use_discount_code
from sync_server.orders.models import (
    DiscountCode,
    EventFees,
    InventoryHold,
    Order,
    OrderItem,
    PaymentMethod,
    PaymentStatus,
)
from sync_server.signals import order_completed
from sync_server.tickets.models import TicketInstance
from sync_server.tickets.services import Unit, issue_tickets

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
    """What a service did: the order, and the tickets it issued if it completed it now."""

    order: Order
    issued: list[TicketInstance] = field(default_factory=list)
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
) -> list[pricing.Line]:
    """Validate and price the lines (422 ``validation_failed`` naming each bad one)."""
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


def wanted_stock(order: Order) -> dict[holds.Stock, int]:
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
    hold_only: bool = False,
) -> Outcome:
    """Price ``wanted`` and place the order: one that costs nothing completes now
    (:func:`complete_order`, method FREE); any other is PENDING, its units held until
    ``settings.hold_minutes`` from now, for its payment method to complete.
    ``signing_key_version``: the event's active key version if the caller read it with the event.
    ``hold_only``: place a PENDING order with its hold even when it costs nothing (a waiting-list
    offer: the ticket is reserved for its person, who completes the order when accepting it).

    Raises ``validation_failed`` (422) for a bad request, ``sold_out`` (409) when too few are
    left, ``invalid_state`` (409) when the event is not on sale.
    """
    now = now or utcnow()
    _check_event(event, complimentary, now)
    if not wanted:
        raise validation_error({"items": ["ask for at least one ticket"]})
    lines = _priced_lines(session, event, wanted, now, complimentary)
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
    seller = by_user is not None and by_user is not buyer
    if free_sale.applies(lines, price, complimentary=complimentary, discount_code=discount_code,
                         seller=seller, device=sold_by_device_id is not None,
                         key_version=signing_key_version):
        assert signing_key_version is not None
        order, tickets = free_sale.sell(
            session, event=event, line=lines[0], buyer_id=buyer.id if buyer else None,
            buyer_name=buyer_name, buyer_email=buyer_email.strip().lower(),
            buyer_phone=buyer_phone, order_number=new_order_number(),
            master_secret=settings.master_secret, key_version=signing_key_version, now=now)
        return Outcome(order=order, issued=tickets, completed_now=True)
    order = Order(
        order_number=new_order_number(), event_id=event.id,
        user_id=buyer.id if buyer else None,
        subtotal_cents=price.subtotal_cents, discount_cents=price.discount_cents,
        fees_cents=price.fees_cents, total_cents=price.total_cents,
        discount_code_id=code.id if code and price.discount_cents else None,
        payment_method=payment_method, payment_status=PaymentStatus.PENDING,
        # A seller's sale (the box office): comps are recorded in the audit log instead.
        sold_by_seller_id=by_user.id if by_user is not None and seller and not complimentary
        else None,
        sold_by_device_id=sold_by_device_id,
        buyer_name=buyer_name, buyer_email=buyer_email.strip().lower(), buyer_phone=buyer_phone,
        created_at=now, updated_at=now, units=sum(line.quantity for line in lines),
        items=[OrderItem(ticket_type_id=line.ticket_type_id, bundle_id=line.bundle_id,
                         quantity=line.quantity, price_per_item_cents=line.unit_cents,
                         subtotal_cents=line.subtotal_cents) for line in lines],
    )
    session.add(order)
    if price.total_cents == 0 and not hold_only:
        outcome = complete_order(session, order, method=PaymentMethod.FREE, settings=settings,
                                 now=now, signing_key_version=signing_key_version)
        if complimentary:
            record(session, action="order.complimentary", entity_type="order",
                   entity_id=order.id, user=by_user, event_id=event.id,
                   details={"tickets": sum(line.quantity for line in lines)})
        return outcome
    # The hold: the order and its hold rows first, the units counted as reserved last (the
    # inventory row locks are then held only until the commit).
    stock = wanted_stock(order)
    session.flush()
    session.add_all(holds.new_holds(order, stock, now=now,
                                    expires_at=now + timedelta(minutes=settings.hold_minutes)))
    session.flush()
    holds.reserve(session, wanted=stock, now=now)
    return Outcome(order=order)


def hold_expires_at(session: Session, order: Order) -> datetime | None:
    """When the order's earliest live hold lapses (None for an order that is not PENDING)."""
    if order.payment_status is not PaymentStatus.PENDING:
        return None
    return session.scalar(
        sa.select(sa.func.min(InventoryHold.expires_at))
        .where(InventoryHold.order_id == order.id, InventoryHold.released_at.is_(None))
    )


def complete_order(
    session: Session,
    order: Order,
    *,
    method: PaymentMethod,
    settings: PurchaseSettings,
    by_user: User | None = None,
    now: datetime | None = None,
    signing_key_version: int | None = None,
) -> Outcome:
    """Complete ``order`` paid by ``method``: the ONE way an order completes (free and comps
    from :func:`checkout`, cash at the box office, card from the payment webhook).

    The order moves from PENDING to COMPLETED; its tickets are issued and signed;
    ``order_completed`` is sent (the mail domain queues the tickets e-mail in this transaction,
    inserted with the tickets); its units are counted as sold (its own holds converted, even
    lapsed ones nobody released yet; otherwise the units must still be free); its discount code
    counts a use. The doors hear of the
    tickets at commit (``door.changes``); the e-mail goes after it. ``by_user``: the seller or
    organizer who confirmed it (audited).

    Completing a COMPLETED order again issues nothing and returns it. Raises ``sold_out`` (409)
    if the hold lapsed and the units were sold meanwhile, ``discount_code_used_up`` (409) if its
    code ran out meanwhile, ``invalid_state`` (409) for an order that is neither; the caller
    rolls back and the order stays PENDING.
    """
    now = now or utcnow()
    state = sa.inspect(order)
    placed = state.persistent  # in the database already: only a PENDING one moves
    if placed and not _moved_from_pending(session, order, method, now):
        session.refresh(order)
        if order.payment_status is PaymentStatus.COMPLETED:
            return Outcome(order=order)
        raise ApiError(409, Code.INVALID_STATE,
                       f"a {order.payment_status.value} order cannot be confirmed")
    if not placed:  # new in this transaction (a free checkout): nobody else can see it yet
        if not state.pending:
            raise ValueError("complete an order of this session (loaded or just added)")
        order.payment_status, order.payment_method = PaymentStatus.COMPLETED, method
        order.completed_at = now
        session.flush()
    event = session.get(Event, order.event_id)
    assert event is not None
    if signing_key_version is None:
        _ensure_signing_key(session, event.id)
    units: list[Unit] = [(_ticket_type(session, item), _bundle(session, item))
                         for item in order.items for _ in range(item.quantity)]
    tickets = issue_tickets(
        session, order=order, event=event, units=units, holder_name=order.buyer_name,
        holder_email=order.buyer_email, master_secret=settings.master_secret, now=now,
        owner_id=order.user_id, original_owner_id=order.user_id,
        key_version=signing_key_version)
    if by_user is not None:
        record(session, action="order.confirm", entity_type="order", entity_id=order.id,
               user=by_user, event_id=order.event_id, details={"method": method.value})
    # Receivers add their rows now (the mail domain's e-mail), so ONE flush inserts them with
    # the tickets, before any inventory lock; a sold-out below rolls them all back.
    order_completed.send(order, session=session, tickets=tickets, now=now, placed=placed)
    session.flush()
    # The locks, in order, as late as possible: inventory rows, then the discount code.
    holds.sell(session, order=order, wanted=wanted_stock(order), now=now, held=placed)
    if order.discount_code_id is not None:
        use_discount_code(session, code_id=order.discount_code_id, order=order)
    logger.info("order %s completed (%s, %d tickets)", order.order_number, method.value,
                len(tickets))
    return Outcome(order=order, issued=tickets, completed_now=True)


def _moved_from_pending(session: Session, order: Order, method: PaymentMethod,
                        now: datetime) -> bool:
    """The conditional UPDATE that completes a PENDING order and locks its row (False: it was
    not PENDING any more, e.g. a concurrent completion won)."""
    return holds.rowcount(session.execute(
        sa.update(Order)
        .where(Order.id == order.id, Order.payment_status == PaymentStatus.PENDING)
        .values(payment_status=PaymentStatus.COMPLETED, payment_method=method,
                completed_at=now, updated_at=now)
    )) == 1


def _ensure_signing_key(session: Session, event_id: int) -> None:
    """Create the event's first key version safely when two first buyers complete at once
    (events made before ``create_event`` created it; a savepoint makes the loser's no-op)."""
    if session.scalar(sa.select(EventKeyVersion.id).where(EventKeyVersion.event_id == event_id)
                      .limit(1)) is not None:
        return
    try:
        with session.begin_nested():
            active_key_version(session, event_id)
    except IntegrityError:
        logger.info("event %s: key version 1 was created by a concurrent buyer", event_id)


def _ticket_type(session: Session, item: OrderItem) -> TicketType | None:
    return session.get(TicketType, item.ticket_type_id) if item.ticket_type_id else None


def _bundle(session: Session, item: OrderItem) -> Bundle | None:
    return session.get(Bundle, item.bundle_id) if item.bundle_id else None
