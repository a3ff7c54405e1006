"""The "Tickets" tab of the event editor: days, ticket types (tiers) and bundles.

Same rules as ``events/pages.py``: the API's body schemas and services do the checking; a
create form carries a one-time nonce so a double submit adds one row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, url_for
from pydantic import BaseModel, ValidationError
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from sync_server.auth.access import Access
from sync_server.auth.sessions import page_access
from sync_server.db import db_session
from sync_server.errors import ApiError
from sync_server.events import schemas, services
from sync_server.events.forms import BundleForm, DayForm, TicketTypeForm, to_local, to_utc
from sync_server.events.models import Event, TicketType
from sync_server.schemas import patch_values
from sync_server.webforms.forms import (
    OnceForm,
    api_body,
    claim,
    finish,
    pydantic_fields,
    show_errors,
)

logger = logging.getLogger(__name__)
Page = str | Response | tuple[str, int]
MONEY_FIELDS = {"price_cents": "price"}


def _day_choices(event: Event) -> list[SelectChoice]:
    return [SelectChoice("", "Every day of the event")] + [
        SelectChoice(str(d.id), f"Day {d.day_number} ({d.date:%a %d %b})") for d in event.days]


def _bundle_days(event: Event) -> list[SelectChoice]:
    return [SelectChoice(str(d.id), f"Day {d.day_number} ({d.date:%a %d %b})")
            for d in event.days]


def _forms(event: Event, **posted: Any) -> dict[str, Any]:
    forms = {"day_form": DayForm(formdata=None), "type_form": TicketTypeForm(formdata=None),
             "bundle_form": BundleForm(formdata=None), **posted}
    forms["type_form"].event_day_id.choices = _day_choices(event)
    forms["bundle_form"].event_day_ids.choices = _bundle_days(event)
    return forms


def _page(event: Event, status: int = 200, **posted: Any) -> tuple[str, int]:
    return render_template("organizer/event_tiers.html", event=event,
                           **_forms(event, **posted)), status


def _create(form: OnceForm, schema: type[BaseModel], values: dict[str, Any],
            make: Callable[[Any], object], name: str) -> Page:
    """Check ``values`` as the API would, claim the form's nonce, ``make`` the row."""
    event: Event = g.event
    here = url_for("event_pages.tiers", event_id=event.id)
    try:
        body = api_body(schema, values)
    except ValidationError as error:
        for message in show_errors(form, pydantic_fields(error), MONEY_FIELDS):
            flash(message, "error")
        return _page(event, 422, **{name: form})
    db = db_session()
    done = claim(db, g.user.id, form.nonce.data)
    if done is not None:
        return redirect(done or here)
    try:
        make(body)
    except ApiError as error:
        db.rollback()
        rest = show_errors(form, error.fields, MONEY_FIELDS)
        flash(error.message if rest or not error.fields else "Check the fields marked below.",
              "error")
        return _page(event, error.status, **{name: form})
    finish(db, g.user.id, form.nonce.data, here)
    db.commit()
    flash("Added.", "success")
    return redirect(here)


def tiers(event_id: int) -> Page:
    return _page(g.event)


def add_day(event_id: int) -> Page:
    event: Event = g.event
    form = DayForm()
    if not form.validate_on_submit():
        return _page(event, 422, day_form=form)
    zone = event.timezone
    values = {"starts_at": to_utc(form.starts_at.data, zone),
              "ends_at": to_utc(form.ends_at.data, zone),
              "venue_name_override": form.venue_name_override.data or None}
    return _create(form, schemas.DayCreate, values, lambda body: services.add_day(
        db_session(), event, user=g.user, values=body.model_dump()), "day_form")


def add_ticket_type(event_id: int) -> Page:
    event: Event = g.event
    form = TicketTypeForm()
    form.event_day_id.choices = _day_choices(event)
    if not form.validate_on_submit():
        return _page(event, 422, type_form=form)
    return _create(form, schemas.TicketTypeCreate, form.values(event.timezone),
                   lambda body: services.add_ticket_type(db_session(), event, user=g.user,
                                                         values=body.model_dump()), "type_form")


def add_bundle(event_id: int) -> Page:
    event: Event = g.event
    form = BundleForm()
    form.event_day_ids.choices = _bundle_days(event)
    if not form.validate_on_submit():
        return _page(event, 422, bundle_form=form)
    return _create(form, schemas.BundleCreate, form.values(),
                   lambda body: services.add_bundle(db_session(), event, user=g.user,
                                                    values=body.model_dump()), "bundle_form")


