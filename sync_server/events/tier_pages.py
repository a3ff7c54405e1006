"""The "Tickets" tab of the event editor: add and remove days, ticket types (tiers) and
bundles; editing one is ``events/tier_edit_pages.py``.

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

from sync_server.auth.access import Access
from sync_server.auth.sessions import page_access
from sync_server.db import db_session
from sync_server.errors import ApiError
from sync_server.events import catalog, schemas
from sync_server.events.forms import BundleForm, DayForm, TicketTypeForm
from sync_server.events.models import Event
from sync_server.events.tier_edit_pages import day_choices, edit_bundle, edit_day, edit_ticket_type
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


def _forms(event: Event, **posted: Any) -> dict[str, Any]:
    forms = {"day_form": DayForm(formdata=None), "type_form": TicketTypeForm(formdata=None),
             "bundle_form": BundleForm(formdata=None), **posted}
    forms["type_form"].event_day_id.choices = day_choices(event, every_day=True)
    forms["bundle_form"].event_day_ids.choices = day_choices(event, every_day=False)
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
    return _create(form, schemas.DayCreate, form.values(event.timezone),
                   lambda body: catalog.add_day(db_session(), event, user=g.user,
                                                 values=body.model_dump()), "day_form")


def add_ticket_type(event_id: int) -> Page:
    event: Event = g.event
    form = TicketTypeForm()
    form.event_day_id.choices = day_choices(event, every_day=True)
    if not form.validate_on_submit():
        return _page(event, 422, type_form=form)
    return _create(form, schemas.TicketTypeCreate, form.values(event.timezone),
                   lambda body: catalog.add_ticket_type(db_session(), event, user=g.user,
                                                         values=body.model_dump()), "type_form")


def add_bundle(event_id: int) -> Page:
    event: Event = g.event
    form = BundleForm()
    form.event_day_ids.choices = day_choices(event, every_day=False)
    if not form.validate_on_submit():
        return _page(event, 422, bundle_form=form)
    return _create(form, schemas.BundleCreate, form.values(),
                   lambda body: catalog.add_bundle(db_session(), event, user=g.user,
                                                    values=body.model_dump()), "bundle_form")


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
    return _remove(lambda: catalog.get_day(db, event, day_id),
                   lambda day: catalog.delete_day(db, event, day, user=g.user), "Day")


def remove_ticket_type(event_id: int, ticket_type_id: int) -> Page:
    db, event = db_session(), g.event
    return _remove(lambda: catalog.get_ticket_type(db, event, ticket_type_id),
                   lambda row: catalog.delete_ticket_type(db, event, row, user=g.user),
                   "Ticket type")


def remove_bundle(event_id: int, bundle_id: int) -> Page:
    db, event = db_session(), g.event
    return _remove(lambda: catalog.get_bundle(db, event, bundle_id),
                   lambda row: catalog.delete_bundle(db, event, row, user=g.user), "Bundle")


def register(bp: Blueprint, prefix: str) -> None:
    organizer = page_access(Access.EVENT_ORGANIZER)
    bp.add_url_rule(prefix + "/tickets", "tiers", organizer(tiers))
    bp.add_url_rule(prefix + "/tickets/days", "add_day", organizer(add_day), methods=["POST"])
    bp.add_url_rule(prefix + "/tickets/types", "add_ticket_type", organizer(add_ticket_type),
                    methods=["POST"])
    for rule, name, edit in (("/tickets/days/<id:day_id>", "edit_day", edit_day),
                             ("/tickets/types/<id:ticket_type_id>", "edit_ticket_type",
                              edit_ticket_type),
                             ("/tickets/bundles/<id:bundle_id>", "edit_bundle", edit_bundle)):
        bp.add_url_rule(prefix + rule, name, organizer(edit), methods=["GET", "POST"])
    bp.add_url_rule(prefix + "/tickets/bundles", "add_bundle", organizer(add_bundle),
                    methods=["POST"])
    for rule, name, view in (("/tickets/days/<id:day_id>/remove", "remove_day", remove_day),
                             ("/tickets/types/<id:ticket_type_id>/remove", "remove_ticket_type",
                              remove_ticket_type),
                             ("/tickets/bundles/<id:bundle_id>/remove", "remove_bundle",
                              remove_bundle)):
        bp.add_url_rule(prefix + rule, name, organizer(view), methods=["POST"])
