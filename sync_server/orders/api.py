"""The purchase engine over JSON: checkout, availability, and the organizer's order desk.

Checkout is ``POST /checkout`` with the event in the body (a signed-in buyer, not a device), rate
limited per user and per client address. Organizer routes live under ``/events/<id>/``.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app, request
from sqlalchemy.orm import Session, joinedload, load_only

from sync_server.api import ApiRequest, Routes
from sync_server.auth.access import Access, require_user
from sync_server.config import Config
from sync_server.db import engine, utcnow
from sync_server.errors import ApiError, Code, not_found
from sync_server.events.models import Event, EventDay, TicketType
from sync_server.events.services import cancel_event
from sync_server.keys.models import EventKeyVersion
from sync_server.orders import (
    cancellation,
    discounts,
    hold_limits,
    holds,
    idempotency,
    schemas,
    search,
    services,
)
from sync_server.orders import responses as r
from sync_server.orders.models import (
    DiscountCode,
    IdempotencyKey,
    Order,
    PaymentMethod,
    PaymentStatus,
)
from sync_server.orders.serialize import order_json
from sync_server.ratelimit.services import count as count_hits
from sync_server.schemas import patch_values
from sync_server.signals import card_order_placed

routes = Routes("orders")  # endpoints "orders_<view>"
api_route = routes.route

logger = logging.getLogger(__name__)
TAG = "orders"
E = "/events/<id:event_id>"


def purchase_settings() -> services.PurchaseSettings:
    return _settings_of(current_app.extensions["sync_config"])


@functools.lru_cache(maxsize=8)  # the config is frozen: built once per configuration, not per call
def _settings_of(config: Config) -> services.PurchaseSettings:
    return services.PurchaseSettings.from_config(config)


def count_checkout(user_id: int | None, *, guest_email: str = "") -> None:
    """Count a checkout attempt per user and per client address (``ratelimit``: its own short
    transaction, committed whatever the checkout does next); raises ``rate_limited`` (429)
    past a limit, before anything is read or held."""
    config = current_app.extensions["sync_config"]
    limits = {subject: limit for subject, limit in (
        (f"user:{user_id}" if user_id is not None else f"guest:{guest_email.lower()}",
         config.checkout_limit_per_user),
        (f"addr:{request.remote_addr or '-'}", config.checkout_limit_per_address)) if limit}
    if limits:
        count_hits(engine(), action="checkout", limits=limits,
                   window_seconds=config.checkout_window_seconds)


# The event with, in the same statement, its days and ticket types (the order is priced from the
# ticket types, its tickets list the days) and its signing key version: three queries less.
_EVENT_FOR_CHECKOUT = (
    sa.select(Event, sa.select(sa.func.max(EventKeyVersion.version))
              .where(EventKeyVersion.event_id == Event.id, EventKeyVersion.retired_at.is_(None))
              .correlate(Event).scalar_subquery())
    .where(Event.id == sa.bindparam("event_id"))
    # Only the columns a checkout reads (anything else would load on first use).
    .options(
        load_only(Event.id, Event.status, Event.event_type, Event.ends_at,
                  Event.min_tickets_per_order, Event.max_tickets_per_order),
        joinedload(Event.days).load_only(EventDay.id, EventDay.event_id, EventDay.day_number),
        joinedload(Event.ticket_types).load_only(
            TicketType.id, TicketType.event_id, TicketType.event_day_id, TicketType.active,
            TicketType.price_cents, TicketType.sales_start, TicketType.sales_end,
            TicketType.min_per_order, TicketType.max_per_order),
    )
)


def load_event_for_checkout(session: Session, event_id: int) -> tuple[Event, int | None]:
    """The event as a checkout reads it and its signing key version (``not_found``: none)."""
    row = session.execute(_EVENT_FOR_CHECKOUT, {"event_id": event_id}).unique().one_or_none()
    if row is None:
        raise not_found("event")
    return row[0], row[1]


def _wanted(items: list[schemas.CheckoutItem]) -> list[services.WantedLine]:
    return [services.WantedLine(i.ticket_type_id, i.bundle_id, i.quantity) for i in items]


def _finish(req: ApiRequest, outcome: services.Outcome) -> dict[str, Any]:
    expires = services.hold_expires_at(req.session, outcome.order)
    req.session.commit()  # the mail domain sends the tickets e-mail once committed
    # A freshly completed order's tickets are exactly those just issued.
    issued = outcome.issued if outcome.completed_now else None
    return {"order": order_json(req.session, outcome.order, tokens=True,
                                hold_expires_at=expires, issued=issued)}


@api_route("/checkout", method="POST", access=Access.USER, tag=TAG, body=schemas.CheckoutBody,
           status=201, summary="Hold tickets and place a PENDING order (free orders complete)",
           response=r.OrderEnvelopeOut)
def checkout(req: ApiRequest) -> dict[str, Any]:
    """An ``Idempotency-Key`` header makes a retry return the first order (orders.idempotency);
    a paid order's holds count against the buyer's and the address's caps (orders.hold_limits);
    a card order keeps its hold only if its payment page opens."""
    user = require_user(req.actor)
    body: schemas.CheckoutBody = req.body
    config: Config = current_app.extensions["sync_config"]
    if body.payment_method == "CASH" and not config.online_cash_orders:
        # An online CASH order holds tickets with no payment under way (issue #13): cash is
        # taken at the box office (its own holds, within the seller's allocation).
        raise ApiError(422, Code.VALIDATION_FAILED, "cash is paid at the box office: pay by card",
                       {"payment_method": ["CASH is for the box office; choose STRIPE"]})
    key = idempotency.parse_key(request.headers.get(idempotency.HEADER))
    count_checkout(user.id)  # (its own transaction: before this one writes the key)
    now = utcnow()
    claimed: IdempotencyKey | None = None
    if key is not None:
        found = idempotency.claim(req.session, user.id, key,
                                  idempotency.request_hash(body.model_dump(mode="json")), now)
        if isinstance(found, Order):
            return _reply(req, services.Outcome(order=found))
        claimed = found
    event, key_version = load_event_for_checkout(req.session, body.event_id)
    outcome = services.checkout(
        req.session, event=event, buyer=user, wanted=_wanted(body.items),
        buyer_name=body.buyer_name or user.name, buyer_email=body.buyer_email or user.email,
        buyer_phone=body.buyer_phone, discount_code=body.discount_code,
        payment_method=PaymentMethod(body.payment_method), settings=purchase_settings(),
        signing_key_version=key_version,
    )
    if claimed is not None:
        claimed.order_id = outcome.order.id
    check_hold_caps(req.session, outcome, now)
    return _reply(req, outcome)


def check_hold_caps(session: Session, outcome: services.Outcome, now: datetime) -> None:
    """A checkout that placed a hold records the client's address and stays within the
    buyer's and the address's caps (409 ``too_many_held``; the caller rolls back)."""
    if outcome.completed_now:
        return
    config: Config = current_app.extensions["sync_config"]
    outcome.order.client_address = request.remote_addr
    hold_limits.check_held(session, outcome.order, per_buyer=config.max_held_units_per_buyer,
                           per_address=config.max_held_units_per_address, now=now)


def _reply(req: ApiRequest, outcome: services.Outcome) -> dict[str, Any]:
    """Commit and answer; a PENDING card order also gets its payment page. If the page cannot
    be opened the order fails at once and its hold goes back on sale: nothing is held without
    a payment under way (the buyer checks out again)."""
    reply = _finish(req, outcome)
    order = outcome.order
    if order.payment_method is PaymentMethod.STRIPE and order.payment_status is \
            PaymentStatus.PENDING:
        try:
            for _receiver, url in card_order_placed.send(order, session=req.session):
                reply["payment_url"] = url
        except ApiError:
            release_unpaid(req.session, order)
            raise
        if "payment_url" not in reply:  # no payments domain: no payment step, no hold
            release_unpaid(req.session, order)
            raise ApiError(503, "payments_not_configured",
                           "card payments are not available on this server")
    return reply


def release_unpaid(session: Session, order: Order) -> None:
    """Fail a card order whose payment page could not be opened: its hold goes back on sale."""
    session.rollback()
    session.refresh(order)
    if order.payment_status is PaymentStatus.PENDING:
        cancellation.cancel_order(session, order, by_user=None,
                                  reason="payment page unavailable")
        session.commit()


@api_route(E + "/availability", method="GET", access=Access.EVENT_READ, tag=TAG,
           summary="Units left of every ticket type and bundle (unexpired holds count)",
           response=r.AvailabilityOut)
def availability(req: ApiRequest) -> dict[str, Any]:
    found = holds.availability(req.session, req.the_event.id, utcnow())
    def rows(kind: str) -> list[dict[str, Any]]:
        return [{"id": s.id, "total": a.total, "sold": a.sold, "held": a.held,
                 "available": a.available}
                for s, a in sorted(found.items(), key=lambda x: x[0].id) if s.kind == kind]
    return {"ticket_types": rows("ticket_type"), "bundles": rows("bundle")}


@api_route(E + "/orders", method="GET", access=Access.EVENT_ORGANIZER, tag=TAG,
           query=schemas.OrderList,
           summary="The event's orders, newest first; q: a name, e-mail, order or ticket number",
           response=r.OrdersPageOut)
def list_orders(req: ApiRequest) -> dict[str, Any]:
    q: schemas.OrderList = req.query
    found = search.search_orders(req.session, req.the_event.id, text=q.q,
                                 status=PaymentStatus(q.status) if q.status else None,
                                 page=q.page, per_page=q.per_page)
    return {"orders": [order_json(req.session, o, tickets=False) for o in found.orders],
            "total": found.total, "page": q.page, "per_page": q.per_page}


@api_route(E + "/orders/<id:order_id>", method="GET", access=Access.EVENT_ORGANIZER, tag=TAG,
           summary="One order of the event with its tickets and its history (audit log)",
           response=r.OrderDetailOut)
def order_detail(req: ApiRequest, order_id: int) -> dict[str, Any]:
    order = _event_order(req, order_id)
    lines = search.order_tickets(req.session, order)
    history = search.order_history(req.session, order, [line.ticket.id for line in lines])
    return {"order": order_json(req.session, order, issued=[line.ticket for line in lines]),
            "history": [search.history_json(entry) for entry in history]}


def _event_order(req: ApiRequest, order_id: int) -> Order:
    order = req.session.get(Order, order_id)
    if order is None or order.event_id != req.the_event.id:
        raise not_found("order")
    return order


@api_route(E + "/orders/cancel", method="POST", access=Access.EVENT_ORGANIZER, tag=TAG,
           body=schemas.CancelOrderBody,
           summary="Cancel an order: tickets cancelled and revoked, holds released, refunded",
           response=r.OrderEnvelopeOut)
def cancel_order(req: ApiRequest) -> dict[str, Any]:
    body: schemas.CancelOrderBody = req.body
    order = _event_order(req, body.order_id)
    cancellation.cancel_order(req.session, order, by_user=require_user(req.actor),
                          reason=body.reason)
    req.session.commit()
    return {"order": order_json(req.session, order)}


@api_route(E + "/sales/cancel", method="POST", access=Access.EVENT_ORGANIZER, tag=TAG,
           body=schemas.CancelSalesBody,
           summary="Cancel the event and every order of it (tickets revoked, refunds)",
           response=r.CancelSalesOut)
def cancel_sales(req: ApiRequest) -> dict[str, Any]:
    body: schemas.CancelSalesBody = req.body
    count = req.session.scalar(sa.select(sa.func.count()).select_from(Order).where(
        Order.event_id == req.the_event.id,
        Order.payment_status.in_([PaymentStatus.PENDING, PaymentStatus.COMPLETED])))
    # The event first: its orders are cancelled by the event_cancelled receiver, and card
    # refunds of a cancelled event go to a resumable job (payments.refund_jobs).
    cancel_event(req.session, req.the_event, user=require_user(req.actor), reason=body.reason)
    req.session.commit()
    return {"event_id": req.the_event.id, "status": req.the_event.status.value,
            "orders_cancelled": count}


@api_route(E + "/complimentary", method="POST", access=Access.EVENT_ORGANIZER, tag=TAG,
           body=schemas.ComplimentaryBody, status=201,
           summary="Issue complimentary tickets (free, from the same inventory)",
           response=r.OrderEnvelopeOut)
def complimentary(req: ApiRequest) -> dict[str, Any]:
    body: schemas.ComplimentaryBody = req.body
    user = require_user(req.actor)
    outcome = services.checkout(
        req.session, event=req.the_event, buyer=None, wanted=_wanted(body.items),
        buyer_name=body.holder_name, buyer_email=body.holder_email, settings=purchase_settings(),
        complimentary=True, by_user=user,
    )
    return _finish(req, outcome)


@api_route(E + "/discount-codes", method="GET", access=Access.EVENT_ORGANIZER, tag=TAG,
           summary="The event's discount codes with their use counts",
           response=r.DiscountCodesOut)
def list_codes(req: ApiRequest) -> dict[str, Any]:
    codes = req.session.scalars(sa.select(DiscountCode)
                                .where(DiscountCode.event_id == req.the_event.id)
                                .order_by(DiscountCode.id))
    return {"discount_codes": [discounts.code_as_dict(req.session, c) for c in codes]}


@api_route(E + "/discount-codes", method="POST", access=Access.EVENT_ORGANIZER, tag=TAG,
           body=schemas.DiscountCodeCreate, status=201, summary="Create a discount code",
           response=r.DiscountCodeEnvelopeOut)
def create_code(req: ApiRequest) -> dict[str, Any]:
    body: schemas.DiscountCodeCreate = req.body
    code = discounts.create_discount_code(
        req.session, req.the_event, user=require_user(req.actor), code=body.code,
        discount_type=body.discount_type, value=body.value, valid_from=body.valid_from,
        valid_until=body.valid_until, max_uses=body.max_uses,
        max_uses_per_user=body.max_uses_per_user, ticket_type_ids=body.ticket_type_ids,
        description=body.description,
    )
    req.session.commit()
    return {"discount_code": discounts.code_as_dict(req.session, code)}


@api_route(E + "/discount-codes/<id:code_id>", method="PATCH", access=Access.EVENT_ORGANIZER,
           tag=TAG, body=schemas.DiscountCodeUpdate,
           summary="Edit or deactivate (active: false) a discount code; its uses are kept",
           response=r.DiscountCodeEnvelopeOut)
def update_code(req: ApiRequest, code_id: int) -> dict[str, Any]:
    row = discounts.get_discount_code(req.session, req.the_event, code_id)
    values = patch_values(req.body, schemas.DISCOUNT_CODE_NULLABLE)
    discounts.update_discount_code(req.session, req.the_event, row,
                                   user=require_user(req.actor), values=values)
    req.session.commit()
    return {"discount_code": discounts.code_as_dict(req.session, row)}


@api_route(E + "/fees", method="GET", access=Access.EVENT_ORGANIZER, tag=TAG,
           summary="The platform fee this event's buyers pay", response=r.FeesOut)
def get_fees(req: ApiRequest) -> dict[str, Any]:
    fees = services.event_fees(req.session, req.the_event, purchase_settings().default_fees)
    return {"percent_bp": fees.percent_bp, "fixed_cents": fees.fixed_cents}


@api_route(E + "/fees", method="PUT", access=Access.EVENT_ORGANIZER, tag=TAG,
           body=schemas.FeesBody, summary="Set this event's platform fee (platform admins only)",
           response=r.FeesOut)
def set_fees(req: ApiRequest) -> dict[str, Any]:
    body: schemas.FeesBody = req.body
    user = require_user(req.actor)
    if not user.is_admin:
        raise ApiError(403, Code.FORBIDDEN, "only a platform admin sets fees")
    services.set_event_fees(req.session, req.the_event, percent_bp=body.percent_bp,
                            fixed_cents=body.fixed_cents, user=user)
    req.session.commit()
    return {"percent_bp": body.percent_bp, "fixed_cents": body.fixed_cents}

