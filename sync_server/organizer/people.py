"""An event's people (``organizer.people``): door staff, box-office sellers and door devices.

Each form's values pass the API's body schema, then the staff/devices services; a refusal comes
back next to its field with what was typed. A new door is paired by a one-time QR shown on
screen: ``stepperslife-pair:<server>#<code>`` (``shared.protocol.pairing_qr_text``), drawn as SVG
(no inline style or script: the page's CSP) and also kept in its ``data-payload`` attribute.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from markupsafe import Markup
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from shared.protocol import pairing_qr_text
from shared.qr import render_svg
from sync_server.auth.access import Access
from sync_server.auth.sessions import page_access
from sync_server.config import Config
from sync_server.db import db_session
from sync_server.devices import services as devices
from sync_server.devices.schemas import DeviceRename, PairingCodeCreate
from sync_server.errors import ApiError
from sync_server.events.models import Event
from sync_server.organizer.forms import DeviceForm, RenameForm, SellerForm, StaffForm
from sync_server.staff import services as staff
from sync_server.staff.schemas import SellerAdd, StaffAdd
from sync_server.webforms.forms import api_body, claim, finish, pydantic_fields, show_errors

logger = logging.getLogger(__name__)
Page = str | Response | tuple[str, int]
SELLER_FIELDS = {"commission_rate_bp": "commission"}


def _here(event: Event) -> str:
    return url_for("organizer.people", event_id=event.id)


def _page(event: Event, status: int = 200, **posted: Any) -> tuple[str, int]:
    db = db_session()
    forms = {"staff_form": StaffForm(formdata=None), "seller_form": SellerForm(formdata=None),
             "device_form": DeviceForm(formdata=None), **posted}
    return render_template(
        "organizer/people.html", event=event, staff=staff.list_staff(db, event),
        sellers=staff.list_sellers(db, event), devices=devices.devices_for_event(db, event),
        rename_form=RenameForm(formdata=None), **forms), status


def _body(form: Any, schema: type[BaseModel], values: dict[str, Any],
          names: dict[str, str] | None = None) -> Any:
    try:
        return api_body(schema, values)
    except ValidationError as error:
        for message in show_errors(form, pydantic_fields(error), names):
            flash(message, "error")
        return None


def _refused(form: Any, error: ApiError, names: dict[str, str] | None = None) -> None:
    rest = show_errors(form, error.fields, names)
    flash(error.message if rest or not error.fields else "Check the fields marked below.",
          "error")


def people(event_id: int) -> Page:
    return _page(g.event)


def add_staff(event_id: int) -> Page:
    event: Event = g.event
    form = StaffForm()
    if not form.validate_on_submit():
        return _page(event, 422, staff_form=form)
    body = _body(form, StaffAdd, form.values(event.timezone))
    if body is None:
        return _page(event, 422, staff_form=form)
    db = db_session()
    done = claim(db, g.user.id, form.nonce.data)
    if done is not None:
        return redirect(done or _here(event))
    try:
        staff.add_staff(db, event, by=g.user, email=body.email, role=body.role,
                        access_expires_at=body.access_expires_at, name=body.name)
    except ApiError as error:
        db.rollback()
        _refused(form, error)
        return _page(event, error.status, staff_form=form)
    finish(db, g.user.id, form.nonce.data, _here(event))
    db.commit()
    flash(f"{body.email} is door staff until the time you chose.", "success")
    return redirect(_here(event))


def _remove(event: Event, remove: Callable[[Session], object], done: str) -> Page:
    """Run a removal (the service raises in words), commit, say ``done``; or show why not.
    CSRF is checked for every POST (CSRFProtect)."""
    db = db_session()
    try:
        remove(db)
    except ApiError as error:
        flash(error.message, "error")
        return _page(event, error.status)
    db.commit()
    flash(done, "success")
    return redirect(_here(event))


def remove_staff(event_id: int, staff_id: int) -> Page:
    event: Event = g.event
    return _remove(event, lambda db: staff.remove_staff(
        db, event, staff.get_staff(db, event, staff_id), by=g.user), "Staff member removed.")


def add_seller(event_id: int) -> Page:
    event: Event = g.event
    form = SellerForm()
    if not form.validate_on_submit():
        return _page(event, 422, seller_form=form)
    body = _body(form, SellerAdd, form.values(), SELLER_FIELDS)
    if body is None:
        return _page(event, 422, seller_form=form)
    db = db_session()
    done = claim(db, g.user.id, form.nonce.data)
    if done is not None:
        return redirect(done or _here(event))
    try:
        staff.add_seller(db, event, by=g.user, email=body.email, name=body.name,
                         allocated_tickets=body.allocated_tickets,
                         commission_rate_bp=body.commission_rate_bp)
    except ApiError as error:
        db.rollback()
        _refused(form, error, SELLER_FIELDS)
        return _page(event, error.status, seller_form=form)
    finish(db, g.user.id, form.nonce.data, _here(event))
    db.commit()
    flash(f"{body.email} may sell tickets at the box office.", "success")
    return redirect(_here(event))


def revoke_seller(event_id: int, seller_id: int) -> Page:
    event: Event = g.event
    return _remove(event, lambda db: staff.remove_seller(
        db, event, staff.get_seller(db, event, seller_id), by=g.user),
        "Seller revoked; their sales stay on record.")


def _config() -> Config:
    config: Config = current_app.extensions["sync_config"]
    return config


def qr_svg(text: str) -> Markup:
    """The QR of ``text`` as inline SVG (no XML prolog; labelled for screen readers)."""
    svg = render_svg(text).decode("utf-8")
    svg = re.sub(r"^<\?xml[^>]*\?>\s*", "", svg)
    svg = svg.replace("<svg ", '<svg role="img" aria-label="Pairing QR code" ', 1)
    return Markup(svg)  # noqa: S704  (our own renderer's output, no user text in markup)


def add_device(event_id: int) -> Page:
    event: Event = g.event
    form = DeviceForm()
    if not form.validate_on_submit():
        return _page(event, 422, device_form=form)
    body = _body(form, PairingCodeCreate, {"name": (form.name.data or "").strip()})
    if body is None:
        return _page(event, 422, device_form=form)
    db = db_session()
    done = claim(db, g.user.id, form.nonce.data)
    if done is not None:  # the code was shown once; a resend makes no second one
        flash("That pairing code was already shown. Add the door again for a new code.",
              "error")
        return redirect(_here(event))
    try:
        code, row = devices.create_pairing_code(
            db, by=g.user, events=[event], device_name=body.name, kind=body.kind,
            minutes=_config().pairing_code_minutes)
    except ApiError as error:
        db.rollback()
        _refused(form, error)
        return _page(event, error.status, device_form=form)
    finish(db, g.user.id, form.nonce.data, _here(event))
    db.commit()
    payload = pairing_qr_text(_config().public_url or request.host_url, code)
    return render_template("organizer/pair_device.html", event=event, code=code, row=row,
                           payload=payload, svg=qr_svg(payload))


def rename_device(event_id: int, device_id: int) -> Page:
    event: Event = g.event
    form = RenameForm()
    db = db_session()
    try:
        device = devices.get_device_for_event(db, event, device_id)
    except ApiError as error:
        flash(error.message, "error")
        return _page(event, 404)
    if not form.validate_on_submit():
        flash("Enter a name for the device (up to 100 characters).", "error")
        return _page(event, 422)
    try:
        body = api_body(DeviceRename, {"name": (form.name.data or "").strip()})
    except ValidationError as error:
        flash("; ".join(m for ms in pydantic_fields(error).values() for m in ms), "error")
        return _page(event, 422)
    devices.rename_device(db, device, name=body.name, by=g.user)
    db.commit()
    flash(f"Renamed to “{body.name}”.", "success")
    return redirect(_here(event))


def revoke_device(event_id: int, device_id: int) -> Page:
    event: Event = g.event
    db = db_session()
    try:
        device = devices.get_device_for_event(db, event, device_id)
    except ApiError as error:
        flash(error.message, "error")
        return _page(event, 404)
    devices.revoke_device(db, device, by=g.user)
    db.commit()
    flash(f"“{device.name}” is revoked: at its next contact it wipes its tickets.", "success")
    return redirect(_here(event))


def register(bp: Blueprint, prefix: str) -> None:
    organizer = page_access(Access.EVENT_ORGANIZER)
    post = ["POST"]
    bp.add_url_rule(prefix + "/people", "people", organizer(people))
    bp.add_url_rule(prefix + "/people/staff", "add_staff", organizer(add_staff), methods=post)
    bp.add_url_rule(prefix + "/people/staff/<id:staff_id>/remove", "remove_staff",
                    organizer(remove_staff), methods=post)
    bp.add_url_rule(prefix + "/people/sellers", "add_seller", organizer(add_seller),
                    methods=post)
    bp.add_url_rule(prefix + "/people/sellers/<id:seller_id>/revoke", "revoke_seller",
                    organizer(revoke_seller), methods=post)
    bp.add_url_rule(prefix + "/people/devices", "add_device", organizer(add_device),
                    methods=post)
    bp.add_url_rule(prefix + "/people/devices/<id:device_id>/rename", "rename_device",
                    organizer(rename_device), methods=post)
    bp.add_url_rule(prefix + "/people/devices/<id:device_id>/revoke", "revoke_device",
                    organizer(revoke_device), methods=post)
