"""The organizer's dashboard and the event cancellation page (blueprint ``organizer``).

The people page is ``organizer/people.py`` and discount codes ``organizer/discount_pages.py``,
on this same blueprint. Views are thin: the numbers come from ``organizer/dashboard.py``, the
changes from the domains' services, access from ``page_access`` (the API's rule).
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint, flash, g, redirect, render_template, url_for
from werkzeug.wrappers import Response

from sync_server.auth.access import Access
from sync_server.auth.sessions import page_access
from sync_server.db import db_session, utcnow
from sync_server.devices.services import devices_for_event
from sync_server.errors import ApiError
from sync_server.events import services as events
from sync_server.events.models import Event, EventStatus
from sync_server.orders.models import Order, PaymentMethod, PaymentStatus
from sync_server.organizer import discount_pages, people
from sync_server.organizer.dashboard import dashboard as dashboard_of
from sync_server.organizer.forms import ConfirmForm

logger = logging.getLogger(__name__)
bp = Blueprint("organizer", __name__, url_prefix="/organize")
E = "/events/<id:event_id>"
Page = str | Response | tuple[str, int]


@bp.get("")
@page_access(Access.USER)
def dashboard() -> str:
    board = dashboard_of(db_session(), g.user, utcnow())
    return render_template("organizer/dashboard.html", board=board)


def what_cancelling_does(event: Event) -> dict[str, int]:
    """What cancelling ``event`` will touch, for the confirmation page (read-only counts)."""
    db = db_session()
    live = (PaymentStatus.PENDING, PaymentStatus.COMPLETED)
    completed, money, card_money, pending = db.execute(
        sa.select(
            sa.func.count().filter(Order.payment_status == PaymentStatus.COMPLETED),
            sa.func.coalesce(sa.func.sum(Order.total_cents).filter(
                Order.payment_status == PaymentStatus.COMPLETED), 0),
            sa.func.coalesce(sa.func.sum(Order.total_cents).filter(
                Order.payment_status == PaymentStatus.COMPLETED,
                Order.payment_method.in_([PaymentMethod.STRIPE, PaymentMethod.SPLIT])), 0),
            sa.func.count().filter(Order.payment_status == PaymentStatus.PENDING),
        ).where(Order.event_id == event.id, Order.payment_status.in_(live))
    ).one()
    doors = [d for d in devices_for_event(db, event) if not d.revoked]
    return {"orders": int(completed), "pending": int(pending), "money_cents": int(money),
            "card_cents": int(card_money), "doors": len(doors)}


@bp.route(E + "/cancel", methods=["GET", "POST"])
@page_access(Access.EVENT_ORGANIZER)
def cancel_event(event_id: int) -> Page:
    event: Event = g.event
    form = ConfirmForm()
    if form.validate_on_submit() and event.status is not EventStatus.CANCELLED:
        db = db_session()
        try:
            events.cancel_event(db, event, user=g.user)
        except ApiError as error:
            db.rollback()
            flash(error.message, "error")
        else:
            db.commit()
            flash("Cancelled: orders cancelled and refunded, tickets revoked, doors told.",
                  "success")
            return redirect(url_for("event_pages.edit", event_id=event.id))
    return render_template("organizer/event_cancel.html", event=event, form=form,
                           effect=what_cancelling_does(event))


people.register(bp, E)
discount_pages.register(bp, E)
