"""SteppersLife sync server (Flask + SQLAlchemy): ``create_app(test_config=None)``.

Configuration order: defaults -> environment (``SYNC_*``) -> ``test_config``. The database is
not migrated here: ``sync-server db upgrade`` (or ``sync-server run``) does that.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import pkgutil
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from flask import Blueprint, Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf import CSRFProtect
from werkzeug.routing import BaseConverter, ValidationError

# Load pydantic's lazily imported parts now, at package import: imported later, inside a test
# process that has PySide6's import hook active (pytest-qt), pydantic.types can fail with a
# circular ImportError (the hook probes module __getattr__ while pydantic is half imported).
from sync_server import db, errors, ops, schemas  # noqa: F401
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


def _domain_modules(leaf: str) -> list[ModuleType]:
    """Import ``sync_server.<domain>.<leaf>`` for every domain package that has one.

    A domain adds JSON routes by having an ``api.py`` (registered on the one ``/api/v1``
    blueprint at import) and HTML pages by having a ``routes.py`` with a Blueprint ``bp``;
    nothing here needs editing when a domain is added.
    """
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.ispkg and info.name != "migrations":
            name = f"{__name__}.{info.name}.{leaf}"
            if importlib.util.find_spec(name) is not None:
                found.append(importlib.import_module(name))
    return found


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
    from sync_server.accounts.passwords import make_hasher

    app.extensions["sync_hasher"] = make_hasher(config)
    db.init_app(app, config.database_url)
    errors.init_app(app)
    ops.init_app(app)  # probes, metrics, the production start-up check

    _domain_modules("api")
    import sync_server.openapi  # noqa: F401 - registers /api/v1/openapi.json
    from sync_server.api import API_PREFIX
    from sync_server.api import bp as api_bp

    app.session_interface = WebOnlySessions(API_PREFIX)

    csrf = CSRFProtect(app)
    csrf.exempt(api_bp)  # the API takes bearer tokens, never cookies: nothing to forge
    app.register_blueprint(api_bp)
    for pages in _domain_modules("routes"):
        page_bp = getattr(pages, "bp", None)
        if isinstance(page_bp, Blueprint):
            app.register_blueprint(page_bp)
    logger.debug("app created (database %s)", config.database_url.split("@")[-1])
    return app
