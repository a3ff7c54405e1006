"""The buyer's pages: ``/events`` (search), ``/events/<id>`` (what is on sale, live counts, the
person's place in line and offer; the waiting list's forms are ``queue_pages``),
``/events/<id>/calendar.ics``, and ``/my/tickets`` with each ticket's page (big QR, PDF,
transfer). Thin: the rules are the events, orders and queue domains' services."""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime, time
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy.orm import selectinload

from shared.qr import render_png
from sync_server.auth.access import Access
from sync_server.auth.sessions import current_web_user, login_required, page_access
from sync_server.buyers.availability import event_stock
from sync_server.buyers.calendar import event_calendar
from sync_server.buyers.forms import EventSearchForm, TransferForm
from sync_server.buyers.queue_pages import my_places
from sync_server.db import db_session, utcnow
from sync_server.errors import ApiError
from sync_server.events.models import Event, EventStatus
from sync_server.events.services import all_categories, search_events
from sync_server.mail.pdf import tickets_pdf
from sync_server.mail.render import face_of
from sync_server.orders.my_tickets import mine, transfer_my_ticket
from sync_server.tickets.models import TicketInstance, TicketStatus

logger = logging.getLogger(__name__)
bp = Blueprint("buyers", __name__, template_folder="templates")
PER_PAGE = 12


def _day_start(value: Any) -> datetime | None:
    return datetime.combine(value, time.min, tzinfo=UTC) if value else None


def _day_end(value: Any) -> datetime | None:
    return datetime.combine(value, time.max, tzinfo=UTC) if value else None


@bp.get("/events")
def events() -> tuple[str, int] | str:
    session = db_session()
    form = EventSearchForm(request.args)
    form.category.choices = [("", "Any")] + [(c.name, c.name) for c in all_categories(session)]
    if request.args and not form.validate():
        return render_template("buyers/events.html", form=form, found=[], total=0, page=1,
                               pages=0), 422
    page = form.page.data or 1
    try:
        found, total = search_events(
            session, text=form.q.data or None, city=form.city.data or None,
            category=form.category.data or None, date_from=_day_start(form.date_from.data),
            date_to=_day_end(form.date_to.data), page=page, per_page=PER_PAGE)
    except ApiError as error:  # "to" before "from"
        form.date_to.errors = [*form.date_to.errors, *error.fields.get("date_to", [])]
        return render_template("buyers/events.html", form=form, found=[], total=0, page=1,
                               pages=0), error.status
    pages = (total + PER_PAGE - 1) // PER_PAGE
    return render_template("buyers/events.html", form=form, found=found, total=total, page=page,
                           pages=pages, args={k: v for k, v in request.args.items() if k != "page"})


@bp.get("/events/<id:event_id>")
@page_access(Access.EVENT_READ)
def event(event_id: int) -> str:
    now = utcnow()
    shown: Event = g.event
    can_buy = shown.status is EventStatus.PUBLISHED and (shown.ends_at or shown.starts_at) > now
    session = db_session()
    return render_template("buyers/event.html", event=shown, can_buy=can_buy,
                           stock=event_stock(session, shown, now), user=g.user,
                           places=my_places(session, shown, g.user))


@bp.get("/events/<id:event_id>/calendar.ics")
@page_access(Access.EVENT_READ)
def calendar(event_id: int) -> Response:
    url = url_for("buyers.event", event_id=event_id, _external=True)
    body = event_calendar(g.event, url=url, host=urlsplit(url).hostname or "stepperslife",
                          now=utcnow())
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": f'attachment; filename="event-{event_id}.ics"'})


@bp.get("/my/tickets")
@login_required
def my_tickets() -> str:
    session = db_session()
    user = current_web_user(session)
    assert user is not None
    rows = session.scalars(
        sa.select(TicketInstance).where(mine(user))
        .order_by(TicketInstance.created_at.desc(), TicketInstance.id.desc()).limit(500))
    tickets = list(rows)
    events_by_id = {e.id: e for e in session.scalars(
        sa.select(Event).where(Event.id.in_({t.event_id for t in tickets})))}
    return render_template("buyers/my_tickets.html", tickets=tickets, events=events_by_id)


def _my_ticket(ticket_id: int) -> TicketInstance:
    session = db_session()
    user = current_web_user(session)
    assert user is not None
    ticket = session.scalars(
        sa.select(TicketInstance).where(TicketInstance.id == ticket_id, mine(user))
        .options(selectinload(TicketInstance.ticket_type))).one_or_none()
    if ticket is None:
        abort(404)  # someone else's ticket is "no such page", never "forbidden"
    return ticket


def _ticket_page(ticket: TicketInstance, form: TransferForm) -> str:
    event_row = db_session().get(Event, ticket.event_id)
    qr = None
    if ticket.status is TicketStatus.VALID and ticket.token:
        qr = base64.b64encode(render_png(ticket.token, box_size=10)).decode()
    return render_template("buyers/ticket.html", ticket=ticket, event=event_row, qr=qr,
                           form=form)


@bp.get("/my/tickets/<id:ticket_id>")
@login_required
def ticket(ticket_id: int) -> str:
    return _ticket_page(_my_ticket(ticket_id), TransferForm())


@bp.get("/my/tickets/<id:ticket_id>/ticket.pdf")
@login_required
def ticket_pdf(ticket_id: int) -> Response:
    found = _my_ticket(ticket_id)
    if found.status is not TicketStatus.VALID or not found.token:
        abort(404)
    event_row = db_session().get(Event, found.event_id)
    assert event_row is not None
    return Response(tickets_pdf([face_of(event_row, found)]), mimetype="application/pdf",
                    headers={"Content-Disposition":
                             f'attachment; filename="ticket-{found.ticket_number}.pdf"',
                             "Cache-Control": "private, no-store"})


@bp.post("/my/tickets/<id:ticket_id>/transfer")
@login_required
def transfer(ticket_id: int) -> Any:
    session = db_session()
    found = _my_ticket(ticket_id)
    form = TransferForm()
    if not form.validate_on_submit():
        return _ticket_page(found, form), 422
    user = current_web_user(session)
    assert user is not None
    try:
        transfer_my_ticket(session, user, found, to_name=(form.to_name.data or "").strip(),
                           to_email=(form.to_email.data or "").strip().lower(),
                           master_secret=current_app.extensions["sync_config"].master_secret)
    except ApiError as error:
        session.rollback()
        if "to_email" in error.fields:
            form.to_email.errors = [*form.to_email.errors, *error.fields["to_email"]]
        else:
            flash(error.message, "error")
        return _ticket_page(_my_ticket(ticket_id), form), error.status
    session.commit()  # the new holder's e-mail goes once committed
    flash(f"Ticket {found.ticket_number} was given to {form.to_name.data}. "
          "They get it by e-mail; this one no longer opens the door.", "success")
    return redirect(url_for("buyers.my_tickets"))
