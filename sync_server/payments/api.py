"""Payments over JSON: organizer onboarding, a card order's payment page, Stripe's webhook.

    POST /payments/onboarding          connect (or reuse) the caller's Express account: a link
    GET  /payments/onboarding          the caller's account and whether it takes charges
    GET  /payments/onboarding/return   Stripe sends the organizer back here (token in the query)
    GET  /payments/onboarding/refresh  an expired link: a fresh one (302)
    POST /payments/orders/pay          the buyer's payment page for a PENDING card order (again)
    POST /payments/stripe/webhook      Stripe's events, verified by signature
    POST /events/<id>/orders/refund-tickets  the organizer refunds some tickets of a card order
"""

from __future__ import annotations

from typing import Any

from flask import redirect, request
from werkzeug.wrappers import Response

from sync_server.api import ApiRequest, Routes
from sync_server.auth.access import Access, require_user
from sync_server.errors import not_found, validation_error
from sync_server.orders.models import Order
from sync_server.payments import onboarding, refunds, schemas, webhooks
from sync_server.payments.checkout import start_card_payment

routes = Routes("payments")  # endpoints "payments_<view>"
api_route = routes.route
TAG = "payments"


@api_route("/payments/onboarding", method="POST", access=Access.USER, tag=TAG,
           summary="Connect the caller's Stripe Express account; answers an onboarding link",
           response=schemas.OnboardingOut)
def onboarding_start(req: ApiRequest) -> dict[str, Any]:
    row = onboarding.connect(req.session, require_user(req.actor))
    req.session.commit()
    url = onboarding.onboarding_link(row)
    return {"account": onboarding.account_json(row), "url": url}


@api_route("/payments/onboarding", method="GET", access=Access.USER, tag=TAG,
           summary="The caller's payment account: connected, and whether it takes charges",
           response=schemas.AccountEnvelopeOut)
def onboarding_status(req: ApiRequest) -> dict[str, Any]:
    row = onboarding.account_of(req.session, require_user(req.actor).id)
    return {"account": onboarding.account_json(row)}


@api_route("/payments/onboarding/return", method="GET", access=Access.PUBLIC, tag=TAG,
           query=schemas.LinkQuery, response=schemas.AccountEnvelopeOut,
           summary="Where Stripe returns the organizer: the account's state, read from Stripe")
def onboarding_return(req: ApiRequest) -> dict[str, Any]:
    row = onboarding.refresh_status(onboarding.by_link_token(req.session, req.query.token))
    req.session.commit()
    return {"account": onboarding.account_json(row)}


@api_route("/payments/onboarding/refresh", method="GET", access=Access.PUBLIC, tag=TAG,
           query=schemas.LinkQuery, status=302, produces="text/html",
           summary="An expired onboarding link: redirects to a fresh one")
def onboarding_refresh(req: ApiRequest) -> Response:
    row = onboarding.by_link_token(req.session, req.query.token)
    return redirect(onboarding.onboarding_link(row))


@api_route("/payments/orders/pay", method="POST", access=Access.USER, tag=TAG,
           body=schemas.PayOrderBody, response=schemas.PaymentUrlOut,
           summary="The payment page of the caller's PENDING card order (retry after an outage)")
def pay_order(req: ApiRequest) -> dict[str, Any]:
    order = req.session.get(Order, req.body.order_id)
    if order is None or order.user_id != require_user(req.actor).id:
        raise not_found("order")
    return {"order_id": order.id, "payment_url": start_card_payment(req.session, order)}


@api_route("/payments/stripe/webhook", method="POST", access=Access.PUBLIC, tag=TAG,
           response=schemas.WebhookOut,
           summary="Stripe's events (Stripe-Signature verified; each event id handled once)")
def stripe_webhook(req: ApiRequest) -> dict[str, Any]:
    handled = webhooks.receive(req.session, request.get_data(cache=False),
                               request.headers.get("Stripe-Signature"))
    req.session.commit()  # a completed order's e-mail goes after this commit (mail.reactions)
    return {"received": True, "duplicate": handled.duplicate}


@api_route("/events/<id:event_id>/orders/refund-tickets", method="POST",
           access=Access.EVENT_ORGANIZER, tag=TAG, body=schemas.RefundTicketsBody,
           response=schemas.RefundOut,
           summary="Refund some tickets of a paid card order (revoked for the doors)")
def refund_tickets(req: ApiRequest) -> dict[str, Any]:
    body: schemas.RefundTicketsBody = req.body
    order = req.session.get(Order, body.order_id)
    if order is None or order.event_id != req.the_event.id:
        raise not_found("order")
    if len(set(body.ticket_ids)) != len(body.ticket_ids):
        raise validation_error({"ticket_ids": ["each ticket once"]})
    amount = refunds.refund_tickets(req.session, order, body.ticket_ids,
                                    by_user=require_user(req.actor), reason=body.reason)
    req.session.commit()
    return {"order_id": order.id, "refunded_cents": amount,
            "payment_status": order.payment_status.value}
