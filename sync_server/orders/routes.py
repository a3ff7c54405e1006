"""HTML pages for buyers: pick tickets for an event, then see the order and its QR codes.

The pages call the same services as the API (checkout is rate limited the same way); the session
cookie signs the buyer in and every form carries the CSRF token.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response

from shared.qr import render_png
from shared.wire_fields import CONTROL_CHARACTERS
from sync_server.accounts.models import User
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
from sync_server.orders.guest_links import find_guest_order, give_guest_link, replace_guest_token
from sync_server.orders.models import Order, PaymentMethod, PaymentStatus
from sync_server.signals import card_order_placed, guest_link_replaced
from sync_server.tickets.models import TicketInstance, TicketStatus

logger = logging.getLogger(__name__)
bp = Blueprint("orders", __name__, template_folder="templates")

MAX_FIELD = 1000
SPLIT_PAGE = "split_pages.split"  # the payments domain's page (when it is registered)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


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


def _guest(form: Mapping[str, str]) -> tuple[str, str]:
    """A guest's name and e-mail address from the checkout form, or 422 in words."""
    name = form.get("guest_name", "").strip()
    email = form.get("guest_email", "").strip().lower()
    errors: dict[str, list[str]] = {}
    if not name or len(name) > 200 or CONTROL_CHARACTERS.search(name):
        errors["guest_name"] = ["Give your name (up to 200 characters) for the tickets."]
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        errors["guest_email"] = ["Give an e-mail address: your tickets and your order's link "
                                 "are sent there."]
    if errors:
        raise validation_error(errors)
    return name, email


def _buy_page(event: Event, user: User | None, status: int = 200,
              fields: Mapping[str, Sequence[str]] | None = None) -> tuple[str, int]:
    return render_template("orders/buy.html", event=event, offer=_offer(event), user=user,
                           form=request.form, fields=fields or {},
                           can_split=user is not None and _can_split()), status


def _can_split() -> bool:
    return SPLIT_PAGE in current_app.view_functions


def _payment_method(user: User | None) -> PaymentMethod:
    """A signed-in buyer may split the payment among friends (the split page needs them)."""
    if user is not None and request.form.get("payment_method") == "SPLIT" and _can_split():
        return PaymentMethod.SPLIT
    return PaymentMethod.STRIPE


@bp.route("/events/<id:event_id>/buy", methods=["GET", "POST"])
def buy(event_id: int) -> str | Response | tuple[str, int]:
    """Checkout as the signed-in user, or as a guest with an e-mail address (the order's private
    link is shown and mailed with the tickets: ``guest_links``)."""
    session = db_session()
    user = current_web_user(session)
    event = session.get(Event, event_id)
    if event is None:
        abort(404)
    try:  # a draft is shown to its organizer, sellers and staff only, as the API does
        authorize(session, Actor(user=user), Access.EVENT_READ, event)
    except ApiError:
        abort(404)  # not 403: a stranger learns nothing, not even that the draft exists
    if request.method != "POST":
        return _buy_page(event, user)
    try:
        if user is None:
            buyer_name, buyer_email = _guest(request.form)
        else:
            buyer_name, buyer_email = user.name, user.email
        count_checkout(user.id if user else None, guest_email=buyer_email)
        event, key_version = load_event_for_checkout(session, event.id)
        outcome = services.checkout(
            session, event=event, buyer=user, wanted=_wanted(_offer(event)),
            buyer_name=buyer_name, buyer_email=buyer_email, payment_method=_payment_method(user),
            discount_code=request.form.get("discount_code", "").strip()[:40] or None,
            settings=purchase_settings(), signing_key_version=key_version,
        )
        if user is None:
            give_guest_link(session, outcome.order)
        check_hold_caps(session, outcome, utcnow())
        session.commit()  # the mail domain sends the tickets e-mail once committed
    except ApiError as error:
        session.rollback()
        details = "; ".join(m for name, ms in error.fields.items() for m in ms
                            if not name.startswith("guest_"))
        if details or not error.fields:
            flash(f"{error.message}{': ' + details if details else ''}", "error")
        return _buy_page(event, user, error.status, error.fields)
    order = outcome.order
    if order.payment_method is PaymentMethod.SPLIT and not outcome.completed_now:
        return redirect(url_for(SPLIT_PAGE, order_id=order.id))  # name the payers next
    if order.payment_method is PaymentMethod.STRIPE and not outcome.completed_now:
        try:  # the card payments domain opens Stripe's hosted payment page
            for _receiver, url in card_order_placed.send(order, session=session):
                return redirect(url)
        except ApiError as error:  # no payment page, no hold
            release_unpaid(session, order)
            flash(error.message, "error")
    if user is None:
        assert order.guest_token is not None
        return redirect(url_for("orders.guest_order_page", order_number=order.order_number,
                                token=order.guest_token))
    return redirect(url_for("orders.order_page", order_id=order.id))


def _order_view(order: Order, mine: sa.ColumnElement[bool], guest_link: str | None = None) -> str:
    session = db_session()
    event = session.get(Event, order.event_id)
    tickets = session.scalars(
        sa.select(TicketInstance).where(TicketInstance.order_id == order.id, mine)
        .order_by(TicketInstance.id))
    shown = [{"number": t.ticket_number, "status": t.status.value, "holder": t.holder_name,
              "qr": base64.b64encode(render_png(t.token, box_size=6)).decode()
              if t.status is TicketStatus.VALID and t.token else None} for t in tickets]
    # Back from the card payment page (?session=…): the webhook may not have arrived yet.
    confirming = order.payment_status is PaymentStatus.PENDING and "session" in request.args
    split = order.user_id is not None and _can_split() and (order.split_payment_id or (
        order.payment_method is PaymentMethod.SPLIT
        and order.payment_status is PaymentStatus.PENDING))
    return render_template("orders/order.html", order=order, event=event, tickets=shown,
                           expires=services.hold_expires_at(session, order), money=money,
                           guest_link=guest_link, confirming=confirming,
                           split_url=url_for(SPLIT_PAGE, order_id=order.id) if split else None)


@bp.get("/my/orders/<id:order_id>")
@login_required
def order_page(order_id: int) -> str:
    user = current_web_user(db_session())
    order = db_session().get(Order, order_id)
    if order is None or user is None or order.user_id != user.id:
        abort(404)
    return _order_view(order, TicketInstance.current_owner_id == user.id)


def _guest_order(order_number: str, token: str) -> Order:
    order = find_guest_order(db_session(), order_number, token)
    if order is None:
        abort(404)  # a wrong, revoked or made-up link: nothing to learn
    return order


@bp.get("/orders/<order_number>/<token>")
def guest_order_page(order_number: str, token: str) -> str:
    """A guest's order by its private link: the tickets still held by the buyer's address."""
    order = _guest_order(order_number, token)
    held_by_buyer = sa.and_(TicketInstance.current_owner_id.is_(None),
                            TicketInstance.holder_email == order.buyer_email)
    return _order_view(order, held_by_buyer, guest_link=request.path)


@bp.post("/orders/<order_number>/<token>/revoke")
def revoke_guest_link(order_number: str, token: str) -> Response:
    """The guest's link leaked: replace it; the tickets e-mail goes again with the new one."""
    session = db_session()
    order = _guest_order(order_number, token)
    replace_guest_token(order)
    guest_link_replaced.send(order, session=session, now=utcnow())
    session.commit()
    flash("The old link no longer works. This page has a new address, also sent by e-mail.",
          "success")
    return redirect(url_for("orders.guest_order_page", order_number=order.order_number,
                            token=order.guest_token))
