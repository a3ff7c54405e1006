"""Cash sales at the box office: hold, confirm with the seller's code, release, refund.

Allocation: a seller may have at most ``allocated_tickets`` units out at once, counting tickets
sold (``authorized_sellers.sold_tickets``), units on live cash holds and unsold offline stock.
Every change to those is made with the seller's row locked (PostgreSQL ``FOR NO KEY UPDATE``;
SQLite: the database write lock), taken FIRST: seller row -> order row -> inventory rows (the
purchase engine's own order after it), so two desks of one seller never oversell the allocation
and the inventory locks keep online buyers and the box office from overselling the event.

Tickets are issued only by ``orders.services.complete_order`` (method CASH for a sale; the
zero-priced stock order for offline stock, see ``box_office.stock``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from sync_server.accounts.models import User
from sync_server.audit.services import record
from sync_server.box_office.models import (
    BoxOfficeSale,
    SaleKind,
    SaleStatus,
    StockStatus,
    StockTicket,
)
from sync_server.db import utcnow
from sync_server.errors import ApiError, Code, not_found
from sync_server.events.models import Event, EventStatus
from sync_server.orders.cancellation import cancel_order
from sync_server.orders.models import Order, PaymentMethod
from sync_server.orders.services import PurchaseSettings, WantedLine, checkout, complete_order
from sync_server.staff.models import AuthorizedSeller, SellerStatus
from sync_server.tickets.models import TicketInstance

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class BoxOfficeSettings:
    purchase: PurchaseSettings
    hold_minutes: float = 5.0
    stock_max: int = 20
    code_attempts: int = 5
    code_window_seconds: int = 300


def commission_of(total_cents: int, rate_bp: int | None) -> int:
    """The seller's commission on a sale: basis points, rounded half up, integers only."""
    return (total_cents * (rate_bp or 0) + 5_000) // 10_000


def check_event_sells(event: Event, now: datetime) -> None:
    if event.status is EventStatus.CANCELLED:
        raise ApiError(409, Code.EVENT_CANCELLED, "this event was cancelled: nothing can be sold")
    if event.status is not EventStatus.PUBLISHED:
        raise ApiError(409, Code.INVALID_STATE, "this event is not on sale yet")
    if event.ends_at is not None and now >= event.ends_at:
        raise ApiError(409, Code.INVALID_STATE, "this event is over")


def check_seller_active(seller: AuthorizedSeller) -> None:
    if seller.status is not SellerStatus.ACTIVE:
        raise ApiError(403, Code.SELLER_INACTIVE,
                       f"this seller is {seller.status.value}: ask the organizer")


def lock_seller(session: Session, seller: AuthorizedSeller) -> None:
    """Lock the seller's row until the transaction ends and reload its counters."""
    table = AuthorizedSeller.__table__
    assert isinstance(table, sa.Table)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(table.c.id).where(table.c.id == seller.id)
                        .with_for_update(key_share=True))
    else:
        session.execute(table.update().where(table.c.id == seller.id)
                        .values(sold_tickets=table.c.sold_tickets))
    session.refresh(seller)


def release_lapsed(session: Session, *, seller_id: int | None = None,
                   now: datetime | None = None) -> int:
    """Release the cash holds that lapsed (of one seller, or all: the tidy job); their orders
    are cancelled (holds given back). Returns how many."""
    now = now or utcnow()
    stmt = sa.select(BoxOfficeSale).where(BoxOfficeSale.status == SaleStatus.HELD,
                                          BoxOfficeSale.expires_at <= now)
    if seller_id is not None:
        stmt = stmt.where(BoxOfficeSale.seller_id == seller_id)
    lapsed = list(session.scalars(stmt.order_by(BoxOfficeSale.id)))
    for sale in lapsed:
        _release(session, sale, now=now, reason="the cash hold lapsed")
    return len(lapsed)


