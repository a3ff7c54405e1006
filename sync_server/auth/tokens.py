"""Opaque bearer secrets: generation, the SHA-256 that is all the database keeps, and a user's
API tokens (issued at sign-in, revoked at sign-out)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from shared.vocabulary import DEVICE_TOKEN_PREFIX as DEVICE_TOKEN_PREFIX
from shared.vocabulary import USER_TOKEN_PREFIX as USER_TOKEN_PREFIX
from sync_server.accounts.models import ApiToken, User
from sync_server.db import utcnow


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def token_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("ascii"), b.encode("ascii"))


def issue_api_token(
    session: Session, user: User, *, days: int, label: str = "", now: datetime | None = None
) -> tuple[str, ApiToken]:
    """A new bearer token for ``user``: the text (shown once) and its row."""
    now = now or utcnow()
    text = new_token(USER_TOKEN_PREFIX)
    row = ApiToken(
        user_id=user.id, token_hash=token_hash(text), label=label, created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(row)
    session.flush()
    return text, row


def revoke_api_token(session: Session, token: ApiToken) -> None:
    token.revoked_at = utcnow()
    session.flush()
