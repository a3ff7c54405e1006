"""The links account mail carries: confirm an address, choose a new password, confirm a new
address. Nothing is stored: a link is the user's id and a fingerprint of the account's state,
signed (itsdangerous, HMAC-SHA1 over the app's secret key, a salt per purpose) with its time.

- **expires**: refused after :data:`LIFETIMES` (the signature carries its time);
- **single use**: the fingerprint covers the address, whether it is verified, the password hash
  and the session epoch, and using a link changes one of them, so a used link (and every other
  link of the same purpose made before) no longer matches;
- **constant time**: the signature is checked with ``hmac.compare_digest`` by itsdangerous, the
  fingerprint with ``hmac.compare_digest`` here.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from enum import StrEnum

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from sync_server.accounts.models import User


class Purpose(StrEnum):
    VERIFY = "verify"
    RESET = "reset"
    CHANGE_EMAIL = "change-email"


LIFETIMES = {Purpose.VERIFY: timedelta(days=2), Purpose.RESET: timedelta(hours=1),
             Purpose.CHANGE_EMAIL: timedelta(days=1)}
PATHS = {Purpose.VERIFY: "/account/verify/", Purpose.RESET: "/account/reset/",
         Purpose.CHANGE_EMAIL: "/account/email/"}


class BadLink(Exception):
    """The link is forged, expired, used, or its account changed since."""


def _fingerprint(purpose: Purpose, user: User, detail: str) -> str:
    state = "\x1f".join((purpose.value, user.email, str(user.email_verified),
                         user.password_hash or "", str(user.session_epoch), detail))
    return hashlib.sha256(state.encode("utf-8")).hexdigest()[:32]


def _serializer(secret: str, purpose: Purpose) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=f"account-link-{purpose.value}")


def make_token(secret: str, purpose: Purpose, user: User, detail: str = "") -> str:
    return _serializer(secret, purpose).dumps(
        {"u": user.id, "f": _fingerprint(purpose, user, detail), "d": detail})


def make_url(base_url: str, secret: str, purpose: Purpose, user: User, detail: str = "") -> str:
    return base_url.rstrip("/") + PATHS[purpose] + make_token(secret, purpose, user, detail)


def read_token(session: Session, secret: str, purpose: Purpose, token: str) -> tuple[User, str]:
    """The user and detail of a valid, unexpired, unused link; ``BadLink`` otherwise."""
    try:
        data = _serializer(secret, purpose).loads(
            token, max_age=int(LIFETIMES[purpose].total_seconds()))
    except (SignatureExpired, BadSignature) as error:
        raise BadLink(str(error)) from None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        raise BadLink("not a link")
    raw_detail = data.get("d")
    detail = raw_detail if isinstance(raw_detail, str) else ""
    user = session.get(User, data["u"])
    given = data.get("f")
    if user is None or not isinstance(given, str) or not hmac.compare_digest(
            given.encode("ascii", "replace"),
            _fingerprint(purpose, user, detail).encode("ascii")):
        raise BadLink("this link was used already, or the account changed since")
    return user, detail
