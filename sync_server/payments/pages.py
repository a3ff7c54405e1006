"""The organizer refunds some tickets of a card order from the order page (``orders.pages``
shows this form when the endpoint exists). The same service as the JSON API's
``POST /events/<id>/orders/refund-tickets``; a whole order is refunded by cancelling it."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from werkzeug.wrappers import Response

from sync_server.auth.access import Access
from sync_server.auth.sessions import page_access
from sync_server.db import db_session
from sync_server.errors import ApiError
from sync_server.orders.models import Order
from sync_server.orders.pages import error_words
from sync_server.payments import refunds

logger = logging.getLogger(__name__)
bp = Blueprint("payment_pages", __name__)

MAX_TICKETS = 200


def _ticket_ids() -> list[int] | None:
    texts = request.form.getlist("ticket_ids")
    if len(texts) > MAX_TICKETS or not all(t.isdigit() and len(t) <= 10 for t in texts):
        return None
    return sorted({int(t) for t in texts})


@bp.post("/organize/events/<id:event_id>/orders/<id:order_id>/refund")
@page_access(Access.EVENT_ORGANIZER)
def refund(event_id: int, order_id: int) -> Response:
    session = db_session()
    order = session.get(Order, order_id)
    if order is None or order.event_id != event_id:
        abort(404)
    back = redirect(url_for("order_pages.order", event_id=event_id, order_id=order_id))
    ids = _ticket_ids()
    reason = request.form.get("reason", "").strip()
    if not ids:
        flash("Tick the tickets to refund." if ids is not None else
              "Those are not tickets of this order.", "error")
    elif not reason or len(reason) > 500:
        flash("Say why the tickets are refunded (at most 500 characters).", "error")
    elif request.form.get("confirm") != "y":
        flash("Tick the box to confirm the refund.", "error")
    else:
        try:
            amount = refunds.refund_tickets(session, order, ids, by_user=g.user, reason=reason)
            session.commit()
        except ApiError as error:
            session.rollback()
            flash(error_words(error), "error")
        else:
            flash(f"Refunded {amount // 100:,}.{amount % 100:02d} for "
                  f"{len(ids)} ticket{'s' if len(ids) != 1 else ''}.", "success")
    return back
