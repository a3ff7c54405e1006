"""HTML pages: the signed-in user in the session cookie."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, g, redirect, request, session, url_for
from sqlalchemy.orm import Session

from sync_server.accounts.models import User
from sync_server.auth.access import Access, Actor, authorize, event_in_url
from sync_server.auth.tokens import token_hash
from sync_server.db import db_session
from sync_server.errors import ApiError

F = TypeVar("F", bound=Callable[..., Any])


def current_web_user(db: Session) -> User | None:
    user_id = session.get("user_id")
    if not isinstance(user_id, int):
        return None
    user = db.get(User, user_id)
    if user is None or session.get("auth_hash") != _session_hash(user):
        return None
    return user


def _session_hash(user: User) -> str:
    # A password change, or "sign out everywhere" (the epoch), ends every session cookie.
    # (Epoch 0 hashes as before the epoch existed: cookies issued then stay valid.)
    epoch = f":{user.session_epoch}" if user.session_epoch else ""
    return token_hash(f"{user.id}:{user.password_hash or ''}{epoch}")[:16]


def sign_in_web(user: User) -> None:
    session.clear()
    session["user_id"] = user.id
    session["auth_hash"] = _session_hash(user)


def sign_out_web() -> None:
    session.clear()


def login_required(view: F) -> F:
    """For HTML pages: redirect to the sign-in page unless a user is signed in."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_web_user(db_session()) is None:
            return redirect(url_for("accounts.sign_in", next=request.path))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def page_access(access: Access) -> Callable[[F], F]:
    """For HTML pages: the API's rule for routes with this ``access``, answered as a page.

    Signed out (where a user is needed): the sign-in page, coming back here after. An
    ``<event_id>`` in the URL that names no event: 404. Not allowed: 403, exactly where the API
    answers 403, except for ``EVENT_READ`` (a draft event): 404 to anyone who may not see it.
    The view finds the user in ``g.user`` and the event in ``g.event``.
    """

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            db = db_session()
            user = current_web_user(db)
            event = None
            if "event_id" in kwargs:
                event = event_in_url(db, kwargs["event_id"])
                if event is None:
                    abort(404)
            readable = access is Access.EVENT_READ
            if user is None and access is not Access.PUBLIC and not readable:
                return redirect(url_for("accounts.sign_in", next=request.path))
            try:
                authorize(db, Actor(user=user), access, event)
            except ApiError as error:
                # A draft is "no such page" to whoever may not read it, signed in or not: a
                # stranger learns nothing, not even that it exists (as the buy page does).
                abort(404 if readable else error.status)
            g.user, g.event = user, event
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
