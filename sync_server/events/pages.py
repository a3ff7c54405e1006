"""The organizer's event editor as HTML pages: new event, edit (with pictures), publish.

Thin shells over ``events.services``: what a form sends goes through the API's own body
schemas (``events/schemas.py``) and services, and their refusals come back next to the fields
(``webforms``). Ticket types, days and bundles: ``events/tier_pages.py`` (same blueprint).
Access is the API's (``page_access``): organizer or admin; others get 403, a missing event 404.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from pydantic import ValidationError
from werkzeug.wrappers import Response

from sync_server.auth.access import Access
from sync_server.auth.sessions import page_access
from sync_server.db import db_session
from sync_server.errors import ApiError
from sync_server.events import images, schemas, services, tier_pages
from sync_server.events.forms import (
    ConfirmForm,
    EditEventForm,
    EventFields,
    ImageForm,
    NewEventForm,
    to_local,
)
from sync_server.events.models import Event
from sync_server.schemas import Body, patch_values
from sync_server.webforms.forms import (
    api_body,
    claim,
    finish,
    pydantic_fields,
    show_errors,
)

logger = logging.getLogger(__name__)
bp = Blueprint("event_pages", __name__, url_prefix="/organize/events")
E = "/<id:event_id>"
Page = str | Response | tuple[str, int]
B = TypeVar("B", bound=Body)


@bp.url_value_preprocessor
def _picture_size_limit(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """A picture may be bigger than other requests (``MAX_CONTENT_LENGTH``): the upload route
    alone reads up to twice the picture limit, so a picture a little too big is refused in
    words next to its field (422); a far bigger body is cut off by werkzeug (413, in words).
    Set here because URL preprocessors run before ``before_request`` (CSRF reads the form)."""
    if endpoint == "event_pages.add_image":
        request.max_content_length = 2 * images.MAX_IMAGE_BYTES


@bp.app_template_filter("local")
def local_time(moment: datetime | None, zone: str, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    """A UTC time as the wall clock of the event's zone (``{{ day.starts_at|local(zone) }}``)."""
    shown = to_local(moment, zone)
    return shown.strftime(fmt) if shown is not None else ""


def _instance() -> Path:
    return Path(current_app.instance_path)


def _checked(form: EventFields, schema: type[B]) -> B | None:
    """The API's body from the form, or None with the messages put next to the fields."""
    try:
        return api_body(schema, form.values())
    except ValidationError as error:
        for message in show_errors(form, pydantic_fields(error)):
            flash(message, "error")
        return None


def _refused(form: Any, error: ApiError) -> None:
    rest = show_errors(form, error.fields)
    flash(error.message if not error.fields or rest else "Check the fields marked below.",
          "error")
    for message in rest:
        flash(message, "error")


@bp.route("/new", methods=["GET", "POST"])
@page_access(Access.USER)
def new() -> Page:
    form = NewEventForm()
    if form.validate_on_submit():
        body = _checked(form, schemas.EventCreate)
        if body is not None:
            db = db_session()
            done = claim(db, g.user.id, form.nonce.data)
            if done is not None:  # this form was sent already: show what it made
                return redirect(done or url_for("organizer.dashboard"))
            try:
                event = services.create_event(db, organizer=g.user, values=body.model_dump())
            except ApiError as error:
                db.rollback()
                _refused(form, error)
            else:
                url = url_for("event_pages.edit", event_id=event.id)
                finish(db, g.user.id, form.nonce.data, url)
                db.commit()
                flash("Event created as a draft. Add its days and tickets next.", "success")
                return redirect(url_for("event_pages.tiers", event_id=event.id))
    elif form.is_submitted():
        flash("Check the fields marked below.", "error")
    return _form_page(form, None), (422 if form.errors else 200)


def _fill(form: EditEventForm, event: Event) -> None:
    zone = event.timezone
    form.event_type.data = event.event_type.value
    for name in ("name", "description", "venue_name", "address", "city", "state", "zip_code",
                 "country", "latitude", "longitude", "door_price_text", "allow_transfers",
                 "allow_waitlist", "min_tickets_per_order", "max_tickets_per_order"):
        getattr(form, name).data = getattr(event, name)
    form.timezone.data = zone
    form.starts_at.data = to_local(event.starts_at, zone)
    form.ends_at.data = to_local(event.ends_at, zone)
    form.categories.data = ", ".join(sorted(c.name for c in event.categories))
    form.version.data = str(event.version)


