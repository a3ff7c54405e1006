"""Payments over JSON: organizer onboarding, a card order's payment page, Stripe's webhook.

    POST /payments/onboarding          connect (or reuse) the caller's Express account: a link
    GET  /payments/onboarding          the caller's account and whether it takes charges
    GET  /payments/onboarding/return   Stripe sends the organizer back here (token in the query)
    GET  /payments/onboarding/refresh  an expired link: a fresh one (302)
    POST /payments/orders/pay          the buyer's payment page for a PENDING card order (again)
    POST /payments/stripe/webhook      Stripe's events, verified by signature
    POST /events/<id>/orders/refund-tickets  the organizer refunds some tickets of a card order
    POST /payments/splits              split a held SPLIT order among named payers (the buyer)
    GET  /payments/splits?order_id=    the buyer's split: each share and its link
    GET  /payments/shares?token=       a payer's share (public, by the link's token)
    GET  /payments/shares/pay?token=   a payer's link: 302 to their share's payment page
    GET  /events/<id>/refunds          progress of a cancelled event's refunds (organizer)
"""

from __future__ import annotations

from typing import Any

from flask import current_app, redirect, request, url_for
from werkzeug.wrappers import Response

from shared.vocabulary import format_optional_time, format_time
from sync_server.api import ApiRequest, Routes
from sync_server.auth.access import Access, require_user
from sync_server.config import Config
from sync_server.errors import not_found, validation_error
from sync_server.events.models import Event
from sync_server.orders.models import Order
from sync_server.payments import onboarding, refund_jobs, refunds, schemas, splits, webhooks
from sync_server.payments.checkout import start_card_payment
from sync_server.payments.models import SplitPayment, SplitShare, SplitStatus

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


def _share_json(share: SplitShare, *, with_link: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"id": share.id, "payer_name": share.payer_name,
                           "amount_cents": share.amount_cents, "status": share.status.value,
                           "paid_at": format_optional_time(share.paid_at)}
    if with_link:
        out["payer_email"] = share.payer_email
        out["pay_url"] = url_for("api_v1.payments_share_pay", token=share.token, _external=True)
    return out


def _split_json(split: SplitPayment, *, with_links: bool) -> dict[str, Any]:
    return {"id": split.id, "order_id": split.order_id, "status": split.status.value,
            "deadline": format_time(split.deadline), "currency": split.currency,
            "shares": [_share_json(s, with_link=with_links) for s in split.shares]}


@api_route("/payments/splits", method="POST", access=Access.USER, tag=TAG, status=201,
           body=schemas.SplitBody, response=schemas.SplitEnvelopeOut,
           summary="Split the caller's held SPLIT order among named payers: a link each")
def create_split(req: ApiRequest) -> dict[str, Any]:
    body: schemas.SplitBody = req.body
    order = req.session.get(Order, body.order_id)
    if order is None or order.user_id != require_user(req.actor).id:
        raise not_found("order")
    config: Config = current_app.extensions["sync_config"]
    split = splits.create_split(
        req.session, order,
        [splits.ShareRequest(s.payer_name, s.payer_email, s.amount_cents) for s in body.shares],
        hours=config.split_payment_hours)
    req.session.commit()
    return {"split": _split_json(split, with_links=True)}


@api_route("/payments/splits", method="GET", access=Access.USER, tag=TAG,
           query=schemas.SplitQuery, response=schemas.SplitEnvelopeOut,
           summary="The caller's split order: each share, paid or not, and its link")
def get_split(req: ApiRequest) -> dict[str, Any]:
    order = req.session.get(Order, req.query.order_id)
    split = splits.split_of(req.session, req.query.order_id)
    if order is None or split is None or order.user_id != require_user(req.actor).id:
        raise not_found("split payment")
    return {"split": _split_json(split, with_links=True)}


@api_route("/payments/shares", method="GET", access=Access.PUBLIC, tag=TAG,
           query=schemas.LinkQuery, response=schemas.SharePageOut,
           summary="A payer's share, by the unguessable token of their link")
def share(req: ApiRequest) -> dict[str, Any]:
    found = splits.share_by_token(req.session, req.query.token)
    split = found.split
    order = req.session.get(Order, split.order_id)
    event = req.session.get(Event, order.event_id) if order else None
    assert order is not None and event is not None
    payable = split.status is SplitStatus.OPEN and found.status in splits.UNPAID_STATES
    return {"share": _share_json(found, with_link=False),
            "order_number": order.order_number, "event_name": event.name,
            "order_total_cents": order.total_cents, "split_status": split.status.value,
            "deadline": format_time(split.deadline), "currency": split.currency,
            "pay_url": url_for("api_v1.payments_share_pay", token=found.token, _external=True)
            if payable else None}


@api_route("/payments/shares/pay", method="GET", access=Access.PUBLIC, tag=TAG,
           query=schemas.LinkQuery, status=302, produces="text/html",
           summary="A payer's link: redirects to the hosted payment page of their share")
def share_pay(req: ApiRequest) -> Response:
    found = splits.share_by_token(req.session, req.query.token)
    return redirect(splits.open_share_payment(req.session, found))


@api_route("/events/<id:event_id>/refunds", method="GET", access=Access.EVENT_ORGANIZER,
           tag=TAG, response=schemas.RefundProgressOut,
           summary="Progress of the refunds of a cancelled event (its refund job)")
def refund_progress(req: ApiRequest) -> dict[str, Any]:
    return {"job": refund_jobs.progress(req.session, req.the_event.id)}
