"""An event's discount codes (``organizer.discount_codes``): create, edit, deactivate, and the
uses so far. The orders domain's services do the work (``orders/discounts.py``)."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, flash, g, redirect, render_template, url_for
from pydantic import ValidationError
from werkzeug.wrappers import Response

from sync_server.auth.access import Access
from sync_server.auth.sessions import page_access
from sync_server.db import db_session
from sync_server.errors import ApiError
from sync_server.events.forms import to_local
from sync_server.events.models import Event
from sync_server.orders import discounts
from sync_server.orders.models import DiscountCode, DiscountType
from sync_server.orders.schemas import (
    DISCOUNT_CODE_NULLABLE,
    DiscountCodeCreate,
    DiscountCodeUpdate,
)
from sync_server.organizer.forms import DiscountCodeEditForm, DiscountCodeForm
from sync_server.schemas import patch_values
from sync_server.webforms.forms import api_body, claim, finish, pydantic_fields, show_errors

logger = logging.getLogger(__name__)
Page = str | Response | tuple[str, int]
FIELDS = {"value": "amount"}


def _codes(event: Event) -> list[DiscountCode]:
    return list(db_session().scalars(sa.select(DiscountCode).where(
        DiscountCode.event_id == event.id).order_by(DiscountCode.id)))


def _with_choices(form: DiscountCodeForm, event: Event) -> DiscountCodeForm:
    form.ticket_type_ids.choices = [(t.id, t.name) for t in event.ticket_types]
    return form


def _page(event: Event, form: DiscountCodeForm | None = None, status: int = 200) -> Page:
    return render_template("organizer/discount_codes.html", event=event, codes=_codes(event),
                           form=form or _with_choices(DiscountCodeForm(formdata=None), event)
                           ), status


def discount_codes(event_id: int) -> Page:
    return _page(g.event)


def add_discount_code(event_id: int) -> Page:
    event: Event = g.event
    form = _with_choices(DiscountCodeForm(), event)
    if not form.validate_on_submit():
        return _page(event, form, 422)
    values: dict[str, Any] = form.values(event.timezone)
    try:
        body = api_body(DiscountCodeCreate, values)
    except ValidationError as error:
        for message in show_errors(form, pydantic_fields(error), FIELDS):
            flash(message, "error")
        return _page(event, form, 422)
    here = url_for("organizer.discount_codes", event_id=event.id)
    db = db_session()
    done = claim(db, g.user.id, form.nonce.data)
    if done is not None:
        return redirect(done or here)
    try:
        discounts.create_discount_code(
            db, event, user=g.user, code=body.code, discount_type=body.discount_type,
            value=body.value, valid_from=body.valid_from, valid_until=body.valid_until,
            max_uses=body.max_uses, max_uses_per_user=body.max_uses_per_user,
            ticket_type_ids=body.ticket_type_ids, description=body.description)
    except ApiError as error:
        db.rollback()
        rest = show_errors(form, error.fields, FIELDS)
        flash(error.message if rest or not error.fields else "Check the fields marked below.",
              "error")
        return _page(event, form, error.status)
    finish(db, g.user.id, form.nonce.data, here)
    db.commit()
    flash(f"Code {body.code.upper()} created.", "success")
    return redirect(here)


def _fill(form: DiscountCodeEditForm, row: DiscountCode, zone: str) -> None:
    form.description.data = row.description
    form.discount_type.data = row.discount_type.value
    form.amount.data = (Decimal(row.discount_value) if row.discount_type is
                        DiscountType.PERCENTAGE else Decimal(row.discount_value) / 100)
    form.valid_from.data = to_local(row.valid_from, zone)
    form.valid_until.data = to_local(row.valid_until, zone)
    form.max_uses.data, form.max_uses_per_user.data = row.max_uses, row.max_uses_per_user
    form.active.data = row.active


def edit_discount_code(event_id: int, code_id: int) -> Page:
    event: Event = g.event
    db = db_session()
    try:
        row = discounts.get_discount_code(db, event, code_id)
    except ApiError:
        return render_template("error.html", status=404, title="Not Found",
                               words="This event has no such discount code."), 404
    form = _with_choices(DiscountCodeEditForm(), event)
    form.code.data = row.code  # shown, never changed
    status = 200
    if not form.is_submitted():
        _fill(form, row, event.timezone)
    elif form.validate():
        try:
            body = api_body(DiscountCodeUpdate, form.update_values(event.timezone))
            discounts.update_discount_code(db, event, row, user=g.user, values=patch_values(
                body, DISCOUNT_CODE_NULLABLE))
        except ValidationError as error:
            show_errors(form, pydantic_fields(error), FIELDS)
            status = 422
        except ApiError as error:
            db.rollback()
            show_errors(form, error.fields, FIELDS)
            flash(error.message, "error")
            status = error.status
        else:
            db.commit()
            flash(f"Code {row.code} saved{'' if row.active else ' (deactivated)'}.", "success")
            return redirect(url_for("organizer.discount_codes", event_id=event.id))
    else:
        status = 422
    return render_template("organizer/discount_code_form.html", event=event, form=form,
                           row=row, only_for=discounts.applicable_ticket_type_ids(db, row)
                           ), status


def register(bp: Blueprint, prefix: str) -> None:
    organizer = page_access(Access.EVENT_ORGANIZER)
    bp.add_url_rule(prefix + "/discount-codes", "discount_codes", organizer(discount_codes))
    bp.add_url_rule(prefix + "/discount-codes/new", "add_discount_code",
                    organizer(add_discount_code), methods=["POST"])
    bp.add_url_rule(prefix + "/discount-codes/<id:code_id>", "edit_discount_code",
                    organizer(edit_discount_code), methods=["GET", "POST"])
