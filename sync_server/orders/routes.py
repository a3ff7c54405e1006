"""HTML pages for buyers: pick tickets for an event, then see the order and its QR codes.

The pages call the same services as the API (checkout is rate limited the same way); the session
cookie signs the buyer in and every form carries the CSRF token.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from shared.qr import render_png
from sync_server.auth.access import Access, Actor, authorize
from sync_server.auth.sessions import current_web_user, login_required
from sync_server.db import db_session, utcnow
from sync_server.errors import ApiError, validation_error
from sync_server.events.models import Event
from sync_server.orders import holds, services
from sync_server.orders.api import (
    check_hold_caps,
    count_checkout,
    load_event_for_checkout,
    purchase_settings,
    release_unpaid,
)
from sync_server.orders.models import Order, PaymentMethod, PaymentStatus
from sync_server.signals import card_order_placed
from sync_server.tickets.models import TicketInstance, TicketStatus

logger = logging.getLogger(__name__)
bp = Blueprint("orders", __name__, template_folder="templates")

MAX_FIELD = 1000


def money(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"


def _offer(event: Event) -> list[dict[str, Any]]:
    left = holds.availability(db_session(), event.id, utcnow())
    rows = [{"field": f"tt-{t.id}", "name": t.name, "price": money(t.price_cents),
             "left": left[holds.Stock("ticket_type", t.id)].available, "ticket_type_id": t.id,
             "bundle_id": None} for t in event.ticket_types if t.active]
    rows += [{"field": f"b-{b.id}", "name": b.name, "price": money(b.price_cents),
              "left": left[holds.Stock("bundle", b.id)].available, "ticket_type_id": None,
              "bundle_id": b.id} for b in event.bundles if b.active]
    return rows


def _wanted(offer: list[dict[str, Any]]) -> list[services.WantedLine]:
    wanted = []
    for row in offer:
        text = request.form.get(row["field"], "0").strip() or "0"
        if not text.isdigit() or int(text) > MAX_FIELD:
            raise validation_error({row["field"]: [f"{row['name']}: give a number of tickets"]})
        if int(text):
            wanted.append(services.WantedLine(row["ticket_type_id"], row["bundle_id"],
                                              int(text)))
    return wanted


@bp.route("/events/<id:event_id>/buy", methods=["GET", "POST"])
@login_required
def buy(event_id: int) -> str | Response | tuple[str, int]:
    session = db_session()
    user = current_web_user(session)
    event = session.get(Event, event_id)
    if event is None or user is None:
        abort(404)
    try:  # a draft is shown to its organizer, sellers and staff only, as the API does
        authorize(session, Actor(user=user), Access.EVENT_READ, event)
    except ApiError:
        abort(404)  # not 403: a stranger learns nothing, not even that the draft exists
    offer = _offer(event)
    if request.method == "POST":
        try:
            count_checkout(user.id)
            event, key_version = load_event_for_checkout(session, event.id)
            outcome = services.checkout(
                session, event=event, buyer=user, wanted=_wanted(offer),
                buyer_name=user.name, buyer_email=user.email,
                discount_code=request.form.get("discount_code", "").strip()[:40] or None,
                settings=purchase_settings(), signing_key_version=key_version,
            )
            check_hold_caps(session, outcome, utcnow())
            session.commit()  # the mail domain sends the tickets e-mail once committed
        except ApiError as error:
            session.rollback()
            details = "; ".join(m for ms in error.fields.values() for m in ms)
            flash(f"{error.message}{': ' + details if details else ''}", "error")
            return render_template("orders/buy.html", event=event, offer=_offer(event),
                                   user=user), error.status
        if outcome.order.payment_method is PaymentMethod.STRIPE and not outcome.completed_now:
            try:  # the card payments domain opens Stripe's hosted payment page
                for _receiver, url in card_order_placed.send(outcome.order, session=session):
                    return redirect(url)
            except ApiError as error:  # no payment page, no hold
                release_unpaid(session, outcome.order)
                flash(error.message, "error")
        return redirect(url_for("orders.order_page", order_id=outcome.order.id))
    return render_template("orders/buy.html", event=event, offer=offer, user=user)


@bp.get("/my/orders/<id:order_id>")
@login_required
def order_page(order_id: int) -> str:
    session = db_session()
    user = current_web_user(session)
    order = session.get(Order, order_id)
    if order is None or user is None or order.user_id != user.id:
        abort(404)
    event = session.get(Event, order.event_id)
    tickets = session.scalars(
        sa.select(TicketInstance).where(TicketInstance.order_id == order.id,
                                        TicketInstance.current_owner_id == user.id)
        .order_by(TicketInstance.id))
    shown = [{"number": t.ticket_number, "status": t.status.value, "holder": t.holder_name,
              "qr": base64.b64encode(render_png(t.token, box_size=6)).decode()
              if t.status is TicketStatus.VALID and t.token else None} for t in tickets]
    # Back from the card payment page (?session=…): the webhook may not have arrived yet.
    confirming = order.payment_status is PaymentStatus.PENDING and "session" in request.args
    return render_template("orders/order.html", order=order, event=event, tickets=shown,
                           expires=services.hold_expires_at(session, order), money=money,
                           confirming=confirming)