def _release(session: Session, sale: BoxOfficeSale, *, now: datetime, reason: str,
             by_user: User | None = None) -> None:
    sale.status = SaleStatus.RELEASED
    order = session.get(Order, sale.order_id) if sale.order_id else None
    if order is not None:
        cancel_order(session, order, by_user=by_user, reason=reason, now=now)
    session.flush()


def units_out(session: Session, seller: AuthorizedSeller, now: datetime) -> tuple[int, int]:
    """(units on live cash holds, unsold stock tickets) of the seller."""
    held = session.scalar(sa.select(sa.func.coalesce(sa.func.sum(BoxOfficeSale.quantity), 0))
                          .where(BoxOfficeSale.seller_id == seller.id,
                                 BoxOfficeSale.status == SaleStatus.HELD,
                                 BoxOfficeSale.expires_at > now))
    stock = session.scalar(sa.select(sa.func.count()).select_from(StockTicket)
                           .where(StockTicket.seller_id == seller.id,
                                  StockTicket.status == StockStatus.OUT))
    return int(held or 0), int(stock or 0)


def take_allocation(session: Session, seller: AuthorizedSeller, quantity: int,
                    now: datetime) -> None:
    """With the seller locked: refuse ``allocation_exceeded`` unless ``quantity`` more fit."""
    held, stock = units_out(session, seller, now)
    left = seller.allocated_tickets - seller.sold_tickets - held - stock
    if quantity > left:
        raise ApiError(409, Code.ALLOCATION_EXCEEDED,
                       f"this seller has {max(left, 0)} tickets left to sell, {quantity} asked",
                       fields={"items": [f"only {max(left, 0)} left in this seller's allocation"]})


def find_sale(session: Session, event: Event, sale_id: int) -> BoxOfficeSale:
    sale = session.get(BoxOfficeSale, sale_id)
    if sale is None or sale.event_id != event.id:
        raise not_found("sale")
    return sale


def sale_by_client_id(session: Session, event: Event, client_sale_id: str) -> BoxOfficeSale | None:
    return session.scalars(sa.select(BoxOfficeSale).where(
        BoxOfficeSale.event_id == event.id,
        BoxOfficeSale.client_sale_id == client_sale_id)).one_or_none()


def place_hold(
    session: Session, *, event: Event, seller: AuthorizedSeller, device_id: int | None,
    client_sale_id: str, wanted: Sequence[WantedLine], buyer_name: str, buyer_email: str,
    buyer_phone: str | None, settings: BoxOfficeSettings, now: datetime | None = None,
) -> tuple[BoxOfficeSale, bool]:
    """Hold ``wanted`` for a cash sale (``settings.hold_minutes``); returns (sale, created).
    The same ``client_sale_id`` again returns the first sale (a retry after a lost answer)."""
    now = now or utcnow()
    check_event_sells(event, now)
    check_seller_active(seller)
    lock_seller(session, seller)
    existing = sale_by_client_id(session, event, client_sale_id)
    if existing is not None:
        if existing.seller_id != seller.id:
            raise ApiError(409, Code.CONFLICT, "this client_sale_id belongs to another sale")
        return existing, False
    release_lapsed(session, seller_id=seller.id, now=now)
    quantity = sum(line.quantity for line in wanted)
    take_allocation(session, seller, quantity, now)
    purchase = dataclasses.replace(settings.purchase, hold_minutes=settings.hold_minutes)
    outcome = checkout(
        session, event=event, buyer=None, wanted=wanted, buyer_name=buyer_name or "Cash buyer",
        buyer_email=buyer_email, buyer_phone=buyer_phone, settings=purchase,
        payment_method=PaymentMethod.CASH, by_user=seller.user, sold_by_device_id=device_id,
        now=now)
    order = outcome.order
    sale = BoxOfficeSale(
        event_id=event.id, seller_id=seller.id, device_id=device_id, order_id=order.id,
        client_sale_id=client_sale_id, kind=SaleKind.ONLINE, status=SaleStatus.HELD,
        quantity=quantity, total_cents=order.total_cents, list_cents=order.total_cents,
        buyer_name=buyer_name, buyer_email=buyer_email.strip().lower(), buyer_phone=buyer_phone,
        expires_at=now + timedelta(minutes=settings.hold_minutes), created_at=now)
    session.add(sale)
    if outcome.completed_now:  # nothing to pay (a free tier): no cash, no code
        _count_sold(seller, sale, now)
    session.flush()
    return sale, True


