"""Form helpers: a one-time nonce for create forms, and the API's refusals next to the fields.

A create form renders a fresh ``nonce``. The view claims it (:func:`claim`) in the same
transaction as the thing it creates, *before* creating it: a second submit of the same form
(double click, reload, back-and-resend) finds the nonce taken and is sent where the first one
went. Two submits racing: the second waits on the unique ``(user_id, nonce)`` index until the
first commits (PostgreSQL; SQLite has one writer), fails to insert and replays the first.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from flask_wtf import FlaskForm
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from wtforms import HiddenField
from wtforms.validators import DataRequired, Regexp

from sync_server.db import utcnow
from sync_server.webforms.models import FormNonce

logger = logging.getLogger(__name__)

KEEP = timedelta(days=1)
_NONCE = Regexp(r"^[A-Za-z0-9_-]{16,64}$", message="This form is damaged: reload the page.")


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


class OnceForm(FlaskForm):  # type: ignore[misc]  # flask-wtf ships no types
    """A create form: submitted twice, it still creates one thing."""

    nonce = HiddenField(default=new_nonce, validators=[DataRequired(), _NONCE])


def claim(session: Session, user_id: int, nonce: str) -> str | None:
    """Take ``nonce`` for this submit (``None``), or the URL an earlier submit of it led to."""
    done = _result(session, user_id, nonce)
    if done is not None:
        return done
    # A nonce only needs to outlive a double submit: this user's old ones go now.
    session.execute(sa.delete(FormNonce).where(FormNonce.user_id == user_id,
                                               FormNonce.created_at < utcnow() - KEEP))
    row = FormNonce(user_id=user_id, nonce=nonce, result_url="")
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # the other submit committed first: follow it
        return _result(session, user_id, nonce) or ""
    return None


def finish(session: Session, user_id: int, nonce: str, url: str) -> None:
    """Record where this submit led (the caller commits it with the thing created)."""
    session.execute(sa.update(FormNonce).where(FormNonce.user_id == user_id,
                                               FormNonce.nonce == nonce).values(result_url=url))


def _result(session: Session, user_id: int, nonce: str) -> str | None:
    return session.scalar(sa.select(FormNonce.result_url).where(
        FormNonce.user_id == user_id, FormNonce.nonce == nonce))


def show_errors(form: FlaskForm, fields: Mapping[str, Sequence[str]],
                names: Mapping[str, str] | None = None) -> list[str]:
    """Put each message next to its field (an API field name may map to a form field through
    ``names``); messages for fields the form does not have are returned, to show on top."""
    names = names or {}
    rest: list[str] = []
    for name, messages in fields.items():
        target = getattr(form, names.get(name, name), None)
        if target is not None and hasattr(target, "errors"):
            target.errors = [*list(target.errors or []), *messages]
        else:
            rest.extend(f"{name}: {m}" if name else m for m in messages)
    return rest


def pydantic_fields(error: ValidationError) -> dict[str, list[str]]:
    """A pydantic refusal (the API's body check) as field messages."""
    fields: dict[str, list[str]] = {}
    for item in error.errors():
        name = str(item["loc"][0]) if item["loc"] else ""
        fields.setdefault(name, []).append(_words(item))
    return fields


M = TypeVar("M", bound=BaseModel)


def api_body(schema: type[M], values: Mapping[str, Any]) -> M:
    """``values`` checked exactly as the API checks a JSON body (``schema`` is its pydantic
    body; times are sent as ISO text, as a client would); raises pydantic's ValidationError."""
    return schema.model_validate_json(json.dumps(values, default=_json_value))


def _json_value(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _words(item: Mapping[str, Any]) -> str:
    message = str(item.get("msg", "is not valid"))
    return message.removeprefix("Value error, ")
