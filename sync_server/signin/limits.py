"""Sign-in limits that count FAILURES, and never lock a known client out.

A wrong password counts against the account's address and the caller's network address
(``sign_in_limit`` and ``sign_in_limit_per_address`` per ``sign_in_window_seconds``); past either,
sign-in answers 429 before the password is checked. A client that signed in to this account
before carries a signed cookie (``sync_known_client``: the account's e-mail digest and a random
client id, signed with the app's secret key): its attempts count against that client id alone, so
an attacker's failures from elsewhere, or from the same network address, never lock it out, and
its own wrong passwords are still limited. See docs/security.md.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from flask import after_this_request, current_app, request
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from sync_server.accounts import services
from sync_server.accounts.models import User
from sync_server.config import Config
from sync_server.db import engine
from sync_server.errors import ApiError
from sync_server.headers import secure_cookies
from sync_server.ratelimit.services import count, refuse_if_over, subject_for_email

logger = logging.getLogger(__name__)

COOKIE = "sync_known_client"
COOKIE_DAYS = 365
ACTION = "SIGN_IN"  # rate_limits.action: failed sign-ins


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key or "", salt="known-client")


def known_client(email: str) -> str | None:
    """The client id of this request's known-client cookie, if it was issued for ``email``."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data: Any = _serializer().loads(raw)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("e") != subject_for_email(email):
        return None
    client = data.get("c")
    return client if isinstance(client, str) else None


def _limits(email: str, config: Config) -> dict[str, int]:
    client = known_client(email)
    if client is not None:
        return {f"client:{client}": config.sign_in_limit}
    return {subject_for_email(email): config.sign_in_limit,
            f"ip:{request.remote_addr}": config.sign_in_limit_per_address}


def _remember(email: str) -> None:
    value = _serializer().dumps({"e": subject_for_email(email),
                                 "c": known_client(email) or secrets.token_urlsafe(16)})
    secure = secure_cookies(current_app)

    @after_this_request
    def set_cookie(response: Response) -> Response:
        response.set_cookie(COOKIE, value, max_age=COOKIE_DAYS * 86400, httponly=True,
                            samesite="Lax", secure=secure)
        return response


def check_password(session: Session, *, email: str, password: str) -> User:
    """The user with these credentials; ``invalid_credentials`` (401) counted as a failure, or
    ``rate_limited`` (429) once this caller's failures reached a limit."""
    config: Config = current_app.extensions["sync_config"]
    limits = _limits(email, config)
    window = config.sign_in_window_seconds
    refuse_if_over(engine(), action=ACTION, limits=limits, window_seconds=window)
    try:
        user = services.check_password(session, email=email, password=password,
                                       hasher=current_app.extensions["sync_hasher"])
    except ApiError:
        session.rollback()  # end its read (SQLite) before the counter's transaction
        count(engine(), action=ACTION, limits=limits, window_seconds=window)
        raise
    _remember(email)
    return user
