"""The organizer sends an order's tickets again from the order page (``orders.pages`` shows
this form when the endpoint exists): the same outbox as the JSON API's
``POST /events/<id>/orders/resend-email``."""

from __future__ import annotations

import logging
import re

from flask import Blueprint, abort, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from sync_server.auth.access import Access
from sync_server.auth.sessions import page_access
from sync_server.db import db_session
from sync_server.mail.after_commit import send_queued
from sync_server.mail.outbox import resend_order
from sync_server.orders.models import Order, PaymentStatus

logger = logging.getLogger(__name__)
bp = Blueprint("mail_pages", __name__)

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@bp.post("/organize/events/<id:event_id>/orders/<id:order_id>/resend")
@page_access(Access.EVENT_ORGANIZER)
def resend(event_id: int, order_id: int) -> Response:
    session = db_session()
    order = session.get(Order, order_id)
    if order is None or order.event_id != event_id:
        abort(404)
    back = redirect(url_for("order_pages.order", event_id=event_id, order_id=order_id))
    to_email = request.form.get("to_email", "").strip().lower() or None
    if to_email is not None and (len(to_email) > 254 or not EMAIL.match(to_email)):
        flash("Enter an e-mail address to send the tickets to (or leave it empty).", "error")
    elif order.payment_status is not PaymentStatus.COMPLETED:
        flash("Only a completed order has tickets to send.", "error")
    else:
        row = resend_order(session, order, to_email=to_email)
        session.commit()
        sent = send_queued([row.id])
        flash(f"Tickets {'sent' if sent.sent else 'queued'} to "
              f"{to_email or order.buyer_email}.", "success")
    return back
