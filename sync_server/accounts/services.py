"""Account operations: create users, check passwords (their API tokens: ``auth.tokens``)."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from sync_server.accounts.models import User
from sync_server.accounts.passwords import is_common_password
from sync_server.errors import ApiError, Code

logger = logging.getLogger(__name__)

# Verified against when the e-mail is unknown, so both paths cost one argon2 verification.
_DUMMY_PASSWORD = "not a real password, only for constant work"  # noqa: S105 - never a real password


_dummy_hashes: dict[tuple[int, int, int], str] = {}


def _dummy_hash(hasher: PasswordHasher) -> str:
    key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
    if key not in _dummy_hashes:
        _dummy_hashes[key] = hasher.hash(_DUMMY_PASSWORD)
    return _dummy_hashes[key]


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalars(
        sa.select(User).where(User.email == normalise_email(email))
    ).one_or_none()


def create_user(
    session: Session, *, email: str, password: str | None, name: str, hasher: PasswordHasher,
    is_admin: bool = False, email_verified: bool = False,
) -> User:
    """A new user; ``email_taken`` (409) if the address already has an account,
    ``validation_failed`` (422) for a common password."""
    email = normalise_email(email)
    if password is not None and is_common_password(password):
        raise ApiError(422, Code.VALIDATION_FAILED, "this password is too common; choose another",
                       {"password": ["too common: it is on a list of passwords people often use"]})
    if find_user_by_email(session, email) is not None:
        raise ApiError(409, Code.EMAIL_TAKEN, "an account with this e-mail already exists",
                       {"email": ["already registered"]})
    user = User(
        email=email, name=name, is_admin=is_admin, email_verified=email_verified,
        password_hash=hasher.hash(password) if password is not None else None,
    )
    session.add(user)
    session.flush()
    logger.info("created user %s", user.id)
    return user


def set_password(user: User, password: str, hasher: PasswordHasher) -> None:
    """A new password (refused if common: ``validation_failed``). Changing it ends every
    session cookie of the user (``auth.sessions``)."""
    if is_common_password(password):
        raise ApiError(422, Code.VALIDATION_FAILED, "this password is too common; choose another",
                       {"password": ["too common: it is on a list of passwords people often use"]})
    user.password_hash = hasher.hash(password)


def check_password(
    session: Session, *, email: str, password: str, hasher: PasswordHasher
) -> User:
    """The user with these credentials, or ``invalid_credentials`` (401)."""
    user = find_user_by_email(session, email)
    stored = user.password_hash if user is not None else None
    try:
        if stored is None:
            hasher.verify(_dummy_hash(hasher), password + "\x00")
            raise VerificationError
        hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        raise ApiError(401, Code.INVALID_CREDENTIALS, "wrong e-mail or password") from None
    assert user is not None
    if hasher.check_needs_rehash(stored):
        user.password_hash = hasher.hash(password)
    return user
