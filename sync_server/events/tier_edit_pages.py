"""Editing one day, ticket type or bundle from the "Tickets" tab (its **Edit** links).

A save goes through the API's own PATCH body (``DayUpdate``, ``TicketTypeUpdate``,
``BundleUpdate``) and the same service the API calls, with the version of the row the page
showed. If someone else saved that row in between, the save is refused in words (409), what was
typed stays on the page, and the page then carries the current version: saving again replaces
their changes knowingly (the event form's rule, ``events/pages.py``). Removing is on the tab
itself (``tier_pages._remove``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import flash, g, redirect, render_template, url_for
from pydantic import ValidationError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from sync_server.db import db_session
from sync_server.errors import ApiError
from sync_server.events import catalog, schemas
from sync_server.events.forms import BundleEditForm, DayEditForm, TicketTypeEditForm, to_local
from sync_server.events.models import Bundle, Event, EventDay, TicketType
from sync_server.schemas import Body, patch_values
from sync_server.webforms.forms import api_body, pydantic_fields, show_errors

logger = logging.getLogger(__name__)
Page = str | Response | tuple[str, int]
MONEY_FIELDS = {"price_cents": "price"}


@dataclass(frozen=True)
class Kind:
    """What differs between the three edit pages."""

    what: str  # "day": in the page's words ("Someone else saved this day ...")
    schema: type[Body]  # the API's PATCH body
    nullable: frozenset[str]
    fields: str  # the template partial with the form's fields


DAY = Kind("day", schemas.DayUpdate, frozenset(schemas.DAY_NULLABLE),
           "organizer/_day_fields.html")
TICKET_TYPE = Kind("ticket type", schemas.TicketTypeUpdate,
                   frozenset(schemas.TICKET_TYPE_NULLABLE), "organizer/_ticket_type_fields.html")
BUNDLE = Kind("bundle", schemas.BundleUpdate, frozenset(schemas.BUNDLE_NULLABLE),
              "organizer/_bundle_fields.html")

Update = Callable[[Session, dict[str, Any], int], object]


def day_choices(event: Event, *, every_day: bool) -> list[SelectChoice]:
    """The event's days for a select (with "every day" first for a ticket type)."""
    days = [SelectChoice(str(d.id), f"Day {d.day_number} ({d.date:%a %d %b})")
            for d in event.days]
    return [SelectChoice("", "Every day of the event"), *days] if every_day else days


def _not_found(what: str) -> tuple[str, int]:
    return render_template("error.html", status=404, title="Not Found",
                           words=f"This event has no such {what}."), 404


def _edit(kind: Kind, form: Any, row: Any, values: Callable[[], dict[str, Any]],
          update: Update, heading: str) -> Page:
    """Show ``form`` (filled by the caller on a GET) or save it through ``update``."""
    event: Event = g.event
    db = db_session()
    status, stale = 200, False
    if not form.is_submitted():
        form.version.data = str(row.version)
    elif not form.validate():
        status = 422
    else:
        try:
            body = api_body(kind.schema, values())
            update(db, patch_values(body, kind.nullable), form.expected_version())
        except ValidationError as error:
            for message in show_errors(form, pydantic_fields(error), MONEY_FIELDS):
                flash(message, "error")
            status = 422
        except ApiError as error:
            db.rollback()
            status = error.status
            if "version" in error.fields:  # someone else saved it: theirs stays, mine is shown
                db.refresh(row)
                form.version.data = str(row.version)  # saving again overwrites, knowingly
                stale = True
            else:
                rest = show_errors(form, error.fields, MONEY_FIELDS)
                flash(error.message if rest or not error.fields
                      else "Check the fields marked below.", "error")
                for message in rest:
                    flash(message, "error")
        else:
            db.commit()
            flash("Saved.", "success")
            return redirect(url_for("event_pages.tiers", event_id=event.id))
    return render_template("organizer/tier_edit.html", event=event, form=form, row=row,
                           kind=kind, heading=heading, stale=stale,
                           **{"type_form" if kind is TICKET_TYPE else "the_form": form}), status


def edit_day(event_id: int, day_id: int) -> Page:
    event: Event = g.event
    try:
        day: EventDay = catalog.get_day(db_session(), event, day_id)
    except ApiError:
        return _not_found("day")
    form = DayEditForm()
    if not form.is_submitted():
        zone = event.timezone
        form.starts_at.data = to_local(day.starts_at, zone)
        form.ends_at.data = to_local(day.ends_at, zone)
        for name in form.OVERRIDES:
            getattr(form, name).data = getattr(day, name)
    return _edit(DAY, form, day, lambda: form.values(event.timezone),
                 lambda db, values, version: catalog.update_day(
                     db, event, day, user=g.user, values=values, expected_version=version),
                 f"Day {day.day_number}")


def edit_ticket_type(event_id: int, ticket_type_id: int) -> Page:
    event: Event = g.event
    try:
        row: TicketType = catalog.get_ticket_type(db_session(), event, ticket_type_id)
    except ApiError:
        return _not_found("ticket type")
    form = TicketTypeEditForm()
    form.event_day_id.choices = day_choices(event, every_day=True)
    if not form.is_submitted():
        zone = event.timezone
        for name in ("name", "description", "quantity_total", "min_per_order",
                     "max_per_order", "active"):
            getattr(form, name).data = getattr(row, name)
        form.price.data = row.price_cents / 100
        form.event_day_id.data = str(row.event_day_id or "")
        form.sales_start.data = to_local(row.sales_start, zone)
        form.sales_end.data = to_local(row.sales_end, zone)
    return _edit(TICKET_TYPE, form, row, lambda: form.values(event.timezone),
                 lambda db, values, version: catalog.update_ticket_type(
                     db, event, row, user=g.user, values=values, expected_version=version),
                 row.name)


def edit_bundle(event_id: int, bundle_id: int) -> Page:
    event: Event = g.event
    try:
        row: Bundle = catalog.get_bundle(db_session(), event, bundle_id)
    except ApiError:
        return _not_found("bundle")
    form = BundleEditForm()
    form.event_day_ids.choices = day_choices(event, every_day=False)
    if not form.is_submitted():
        for name in ("name", "description", "discount_percentage", "quantity_total",
                     "active"):
            getattr(form, name).data = getattr(row, name)
        form.price.data = row.price_cents / 100
        form.event_day_ids.data = [d.id for d in row.days]
    return _edit(BUNDLE, form, row, form.values,
                 lambda db, values, version: catalog.update_bundle(
                     db, event, row, user=g.user, values=values, expected_version=version),
                 row.name)
