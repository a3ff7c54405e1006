"""The desk's rows <-> the core's values, and the server's refusals in the seller's words
(``core/desk.py`` uses these; storage never imports the core above it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from scanner_app.core.box_api import BoxApiError, Seller
from scanner_app.core.box_office import (
    IssuedTicket,
    Sale,
    SaleMode,
    SaleRequest,
    SaleState,
    StockTicket,
    Tier,
)
from scanner_app.storage import models as m
from scanner_app.storage import sales as rows


def words(exc: BoxApiError) -> str:
    words = {
        "wrong_seller_code": "That is not your code of the day.",
        "allocation_exceeded": "That is more than your allocation has left.",
        "sold_out": "Sold out.",
        "event_cancelled": "This event is cancelled: no sales.",
        "seller_inactive": "Your seller account is not active for this event.",
        "rate_limited": "Too many wrong codes: wait a few minutes.",
        "forbidden": "This device may not sell for this event (pair it as a box office).",
        "offline": "The server cannot be reached.",
    }
    return words.get(exc.code, exc.message or exc.code)


def tier_of(row: m.BoxTier, stock: int) -> Tier:
    return Tier(row.tier_id, row.event_id, row.night, row.name, row.price_cents, row.available,
                stock)


def tier_row(t: Tier) -> m.BoxTier:
    return m.BoxTier(tier_id=t.tier_id, event_id=t.event_id, night=t.night, name=t.name,
                     price_cents=t.price_cents, available=t.available)


def stock_of(row: m.BoxStock) -> StockTicket:
    return StockTicket(row.ticket_id, row.tier_id, row.token, row.ticket_number)


def stock_row(seller: Seller, t: StockTicket) -> m.BoxStock:
    return m.BoxStock(ticket_id=t.ticket_id, event_id=seller.event_id, tier_id=t.tier_id,
                      ticket_number=t.ticket_number, token=t.token, seller_id=seller.seller_id)


def ticket_row(sale_id: str, t: IssuedTicket) -> m.BoxSaleTicket:
    return m.BoxSaleTicket(ticket_id=t.ticket_id, sale_id=sale_id, ticket_number=t.ticket_number,
                           tier_id=t.tier_id, tier_name=t.tier_name, price_cents=t.price_cents,
                           token=t.token)


def sale_row(request: SaleRequest, night: str, total: int, mode: SaleMode, state: SaleState,
              now: datetime) -> m.BoxSale:
    return m.BoxSale(
        sale_id=request.sale_id, mode=mode.value, state=state.value, sold_at=now,
        event_id=request.event_id, night=night, order_number="",
        lines_json=rows.lines_json(request.lines), total_cents=total,
        tendered_cents=request.tendered_cents, buyer_name=request.buyer_name,
        buyer_email=request.buyer_email, buyer_phone=request.buyer_phone,
        seller_code=request.seller_code if mode is SaleMode.ONLINE else "",
        uploaded=mode is SaleMode.ONLINE, printed=False, void_pending=False,
    )


def request_of(row: m.BoxSale) -> SaleRequest:
    return SaleRequest(event_id=row.event_id, lines=tuple(rows.lines_of(row)),
                       seller_code=row.seller_code, tendered_cents=row.tendered_cents,
                       buyer_name=row.buyer_name, buyer_email=row.buyer_email,
                       buyer_phone=row.buyer_phone, sale_id=row.sale_id)


def sale_of(s: Session, row: m.BoxSale) -> Sale:
    tickets = tuple(IssuedTicket(t.ticket_id, t.ticket_number, t.tier_id, t.tier_name,
                                 t.price_cents, t.token) for t in rows.sale_tickets(s, row.sale_id))
    return Sale(sale_id=row.sale_id, mode=SaleMode(row.mode), state=SaleState(row.state),
                sold_at=row.sold_at, event_id=row.event_id, night=row.night,
                order_number=row.order_number, total_cents=row.total_cents,
                tendered_cents=row.tendered_cents, tickets=tickets, buyer_name=row.buyer_name,
                buyer_email=row.buyer_email, buyer_phone=row.buyer_phone,
                uploaded=row.uploaded, printed=row.printed)