def _count_sold(seller: AuthorizedSeller, sale: BoxOfficeSale, now: datetime) -> None:
    sale.status, sale.sold_at = SaleStatus.COMPLETED, now
    sale.commission_cents = commission_of(sale.total_cents, seller.commission_rate_bp)
    seller.sold_tickets += sale.quantity
    seller.commission_earned_cents += sale.commission_cents


def confirm_sale(
    session: Session, *, sale: BoxOfficeSale, seller: AuthorizedSeller,
    settings: BoxOfficeSettings, now: datetime | None = None,
) -> list[TicketInstance]:
    """Complete a held cash sale (the caller checked the seller's code): tickets issued by
    ``complete_order(method=CASH)``. A COMPLETED sale is returned as it is (a retry)."""
    now = now or utcnow()
    lock_seller(session, seller)
    session.refresh(sale)
    if sale.status is SaleStatus.COMPLETED:
        return []
    check_seller_active(seller)
    if sale.status is not SaleStatus.HELD:
        raise ApiError(409, Code.INVALID_STATE, f"this sale is {sale.status.value}")
    assert sale.expires_at is not None
    if sale.expires_at <= now:
        raise ApiError(409, Code.HOLD_EXPIRED,
                       "the hold lapsed before the code was entered: start the sale again")
    order = session.get(Order, sale.order_id)
    if order is None:  # pragma: no cover - orders are never deleted
        raise ApiError(409, Code.INVALID_STATE, "the sale's order is gone")
    outcome = complete_order(session, order, method=PaymentMethod.CASH,
                             settings=settings.purchase, by_user=seller.user, now=now)
    _count_sold(seller, sale, now)
    session.flush()
    logger.info("box office: sale %s confirmed by seller %s", sale.id, seller.id)
    return outcome.issued


def drop_hold(session: Session, *, sale: BoxOfficeSale, seller: AuthorizedSeller,
              by_user: User | None, now: datetime | None = None) -> None:
    """Release a held sale now (the buyer walked away); releasing again changes nothing."""
    now = now or utcnow()
    lock_seller(session, seller)
    session.refresh(sale)
    if sale.status in (SaleStatus.RELEASED,):
        return
    if sale.status is not SaleStatus.HELD:
        raise ApiError(409, Code.INVALID_STATE,
                       f"this sale is {sale.status.value}: refund it instead")
    _release(session, sale, now=now, reason="the seller dropped the hold", by_user=by_user)


def sale_tickets(session: Session, sale: BoxOfficeSale) -> list[TicketInstance]:
    if sale.kind is SaleKind.OFFLINE:
        stmt = (sa.select(TicketInstance).join(StockTicket,
                                                StockTicket.ticket_id == TicketInstance.id)
                .where(StockTicket.sale_id == sale.id))
    elif sale.status in (SaleStatus.COMPLETED, SaleStatus.REFUNDED) and sale.order_id:
        stmt = sa.select(TicketInstance).where(TicketInstance.order_id == sale.order_id)
    else:
        return []
    return list(session.scalars(stmt.order_by(TicketInstance.id)))


def cancel_stock_order(session: Session, row: StockTicket, *, by_user: User | None,
                       reason: str, now: datetime) -> None:
    """Cancel the one-ticket order of a stock ticket: the ticket is cancelled and revoked (the
    doors refuse it after their next sync) and its unit is back on sale."""
    order = session.get(Order, row.order_id)
    assert order is not None
    cancel_order(session, order, by_user=by_user, reason=reason, now=now)