def _fill(form: TicketTypeForm, row: TicketType, zone: str) -> None:
    for name in ("name", "quantity_total", "min_per_order", "max_per_order", "active"):
        getattr(form, name).data = getattr(row, name)
    form.price.data = row.price_cents / 100
    form.event_day_id.data = str(row.event_day_id or "")
    form.sales_start.data = to_local(row.sales_start, zone)
    form.sales_end.data = to_local(row.sales_end, zone)


def edit_ticket_type(event_id: int, ticket_type_id: int) -> Page:
    event: Event = g.event
    db = db_session()
    try:
        row = services.get_ticket_type(db, event, ticket_type_id)
    except ApiError:
        return render_template("error.html", status=404, title="Not Found",
                               words="This event has no such ticket type."), 404
    form = TicketTypeForm()
    form.event_day_id.choices = _day_choices(event)
    status = 200
    if not form.is_submitted():
        _fill(form, row, event.timezone)
    elif form.validate():
        values = form.values(event.timezone)
        try:
            body = api_body(schemas.TicketTypeUpdate, values)
            services.update_ticket_type(db, event, row, user=g.user, values=patch_values(
                body, schemas.TICKET_TYPE_NULLABLE))
        except ValidationError as error:
            show_errors(form, pydantic_fields(error), MONEY_FIELDS)
            status = 422
        except ApiError as error:
            db.rollback()
            show_errors(form, error.fields, MONEY_FIELDS)
            flash(error.message, "error")
            status = error.status
        else:
            db.commit()
            flash("Saved.", "success")
            return redirect(url_for("event_pages.tiers", event_id=event.id))
    else:
        status = 422
    return render_template("organizer/ticket_type_form.html", event=event, form=form,
                           row=row), status


def _remove(find: Callable[[], Any], remove: Callable[[Any], None], what: str) -> Page:
    """Remove one row by the service's rules (a sold one is refused, in words)."""
    event: Event = g.event
    db = db_session()
    try:
        remove(find())
    except ApiError as error:
        db.rollback()
        flash(error.message, "error")
        return _page(event, error.status)
    db.commit()
    flash(f"{what} removed.", "success")
    return redirect(url_for("event_pages.tiers", event_id=event.id))


def remove_day(event_id: int, day_id: int) -> Page:
    db, event = db_session(), g.event
    return _remove(lambda: services.get_day(db, event, day_id),
                   lambda day: services.delete_day(db, event, day, user=g.user), "Day")


def remove_ticket_type(event_id: int, ticket_type_id: int) -> Page:
    db, event = db_session(), g.event
    return _remove(lambda: services.get_ticket_type(db, event, ticket_type_id),
                   lambda row: services.delete_ticket_type(db, event, row, user=g.user),
                   "Ticket type")


def remove_bundle(event_id: int, bundle_id: int) -> Page:
    db, event = db_session(), g.event
    return _remove(lambda: services.get_bundle(db, event, bundle_id),
                   lambda row: services.delete_bundle(db, event, row, user=g.user), "Bundle")


def register(bp: Blueprint, prefix: str) -> None:
    organizer = page_access(Access.EVENT_ORGANIZER)
    bp.add_url_rule(prefix + "/tickets", "tiers", organizer(tiers))
    bp.add_url_rule(prefix + "/tickets/days", "add_day", organizer(add_day), methods=["POST"])
    bp.add_url_rule(prefix + "/tickets/types", "add_ticket_type", organizer(add_ticket_type),
                    methods=["POST"])
    bp.add_url_rule(prefix + "/tickets/types/<id:ticket_type_id>", "edit_ticket_type",
                    organizer(edit_ticket_type), methods=["GET", "POST"])
    bp.add_url_rule(prefix + "/tickets/bundles", "add_bundle", organizer(add_bundle),
                    methods=["POST"])
    for rule, name, view in (("/tickets/days/<id:day_id>/remove", "remove_day", remove_day),
                             ("/tickets/types/<id:ticket_type_id>/remove", "remove_ticket_type",
                              remove_ticket_type),
                             ("/tickets/bundles/<id:bundle_id>/remove", "remove_bundle",
                              remove_bundle)):
        bp.add_url_rule(prefix + rule, name, organizer(view), methods=["POST"])