@bp.route(E, methods=["GET", "POST"])
@page_access(Access.EVENT_ORGANIZER)
def edit(event_id: int) -> Page:
    event: Event = g.event
    form = EditEventForm()
    status = 200
    if request.method == "GET":
        _fill(form, event)
    elif form.validate_on_submit():
        body = _checked(form, schemas.EventUpdate)
        if body is not None:
            db = db_session()
            try:
                services.update_event(db, event, user=g.user,
                                      expected_version=form.expected_version(),
                                      values=patch_values(body, schemas.EVENT_NULLABLE))
            except ApiError as error:
                db.rollback()
                _refused(form, error)
                status = error.status
                if "version" in error.fields:
                    db.refresh(event)
                    form.version.data = str(event.version)  # saving again overwrites, knowingly
                    return _form_page(form, event, stale=True), 409
            else:
                db.commit()
                flash("Saved.", "success")
                return redirect(url_for("event_pages.edit", event_id=event.id))
        status = 422
    else:
        flash("Check the fields marked below.", "error")
        status = 422
    return _form_page(form, event), status


def _form_page(form: EventFields, event: Event | None, *, stale: bool = False) -> str:
    return render_template("organizer/event_form.html", form=form, event=event, stale=stale,
                           image_form=ImageForm(), max_image_mb=images.MAX_IMAGE_BYTES >> 20)


@bp.post(E + "/images")
@page_access(Access.EVENT_ORGANIZER)
def add_image(event_id: int) -> Page:
    event: Event = g.event
    form = ImageForm()
    if form.validate_on_submit():
        upload = form.image.data
        data = b""
        if upload:
            with upload.stream:  # closed now: a spooled temporary file is not left open
                data = upload.read(images.MAX_IMAGE_BYTES + 1)
        db = db_session()
        try:
            images.add_image(db, event, user=g.user, data=data, instance=_instance())
        except ApiError as error:
            db.rollback()
            form.image.errors = list(error.fields.get("image", [error.message]))
            edit_form = EditEventForm(formdata=None)
            _fill(edit_form, event)
            flash(error.message, "error")
            return render_template("organizer/event_form.html", form=edit_form, event=event,
                                   stale=False, image_form=form,
                                   max_image_mb=images.MAX_IMAGE_BYTES >> 20), error.status
        db.commit()
        flash("Picture added.", "success")
    return redirect(url_for("event_pages.edit", event_id=event.id))


@bp.post(E + "/images/<name>/remove")
@page_access(Access.EVENT_ORGANIZER)
def remove_image(event_id: int, name: str) -> Page:
    db = db_session()
    try:
        images.remove_image(db, g.event, user=g.user, name=name, instance=_instance())
    except ApiError as error:
        flash(error.message, "error")
        return redirect(url_for("event_pages.edit", event_id=event_id))
    db.commit()
    flash("Picture removed.", "success")
    return redirect(url_for("event_pages.edit", event_id=event_id))


@bp.get(E + "/images/<name>")
@page_access(Access.EVENT_READ)
def image(event_id: int, name: str) -> Response:
    found = images.image_file(g.event, name)
    if found is None:
        abort(404)
    return send_from_directory(images.folder_for(_instance(), event_id), found,
                               max_age=86_400)


@bp.route(E + "/publish", methods=["GET", "POST"])
@page_access(Access.EVENT_ORGANIZER)
def publish(event_id: int) -> Page:
    event: Event = g.event
    form = ConfirmForm()
    if form.validate_on_submit():
        db = db_session()
        try:
            services.publish_event(db, event, user=g.user)
        except ApiError as error:
            db.rollback()
            flash(error.message, "error")
            return render_template("organizer/event_publish.html", event=event,
                                   form=form), error.status
        db.commit()
        flash("Published: buyers can find it and buy tickets.", "success")
        return redirect(url_for("event_pages.edit", event_id=event.id))
    return render_template("organizer/event_publish.html", event=event, form=form)


tier_pages.register(bp, E)