def refund_sale(
    session: Session, *, sale: BoxOfficeSale, seller: AuthorizedSeller, by_user: User | None,
    device_id: int | None, reason: str, now: datetime | None = None,
) -> None:
    """Refund (void) a completed cash sale: its tickets are cancelled and revoked for the doors,
    the seller's sold count, cash owed and commission go down; audited. Idempotent."""
    now = now or utcnow()
    lock_seller(session, seller)
    session.refresh(sale)
    if sale.status is SaleStatus.REFUNDED:
        return
    if sale.status is not SaleStatus.COMPLETED:
        raise ApiError(409, Code.INVALID_STATE,
                       f"only a completed sale can be refunded; this one is {sale.status.value}")
    if sale.kind is SaleKind.ONLINE and sale.order_id is not None:
        order = session.get(Order, sale.order_id)
        assert order is not None
        cancel_order(session, order, by_user=by_user, reason=f"box office refund: {reason}",
                     now=now)
    else:
        for row in session.scalars(sa.select(StockTicket).where(StockTicket.sale_id == sale.id)):
            cancel_stock_order(session, row, by_user=by_user,
                               reason=f"box office refund: {reason}", now=now)
    sale.status, sale.refunded_at, sale.refund_reason = SaleStatus.REFUNDED, now, reason
    sale.refunded_by_user_id = by_user.id if by_user else None
    seller.sold_tickets = max(0, seller.sold_tickets - sale.quantity)
    seller.commission_earned_cents = max(0, seller.commission_earned_cents
                                         - sale.commission_cents)
    session.flush()
    record(session, action="box_office.refund", entity_type="box_office_sale", entity_id=sale.id,
           user=by_user, event_id=sale.event_id,
           details={"reason": reason, "total_cents": sale.total_cents,
                    "quantity": sale.quantity, "device_id": device_id,
                    "seller_id": seller.id})


def release_lapsed_job(_sender: object, *, session: Session, now: datetime,
                       **_: object) -> None:
    """``signals.tidying_holds``: the tidy job releases every lapsed cash hold."""
    released = release_lapsed(session, now=now)
    if released:
        logger.info("box office: %d lapsed cash holds released", released)


def close_for_cancelled_event(event: Event, *, session: Session, by_user: User | None = None,
                              reason: str = "", **_: object) -> None:
    """``signals.event_cancelled``: the orders domain cancels (and revokes) every order; here the
    box office's own rows follow: holds RELEASED, sales REFUNDED (cash to hand back), unsold
    stock REVOKED, the sellers' counts and commission back to zero for those."""
    now = utcnow()
    sellers = {s.id: s for s in session.scalars(
        sa.select(AuthorizedSeller).where(AuthorizedSeller.event_id == event.id)
        .order_by(AuthorizedSeller.id))}
    for seller in sellers.values():
        lock_seller(session, seller)
    rows = session.scalars(sa.select(BoxOfficeSale).where(
        BoxOfficeSale.event_id == event.id,
        BoxOfficeSale.status.in_([SaleStatus.HELD, SaleStatus.COMPLETED])))
    for sale in rows:
        if sale.status is SaleStatus.HELD:
            sale.status = SaleStatus.RELEASED
            continue
        seller = sellers[sale.seller_id]
        sale.status, sale.refunded_at = SaleStatus.REFUNDED, now
        sale.refund_reason = f"event cancelled: {reason}"[:500]
        seller.sold_tickets = max(0, seller.sold_tickets - sale.quantity)
        seller.commission_earned_cents = max(0, seller.commission_earned_cents
                                             - sale.commission_cents)
    session.execute(sa.update(StockTicket).where(
        StockTicket.event_id == event.id, StockTicket.status == StockStatus.OUT)
        .values(status=StockStatus.REVOKED, closed_at=now)
        .execution_options(synchronize_session=False))
    session.flush()
