"""The organizer's order desk as pages: find orders, read one with its history, cancel it, give
complimentary tickets, download the orders and the attendee list as CSV.

Thin shells over ``orders.search`` and the services the JSON API calls (``orders.api``): the
same queries, the same rules, the same 403/404 (``page_access``). Refunding some tickets and
re-sending tickets belong to the payments and mail domains (``payments.pages``,
``mail.pages``); the order page links their forms by endpoint name when they exist.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from sync_server.auth.access import Access
from sync_server.auth.sessions import page_access
from sync_server.db import db_session, engine
from sync_server.errors import ApiError
from sync_server.orders import cancellation, search, services
from sync_server.orders.api import purchase_settings
from sync_server.orders.forms import CancelOrderForm, CompForm
from sync_server.orders.models import Order, PaymentStatus
from sync_server.site import csv_download
from sync_server.webforms.forms import claim, finish

logger = logging.getLogger(__name__)
bp = Blueprint("order_pages", __name__, template_folder="templates")

BASE = "/organize/events/<id:event_id>"
PER_PAGE = 25


def error_words(error: ApiError) -> str:
    """An API error as one sentence for a page (its field messages after the message)."""
    details = "; ".join(m for ms in error.fields.values() for m in ms)
    return f"{error.message}{': ' + details if details else ''}"


def _comp_form() -> CompForm:
    form = CompForm(prefix="comp")
    form.ticket_type.choices = [(t.id, t.name) for t in g.event.ticket_types if t.active]
    return form


def _page_number(text: str | None) -> int | None:
    text = (text or "1").strip()
    return int(text) if text.isdigit() and len(text) <= 6 and int(text) >= 1 else None


@bp.get(BASE + "/orders")
@page_access(Access.EVENT_ORGANIZER)
def orders(event_id: int) -> tuple[str, int]:
    text = request.args.get("q", "")
    page = _page_number(request.args.get("page"))
    found, problem = None, None
    if page is None:
        problem = "Page numbers are whole numbers from 1."
    else:
        try:
            found = search.search_orders(db_session(), event_id, text=text, page=page,
                                         per_page=PER_PAGE)
        except ApiError as error:
            problem = error_words(error)
    if found is not None and found.total and page and page > found.pages:
        problem = f"There are only {found.pages} pages of orders."
    return render_template("order_pages/orders.html", event=g.event, found=found, q=text[:200],
                           problem=problem, comp=_comp_form()), 400 if problem else 200


@bp.post(BASE + "/orders/complimentary")
@page_access(Access.EVENT_ORGANIZER)
def complimentary(event_id: int) -> Response | tuple[str, int]:
    form = _comp_form()
    session = db_session()
    if form.validate_on_submit():
        done = claim(session, g.user.id, form.nonce.data)
        if done is not None:  # this form was sent already: show the order it issued
            return redirect(done or url_for(".orders", event_id=event_id))
        try:
            outcome = services.checkout(
                session, event=g.event, buyer=None,
                wanted=[services.WantedLine(form.ticket_type.data, None, form.quantity.data)],
                buyer_name=(form.holder_name.data or "").strip(),
                buyer_email=form.holder_email.data or "", settings=purchase_settings(),
                complimentary=True, by_user=g.user)
            url = url_for(".order", event_id=event_id, order_id=outcome.order.id)
            finish(session, g.user.id, form.nonce.data, url)
            session.commit()  # the mail domain sends the tickets once committed
        except ApiError as error:
            session.rollback()
            flash(error_words(error), "error")
        else:
            flash(f"Complimentary order {outcome.order.order_number} issued.", "success")
            return redirect(url)
    found = search.search_orders(session, event_id, page=1, per_page=PER_PAGE)
    return render_template("order_pages/orders.html", event=g.event, found=found, q="",
                           problem=None, comp=form, comp_open=True), 400


def _order_or_404(event_id: int, order_id: int) -> Order:
    order = search.event_order(db_session(), event_id, order_id)
    if order is None:
        abort(404)
    return order


def order_context(order: Order) -> dict[str, Any]:
    """What the order page shows: the order, its tickets and its history."""
    session = db_session()
    lines = search.order_tickets(session, order)
    return {"event": g.event, "order": order, "lines": lines,
            "history": search.order_history(session, order, [ln.ticket.id for ln in lines]),
            "cancellable": order.payment_status in (PaymentStatus.PENDING,
                                                    PaymentStatus.COMPLETED)}


@bp.get(BASE + "/orders/<id:order_id>")
@page_access(Access.EVENT_ORGANIZER)
def order(event_id: int, order_id: int) -> str:
    found = _order_or_404(event_id, order_id)
    return render_template("order_pages/order.html", cancel=CancelOrderForm(prefix="cancel"),
                           **order_context(found))


@bp.post(BASE + "/orders/<id:order_id>/cancel")
@page_access(Access.EVENT_ORGANIZER)
def cancel(event_id: int, order_id: int) -> Response | tuple[str, int]:
    found = _order_or_404(event_id, order_id)
    form = CancelOrderForm(prefix="cancel")
    session = db_session()
    if form.validate_on_submit():
        if found.payment_status not in (PaymentStatus.PENDING, PaymentStatus.COMPLETED):
            flash(f"This order is already {found.payment_status.value.lower()}: "
                  "nothing to cancel.", "error")
            return redirect(url_for(".order", event_id=event_id, order_id=order_id))
        try:
            cancellation.cancel_order(session, found, by_user=g.user,
                                      reason=(form.reason.data or "").strip())
            session.commit()
        except ApiError as error:
            session.rollback()
            flash(error_words(error), "error")
        else:
            flash(f"Order {found.order_number} cancelled.", "success")
            return redirect(url_for(".order", event_id=event_id, order_id=order_id))
    session.refresh(found)
    return render_template("order_pages/order.html", cancel=form, cancel_open=True,
                           **order_context(found)), 400


@bp.get(BASE + "/orders.csv")
@page_access(Access.EVENT_ORGANIZER)
def orders_csv(event_id: int) -> Response:
    return csv_download(f"orders-event-{event_id}.csv", search.ORDER_COLUMNS,
                        search.order_rows(engine(), event_id))


@bp.get(BASE + "/attendees.csv")
@page_access(Access.EVENT_ORGANIZER)
def attendees_csv(event_id: int) -> Response:
    return csv_download(f"attendees-event-{event_id}.csv", search.ATTENDEE_COLUMNS,
                        search.attendee_rows(engine(), event_id))
