"""What the box-office API and pages show: a seller's totals, the sale menu, sales, tickets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.vocabulary import format_optional_time as iso
from sync_server.box_office.models import BoxOfficeSale, SaleStatus, StockTicket
from sync_server.box_office.services import sale_tickets, units_out
from sync_server.db import utcnow
from sync_server.events.models import Event, TicketType
from sync_server.orders.models import Order
from sync_server.staff.models import AuthorizedSeller
from sync_server.tickets.models import TicketInstance


def _sums(session: Session, seller_ids: Sequence[int]) -> dict[tuple[int, SaleStatus], Any]:
    rows = session.execute(
        sa.select(BoxOfficeSale.seller_id, BoxOfficeSale.status, sa.func.count(),
                  sa.func.coalesce(sa.func.sum(BoxOfficeSale.total_cents), 0),
                  sa.func.coalesce(sa.func.sum(BoxOfficeSale.commission_cents), 0))
        .where(BoxOfficeSale.seller_id.in_(seller_ids))
        .group_by(BoxOfficeSale.seller_id, BoxOfficeSale.status))
    return {(sid, status): (int(n), int(total), int(commission))
            for sid, status, n, total, commission in rows}


def seller_views(session: Session, sellers: Sequence[AuthorizedSeller],
                 now: datetime | None = None) -> list[dict[str, Any]]:
    """Each seller's totals: cash owed and commission of completed sales, refunds, what is out."""
    now = now or utcnow()
    sums = _sums(session, [s.id for s in sellers])
    out = []
    for seller in sellers:
        held, stock = units_out(session, seller, now)
        done = sums.get((seller.id, SaleStatus.COMPLETED), (0, 0, 0))
        refunded = sums.get((seller.id, SaleStatus.REFUNDED), (0, 0, 0))
        out.append({
            "seller_id": seller.id, "name": seller.seller_name, "email": seller.seller_email,
            "status": seller.status.value, "allocated_tickets": seller.allocated_tickets,
            "sold_tickets": seller.sold_tickets, "held_tickets": held,
            "stock_out_tickets": stock,
            "remaining_tickets": max(0, seller.allocated_tickets - seller.sold_tickets
                                     - held - stock),
            "commission_rate_bp": seller.commission_rate_bp,
            "cash_owed_cents": done[1], "commission_cents": done[2],
            "refunded_cents": refunded[1], "sales_count": done[0],
            "refunds_count": refunded[0],
        })
    return out


def totals(views: Sequence[dict[str, Any]]) -> dict[str, int]:
    return {key: sum(v[src] for v in views) for key, src in (
        ("sold_tickets", "sold_tickets"), ("cash_owed_cents", "cash_owed_cents"),
        ("commission_cents", "commission_cents"), ("refunded_cents", "refunded_cents"),
        ("stock_out_tickets", "stock_out_tickets"))}


def _dates(event: Event, ticket_type: TicketType | None) -> list[str]:
    if ticket_type is None:
        return []
    days = ([d for d in event.days if d.id == ticket_type.event_day_id]
            if ticket_type.event_day_id is not None else list(event.days))
    return [d.date.isoformat() for d in days]


def tiers(session: Session, event: Event) -> list[dict[str, Any]]:
    rows = session.scalars(sa.select(TicketType).where(
        TicketType.event_id == event.id, TicketType.active).order_by(TicketType.id))
    return [{"ticket_type_id": t.id, "name": t.name, "price_cents": t.price_cents,
             "available": max(0, t.quantity_total - t.quantity_sold - t.quantity_reserved),
             "valid_dates": _dates(event, t)} for t in rows]


def ticket_json(session: Session, event: Event, ticket: TicketInstance,
                price_cents: int | None = None) -> dict[str, Any]:
    ticket_type = session.get(TicketType, ticket.ticket_type_id) if ticket.ticket_type_id else None
    return {"ticket_id": ticket.id, "ticket_number": ticket.ticket_number,
            "ticket_type_id": ticket.ticket_type_id,
            "ticket_type": ticket_type.name if ticket_type else "",
            "price_cents": (price_cents if price_cents is not None
                            else ticket_type.price_cents if ticket_type else 0),
            "token": ticket.token or "", "holder_name": ticket.holder_name,
            "valid_dates": _dates(event, ticket_type), "status": ticket.status.value}


def stock_json(session: Session, event: Event, row: StockTicket) -> dict[str, Any]:
    ticket = session.get(TicketInstance, row.ticket_id)
    assert ticket is not None
    return {**ticket_json(session, event, ticket, row.price_cents), "stock": True,
            "seller_id": row.seller_id, "stock_status": row.status.value}


def sale_json(session: Session, event: Event, sale: BoxOfficeSale,
              now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    status = sale.status
    if status is SaleStatus.HELD and sale.expires_at is not None and sale.expires_at <= now:
        status = SaleStatus.RELEASED  # lapsed; released for good by the next hold or the tidy job
    order = session.get(Order, sale.order_id) if sale.order_id else None
    tickets = sale_tickets(session, sale)
    if order is not None and sale.kind.value == "ONLINE":
        items = [{"ticket_type_id": i.ticket_type_id, "quantity": i.quantity,
                  "price_cents": i.price_per_item_cents} for i in order.items]
    else:
        counts: dict[int | None, list[int]] = {}
        for ticket in tickets:
            row = session.get(StockTicket, ticket.id)
            entry = counts.setdefault(ticket.ticket_type_id, [0, row.price_cents if row else 0])
            entry[0] += 1
        items = [{"ticket_type_id": k, "quantity": v[0], "price_cents": v[1]}
                 for k, v in counts.items()]
    return {
        "sale_id": sale.id, "client_sale_id": sale.client_sale_id, "seller_id": sale.seller_id,
        "device_id": sale.device_id, "kind": sale.kind.value, "status": status.value,
        "order_number": order.order_number if order is not None else None,
        "quantity": sale.quantity, "total_cents": sale.total_cents,
        "list_cents": sale.list_cents, "commission_cents": sale.commission_cents,
        "buyer_name": sale.buyer_name, "buyer_email": sale.buyer_email,
        "buyer_phone": sale.buyer_phone, "items": items,
        "expires_at": iso(sale.expires_at), "sold_at": iso(sale.sold_at),
        "refunded_at": iso(sale.refunded_at), "refund_reason": sale.refund_reason,
        "tickets": [ticket_json(session, event, t) for t in tickets],
    }


def list_sales(session: Session, event: Event, *, seller_id: int | None,
               status: SaleStatus | None, limit: int = 500) -> list[BoxOfficeSale]:
    stmt = sa.select(BoxOfficeSale).where(BoxOfficeSale.event_id == event.id)
    if seller_id is not None:
        stmt = stmt.where(BoxOfficeSale.seller_id == seller_id)
    if status is not None:
        stmt = stmt.where(BoxOfficeSale.status == status)
    return list(session.scalars(stmt.order_by(BoxOfficeSale.id.desc()).limit(limit)))
