"""A buyer's own orders and tickets: list them, download a ticket's QR, transfer, abandon.

Ownership: an order is the caller's if ``orders.user_id`` is theirs; a ticket as
``my_tickets.mine`` says.
Anything else is "not found", never "forbidden" (no probing other people's ids).
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import Response, current_app

from shared.qr import render_png
from sync_server.api import ApiRequest, Routes
from sync_server.auth.access import Access, require_user
from sync_server.errors import ApiError, Code, not_found
from sync_server.orders import responses as r
from sync_server.orders import schemas
from sync_server.orders.cancellation import cancel_order
from sync_server.orders.models import Order, PaymentStatus
from sync_server.orders.my_tickets import mine, transfer_my_ticket
from sync_server.orders.serialize import order_json, ticket_json
from sync_server.orders.services import hold_expires_at
from sync_server.tickets.models import TicketInstance, TicketStatus

routes = Routes("tickets")  # endpoints "tickets_<view>"
api_route = routes.route

logger = logging.getLogger(__name__)
TAG = "my tickets"


def _my_ticket(req: ApiRequest, ticket_id: int) -> TicketInstance:
    user = require_user(req.actor)
    ticket = req.session.scalars(
        sa.select(TicketInstance).where(TicketInstance.id == ticket_id, mine(user))
    ).one_or_none()
    if ticket is None:
        raise not_found("ticket")
    return ticket


def _my_order(req: ApiRequest, order_id: int) -> Order:
    order = req.session.get(Order, order_id)
    if order is None or order.user_id != require_user(req.actor).id:
        raise not_found("order")
    return order


@api_route("/me/orders", method="GET", access=Access.USER, tag=TAG,
           summary="The signed-in buyer's orders with their tickets, newest first",
           response=r.MyOrdersOut)
def my_orders(req: ApiRequest) -> dict[str, Any]:
    user = require_user(req.actor)
    orders = req.session.scalars(sa.select(Order).where(Order.user_id == user.id)
                                 .order_by(Order.created_at.desc(), Order.id.desc()).limit(200))
    return {"orders": [order_json(req.session, o, tokens=True,
                                  hold_expires_at=hold_expires_at(req.session, o))
                       for o in orders]}


@api_route("/me/tickets", method="GET", access=Access.USER, tag=TAG,
           summary="Tickets the signed-in user holds, and their history (transferred ones)",
           response=r.MyTicketsOut)
def my_tickets(req: ApiRequest) -> dict[str, Any]:
    user = require_user(req.actor)
    my_clause = mine(user)
    history = TicketInstance.original_owner_id == user.id
    rows = req.session.scalars(sa.select(TicketInstance).where(sa.or_(my_clause, history))
                               .order_by(TicketInstance.created_at, TicketInstance.id).limit(500))
    out = []
    for ticket in rows:
        owned = req.session.scalar(sa.select(sa.func.count()).select_from(TicketInstance)
                                   .where(TicketInstance.id == ticket.id, my_clause))
        out.append(ticket_json(ticket, with_token=bool(owned)))
    return {"tickets": out}


@api_route("/me/tickets/qr", method="GET", access=Access.USER, tag=TAG,
           query=schemas.TicketRef, produces="image/png",
           summary="A valid ticket's QR code as a PNG image")
def ticket_qr(req: ApiRequest) -> Response:
    q: schemas.TicketRef = req.query
    ticket = _my_ticket(req, q.ticket_id)
    if ticket.status is not TicketStatus.VALID or ticket.token is None:
        raise ApiError(409, Code.INVALID_STATE, f"a {ticket.status.value} ticket has no QR code")
    response = Response(render_png(ticket.token), mimetype="image/png")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@api_route("/me/tickets/transfer", method="POST", access=Access.USER, tag=TAG,
           body=schemas.TransferBody,
           summary="Give a ticket to someone by e-mail: a new ticket, the old one revoked",
           response=r.TransferOut)
def transfer(req: ApiRequest) -> dict[str, Any]:
    body: schemas.TransferBody = req.body
    user = require_user(req.actor)
    ticket = _my_ticket(req, body.ticket_id)
    new = transfer_my_ticket(req.session, user, ticket, to_name=body.to_name,
                             to_email=body.to_email,
                             master_secret=current_app.extensions["sync_config"].master_secret)
    req.session.commit()  # the mail domain sends the new holder's e-mail once committed
    return {"from": ticket_json(ticket, with_token=False),
            "to": ticket_json(new, with_token=False)}


@api_route("/me/orders/abandon", method="POST", access=Access.USER, tag=TAG,
           body=schemas.OrderRef, summary="Give up my PENDING order: its hold is released",
           response=r.OrderEnvelopeOut)
def abandon(req: ApiRequest) -> dict[str, Any]:
    body: schemas.OrderRef = req.body
    order = _my_order(req, body.order_id)
    if order.payment_status is not PaymentStatus.PENDING:
        raise ApiError(409, Code.INVALID_STATE, "only a PENDING order can be abandoned")
    cancel_order(req.session, order, by_user=require_user(req.actor), reason="abandoned")
    req.session.commit()
    return {"order": order_json(req.session, order, tickets=False)}

