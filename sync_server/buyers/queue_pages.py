"""The waiting list on the buyer's event page: join a sold-out ticket type's line, leave it, and
buy within an offer or give it up (``POST /events/<id>/waiting-list/...``).

Thin shells over ``queue.services`` (the rules, docs/queue.md): each form posts, the service
decides, and the answer is the event page again with what happened in words (a flash), never a
500. The page itself shows the person's place and offer (``my_places``) and keeps them live with
``static/js/live-event.js`` (the ``/live/events/<id>`` stream).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, request, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from sync_server.accounts.models import User
from sync_server.auth.access import Access
from sync_server.auth.sessions import page_access
from sync_server.config import Config
from sync_server.db import db_session, utcnow
from sync_server.errors import ApiError, Code
from sync_server.events.models import Event, TicketType
from sync_server.orders.models import PaymentMethod, PaymentStatus
from sync_server.queue import services
from sync_server.queue.models import LIVE_STATUSES, WaitingListEntry
from sync_server.queue.reactions import settings
from sync_server.queue.stream import event_snapshot
from sync_server.signals import card_order_placed

logger = logging.getLogger(__name__)
bp = Blueprint("buyer_queue", __name__)
BASE = "/events/<id:event_id>/waiting-list"
LIVE = {status.value for status in LIVE_STATUSES}


def my_places(session: Session, event: Event, user: User | None) -> dict[int, dict[str, Any]]:
    """The person's live entries (WAITING with its ``position``, OFFERED with its ``offer``)
    for this event, by ticket type id: the same JSON the live stream sends."""
    if user is None:
        return {}
    _public, personal = event_snapshot(session, event.id, frozenset([user.id]))
    places = {}
    for entry in personal[user.id]["entries"]:
        if entry["status"] in LIVE:
            if entry["offer"] is not None:  # the page prints it as the event's wall-clock time
                entry["held_until"] = datetime.fromisoformat(entry["offer"]["expires_at"])
            places[entry["ticket_type_id"]] = entry
    return places


def _in_words(error: ApiError) -> str:
    if error.code == Code.RATE_LIMITED:
        minutes = max(1, -(-int(error.headers.get("Retry-After", "60")) // 60))
        return (f"You joined waiting lists too often this hour. Try again in {minutes} "
                f"minute{'s' if minutes != 1 else ''}.")
    return error.message[:1].upper() + error.message[1:] + "."


def _back(event_id: int) -> Response:
    return redirect(url_for("buyers.event", event_id=event_id) + "#waiting-list")


def _refused(session: Session, event_id: int, error: ApiError) -> Response:
    session.rollback()
    logger.info("waiting list page: refused (%s) for event %s", error.code, event_id)
    flash(_in_words(error), "error")
    return _back(event_id)


def _form_id(name: str) -> int:
    value = request.form.get(name, "")
    if not value.isdigit() or len(value) > 18:
        raise ApiError(404, Code.NOT_FOUND, "no such waiting-list entry")
    return int(value)


def _my_entry(session: Session, event: Event, user: User) -> WaitingListEntry:
    return services.own_entry(session, user, _form_id("entry_id"), event_id=event.id)


@bp.post(BASE + "/join")
@page_access(Access.USER)
def join(event_id: int) -> Response:
    session, user, event = db_session(), g.user, g.event
    now = utcnow()
    try:
        ticket_type = session.get(TicketType, _form_id("ticket_type_id"))
        if ticket_type is None or ticket_type.event_id != event.id:
            raise ApiError(404, Code.NOT_FOUND, "this event has no waiting list for that ticket")
        # The rules (no waiting list here, a second join, the hourly limit) are the service's.
        config: Config = current_app.extensions["sync_config"]
        entry = services.join(session, user=user, event=event, ticket_type=ticket_type, now=now,
                              joins_per_hour=config.queue_joins_per_hour)
        session.commit()
    except ApiError as error:
        return _refused(session, event_id, error)
    place = services.position(session, entry)
    flash(f"You are in line for {ticket_type.name}: number {place}. When a ticket comes back "
          "it is held for you, here and by e-mail.", "success")
    return _back(event_id)


@bp.post(BASE + "/leave")
@page_access(Access.USER)
def leave(event_id: int) -> Response:
    session = db_session()
    try:
        services.leave(session, _my_entry(session, g.event, g.user), now=utcnow())
        session.commit()
    except ApiError as error:
        return _refused(session, event_id, error)
    flash("You left the waiting list.", "success")
    return _back(event_id)


@bp.post(BASE + "/accept")
@page_access(Access.USER)
def accept(event_id: int) -> Response:
    """Buy it: a free ticket is issued at once (the order page); a paid one goes to the payment
    page, the ticket staying held until the offer ends."""
    session = db_session()
    try:
        entry = _my_entry(session, g.event, g.user)
        order = services.accept(session, entry, settings=settings(), now=utcnow()).order
        session.commit()
        if order.payment_status is PaymentStatus.PENDING and \
                order.payment_method is PaymentMethod.STRIPE:
            for _receiver, url in card_order_placed.send(order, session=session):
                session.commit()
                return redirect(url)
            raise ApiError(503, "payments_not_configured",
                           "card payments are not available on this server; the ticket stays "
                           "held for you until the offer ends")
    except ApiError as error:
        return _refused(session, event_id, error)
    flash("The ticket is yours.", "success")
    return redirect(url_for("orders.order_page", order_id=order.id))


@bp.post(BASE + "/decline")
@page_access(Access.USER)
def decline(event_id: int) -> Response:
    session = db_session()
    try:
        services.decline(session, _my_entry(session, g.event, g.user), now=utcnow())
        session.commit()
    except ApiError as error:
        return _refused(session, event_id, error)
    flash("You gave the ticket up; it goes to the next person in line.", "success")
    return _back(event_id)
