"""Who is calling the API (a bearer token), and may they call this route?

Roles are per event: the organizer of THIS event, a seller of THIS event (ACTIVE), staff of THIS
event until their access expires; a platform admin (``users.is_admin``) may act as any event's
organizer. Devices act for the events they were paired with; a revoked device is told
``device_revoked`` (401) so it wipes its local data.

Users and their tokens live below auth (``accounts``); devices, events and the staff and sellers
of an event live above it. Auth reaches those through one seam, :class:`Principals`, which
``create_app`` hands to :func:`init_app`; so its ``device`` and ``event`` objects are typed
``Any`` here (they are ``devices.models.Device`` and ``events.models.Event``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, request
from sqlalchemy.orm import Session, joinedload, load_only

from sync_server.accounts.models import ApiToken, User
from sync_server.auth.tokens import DEVICE_TOKEN_PREFIX, USER_TOKEN_PREFIX, same_hash, token_hash
from sync_server.db import standalone, utcnow
from sync_server.errors import ApiError, Code

logger = logging.getLogger(__name__)

MAX_BEARER_LENGTH = 200
BOX_OFFICE_KIND = "BOX_OFFICE"  # devices.models.DeviceKind.BOX_OFFICE (devices sits above auth)


class Access(StrEnum):
    """Who may call a route. The matrix test derives its expectations from these."""

    PUBLIC = "public"  # anyone (a bad bearer is still refused)
    USER = "user"  # any signed-in user
    DEVICE = "device"  # any paired, unrevoked device
    EVENT_READ = "event_read"  # anyone if the event is published; else a role on it
    EVENT_ORGANIZER = "event_organizer"  # the event's organizer or an admin
    EVENT_SELLER = "event_seller"  # organizer/admin or an ACTIVE seller of the event
    EVENT_DOOR = "event_door"  # a device serving the event, or organizer/admin/unexpired staff
    EVENT_DEVICE = "event_device"  # a device serving the event
    # a BOX_OFFICE device serving the event, or organizer/admin or an ACTIVE seller
    EVENT_BOX_OFFICE = "event_box_office"
    BOX_OFFICE_DEVICE = "box_office_device"  # a BOX_OFFICE device serving the event


@dataclass(frozen=True)
class Actor:
    user: User | None = None
    device: Any = None  # a devices.models.Device
    api_token: ApiToken | None = None

    @property
    def anonymous(self) -> bool:
        return self.user is None and self.device is None


@dataclass(frozen=True)
class EventRoles:
    organizer: bool = False  # includes platform admins
    seller: bool = False
    staff: bool = False  # unexpired, active
    staff_expired: bool = False

    @property
    def any(self) -> bool:
        return self.organizer or self.seller or self.staff


@dataclass(frozen=True)
class Principals:
    """The one seam between auth and the domains above it, filled in by ``create_app``."""

    # The event with this id, or None.
    event: Callable[[Session, int], Any]
    # The device whose token hashes to this digest, or None; an unrevoked one is noted as seen
    # at this time.
    device: Callable[[Session, str, datetime], Any]
    # The roles of this user on this event.
    event_roles: Callable[[Session, User, Any], EventRoles]
    # Whether this device serves the event with this id.
    device_serves: Callable[[Session, Any, int], bool]


def init_app(app: Flask, principals: Principals) -> None:
    app.extensions["sync_principals"] = principals


def _principals() -> Principals:
    principals: Principals = current_app.extensions["sync_principals"]
    return principals


def _refuse_401(code: str, message: str) -> ApiError:
    return ApiError(401, code, message, headers={"WWW-Authenticate": "Bearer"})


def bearer_token() -> str | None:
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip() or len(value) > MAX_BEARER_LENGTH:
        raise _refuse_401(Code.INVALID_TOKEN, "the Authorization header must be 'Bearer <token>'")
    return value.strip()


# The user in the same statement (checkout reads it on every request); built once.
# Only the columns every request may read; the others load on first use.
# A read: it opens no transaction (db.standalone), so a request whose writes fit in one
# statement needs none.
_TOKEN_WITH_USER = standalone(
    sa.select(ApiToken).where(ApiToken.token_hash == sa.bindparam("digest"))
    .options(load_only(ApiToken.id, ApiToken.user_id, ApiToken.token_hash, ApiToken.expires_at,
                       ApiToken.revoked_at),
             joinedload(ApiToken.user).load_only(User.id, User.email, User.email_verified,
                                                 User.name, User.is_admin))
)


def actor_for_token(session: Session, token: str, now: datetime | None = None) -> Actor:
    """The user or device a bearer token belongs to; refuses unknown, expired, revoked ones."""
    now = now or utcnow()
    digest = token_hash(token)
    if token.startswith(USER_TOKEN_PREFIX):
        api_token = session.scalars(_TOKEN_WITH_USER, {"digest": digest}).one_or_none()
        if (
            api_token is None
            or not same_hash(api_token.token_hash, digest)
            or api_token.revoked_at is not None
            or api_token.expires_at <= now
        ):
            raise _refuse_401(Code.INVALID_TOKEN, "the token is unknown, expired or revoked")
        return Actor(user=api_token.user, api_token=api_token)
    if token.startswith(DEVICE_TOKEN_PREFIX):
        device = _principals().device(session, digest, now)
        if device is None or not same_hash(device.token_hash, digest):
            raise _refuse_401(Code.INVALID_TOKEN, "the device token is unknown")
        if device.revoked_at is not None:
            raise _refuse_401(
                Code.DEVICE_REVOKED, "this device was revoked: wipe its local data and pair again"
            )
        return Actor(device=device)
    raise _refuse_401(Code.INVALID_TOKEN, "the token is not one of ours")


def authenticate(session: Session) -> Actor:
    """The caller of this request (anonymous if there is no Authorization header)."""
    token = bearer_token()
    if token is None:
        return Actor()
    return actor_for_token(session, token)


def event_in_url(session: Session, event_id: int) -> Any:
    """The event a route names in its URL, or None."""
    return _principals().event(session, event_id)


def require_user(actor: Actor) -> User:
    if actor.user is not None:
        return actor.user
    if actor.device is not None:
        raise ApiError(403, Code.FORBIDDEN, "this route is for signed-in users, not devices")
    raise _refuse_401(Code.AUTH_REQUIRED, "sign in first")


def require_device(actor: Actor) -> Any:
    """The calling device (a ``devices.models.Device``), or the right refusal."""
    if actor.device is not None:
        return actor.device
    if actor.user is not None:
        raise ApiError(403, Code.FORBIDDEN, "this route is for paired devices")
    raise _refuse_401(Code.AUTH_REQUIRED, "a device token is required")


def _forbidden(roles: EventRoles, what: str, staff_allowed: bool) -> ApiError:
    if staff_allowed and roles.staff_expired:
        return ApiError(403, Code.ACCESS_EXPIRED, "your staff access to this event has expired")
    return ApiError(403, Code.FORBIDDEN, f"only {what} of this event may do this")


def require_device_for_event(session: Session, actor: Actor, event: Any) -> Any:
    device = require_device(actor)
    if not _principals().device_serves(session, device, event.id):
        raise ApiError(403, Code.FORBIDDEN, "this device does not serve this event")
    return device


def require_event_role(
    session: Session, actor: Actor, event: Any, *, organizer: bool = True,
    seller: bool = False, staff: bool = False,
) -> EventRoles:
    """Require a signed-in user holding one of the named roles on ``event``."""
    user = require_user(actor)
    roles = _principals().event_roles(session, user, event)
    if (organizer and roles.organizer) or (seller and roles.seller) or (staff and roles.staff):
        return roles
    names = [n for n, on in (("the organizer", organizer), ("sellers", seller),
                             ("staff", staff)) if on]
    raise _forbidden(roles, " or ".join(names), staff)


def _require_box_office(session: Session, actor: Actor, event: Any) -> None:
    device = require_device_for_event(session, actor, event)
    if str(device.kind) != BOX_OFFICE_KIND:
        raise ApiError(403, Code.FORBIDDEN, "this route is for box-office devices")


def authorize(session: Session, actor: Actor, access: Access, event: Any) -> None:
    """Raise the right refusal unless ``actor`` may call a route with ``access`` on ``event``."""
    if access is Access.PUBLIC:
        return
    if access is Access.USER:
        require_user(actor)
        return
    if access is Access.DEVICE:
        require_device(actor)
        return
    assert event is not None, f"{access} routes need <event_id> in their URL"
    if access is Access.EVENT_READ:
        if event.published:
            return
        if actor.device is not None:
            require_device_for_event(session, actor, event)
            return
        require_event_role(session, actor, event, seller=True, staff=True)
    elif access is Access.EVENT_ORGANIZER:
        require_event_role(session, actor, event)
    elif access is Access.EVENT_SELLER:
        require_event_role(session, actor, event, seller=True)
    elif access is Access.EVENT_DOOR:
        if actor.device is not None:
            require_device_for_event(session, actor, event)
            return
        require_event_role(session, actor, event, staff=True)
    elif access is Access.EVENT_DEVICE:
        require_device_for_event(session, actor, event)
    elif access is Access.EVENT_BOX_OFFICE:
        if actor.device is not None:
            _require_box_office(session, actor, event)
            return
        require_event_role(session, actor, event, seller=True)
    elif access is Access.BOX_OFFICE_DEVICE:
        _require_box_office(session, actor, event)
    else:  # pragma: no cover - a new Access member without a rule here
        raise AssertionError(f"no rule for {access}")
