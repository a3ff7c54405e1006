"""SteppersLife sync server (Flask + SQLAlchemy): ``create_app(test_config=None)``.

Configuration order: defaults -> environment (``SYNC_*``) -> ``test_config``. The database is
not migrated here: ``sync-server db upgrade`` (or ``sync-server run``) does that.

The app is wired by name: ``api_domains()`` lists every domain's JSON routes and
``page_blueprints()`` every domain's HTML pages, so the URL map reads from this file; nothing
registers itself on import. The domains are imported inside those functions, when an app is
made, so that importing one module of ``sync_server`` (Alembic, the door's tests) does not
import them all. The package map (who may import whom) is in docs/server.md.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf import CSRFProtect
from werkzeug.routing import BaseConverter, ValidationError

# Load pydantic's lazily imported parts now, at package import: imported later, inside a test
# process that has PySide6's import hook active (pytest-qt), pydantic.types can fail with a
# circular ImportError (the hook probes module __getattr__ while pydantic is half imported).
from sync_server import api, db, errors, headers, ops, schemas, site  # noqa: F401
from sync_server.accounts.passwords import make_hasher
from sync_server.api import ApiRoute, Routes
from sync_server.auth import access as auth
from sync_server.auth.access import Principals
from sync_server.config import load_config

logger = logging.getLogger(__name__)

MAX_ID = 2**31 - 1


class IdConverter(BaseConverter):
    """A positive integer id that fits PostgreSQL's ``integer``; anything else is a 404."""

    regex = r"\d{1,10}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= MAX_ID:
            raise ValidationError
        return number

    def to_url(self, value: Any) -> str:
        return str(int(value))


class WebOnlySessions(SecureCookieSessionInterface):
    """The API takes bearer tokens, never cookies: its requests get Flask's null session (which
    refuses writes) instead of a signed cookie opened and checked on every call."""

    def __init__(self, api_prefix: str) -> None:
        self.api_prefix = api_prefix.rstrip("/") + "/"

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(self.api_prefix):
            return self.make_null_session(app)
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        return headers.secure_cookies(app)


def api_domains() -> tuple[Routes, ...]:
    """Every domain's JSON routes, in the order they are registered (and documented)."""
    from sync_server import openapi
    from sync_server.box_office import api as box_office
    from sync_server.devices import api as devices
    from sync_server.door import api as door
    from sync_server.door import voids as door_voids
    from sync_server.events import api as events
    from sync_server.mail import api as mail
    from sync_server.orders import api as orders
    from sync_server.orders import buyer_api as tickets
    from sync_server.payments import api as payments
    from sync_server.queue import api as waiting_list
    from sync_server.queue import stream as live
    from sync_server.reports import api as reports
    from sync_server.signin import api as signin
    from sync_server.staff import api as staff

    return (signin.routes, devices.routes, door.routes, door_voids.routes,
            events.routes, orders.routes,
            tickets.routes, mail.routes, box_office.routes, staff.routes, payments.routes,
            waiting_list.routes, live.routes, reports.routes, openapi.routes)


def page_blueprints() -> tuple[Blueprint, ...]:
    """Every domain's HTML pages."""
    from sync_server.box_office import pages as box_office
    from sync_server.buyers import pages as buyers
    from sync_server.buyers import queue_pages as buyer_queue
    from sync_server.door import pages as door_pages
    from sync_server.events import pages as event_pages
    from sync_server.mail import pages as mail_pages
    from sync_server.orders import pages as order_pages
    from sync_server.orders import routes as orders
    from sync_server.organizer import pages as organizer
    from sync_server.payments import pages as payment_pages
    from sync_server.payments import split_pages
    from sync_server.queue import stream as live
    from sync_server.reports import pages as report_pages
    from sync_server.signin import pages as signin

    return (signin.bp, orders.bp, buyers.bp, event_pages.bp, organizer.bp, box_office.bp,
            order_pages.bp, payment_pages.bp, split_pages.bp, mail_pages.bp, door_pages.bp,
            report_pages.bp, live.bp, buyer_queue.bp)


def api_routes() -> list[ApiRoute]:
    """The JSON routes ``create_app`` registers, without making an app."""
    return [route for routes in api_domains() for route in routes]


def _principals() -> Principals:
    """What auth asks of the domains above it (see ``auth.access.Principals``)."""
    from sync_server.devices.services import device_for_token, device_serves
    from sync_server.events.services import find_event
    from sync_server.staff.services import event_roles

    return Principals(event=find_event, device=device_for_token, event_roles=event_roles,
                      device_serves=device_serves)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    config = load_config(test_config)
    app = Flask(__name__, instance_path=str(config.instance_path.resolve()))
    app.config.update(
        SECRET_KEY=config.secret_key,
        MAX_CONTENT_LENGTH=config.max_content_length,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.secure_cookies,
        TESTING=config.testing,
    )
    app.url_map.converters["id"] = IdConverter
    app.extensions["sync_config"] = config
    app.extensions["sync_hasher"] = make_hasher(config)
    db.init_app(app, config.database_url)
    errors.init_app(app)
    headers.init_app(app)  # security headers on every response
    site.init_app(app)  # what every HTML page shares: navigation, filters
    ops.init_app(app)  # probes, metrics, the production start-up check
    auth.init_app(app, _principals())
    from sync_server import box_office, mail, orders, payments, queue

    payments.init_app(app)

    orders.connect_signals()  # event cancelled -> its orders cancelled and refunded
    mail.connect_signals()  # order completed, ticket transferred -> their e-mail
    box_office.connect_signals()  # tidy job -> cash holds released; event cancelled -> closed
    queue.connect_signals(config)  # units back on sale -> offered to the waiting list
    app.session_interface = WebOnlySessions(api.API_PREFIX)

    csrf = CSRFProtect(app)
    csrf.exempt(api.register(app, api_domains()))  # bearer tokens, never cookies: nothing to forge
    for pages in page_blueprints():
        app.register_blueprint(pages)
    logger.debug("app created (database %s)", config.database_url.split("@")[-1])
    return app
