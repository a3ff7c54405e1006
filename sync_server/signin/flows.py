"""Account flows that mail: sign-up, e-mail verification, password reset, e-mail change and
"sign out everywhere" (issue #13: sign-up must not confirm who has an account; issue #17).

Sign-up answers the same whether or not the address has an account: a new address gets an
unverified account and a link to confirm it; an address that has an account gets a mail saying
someone tried (sign in, or reset the password) and nothing else changes. Both paths hash the
password once (argon2), so they take the same time. An unverified account cannot sign in.

Mail to one address is capped per window (:data:`MAILS_PER_ADDRESS` per hour), silently: past
it the caller gets the same answer and no mail leaves, so nobody can flood a real user's inbox
or learn anything from a refusal. Requests are also limited per client address (429, which says
nothing about the e-mail address asked for).
"""

from __future__ import annotations

import logging

from argon2 import PasswordHasher
from flask import current_app, request
from sqlalchemy.orm import Session

from sync_server.accounts import services
from sync_server.accounts.links import BadLink, Purpose, read_token
from sync_server.accounts.models import User
from sync_server.accounts.passwords import is_common_password
from sync_server.config import Config
from sync_server.db import engine, utcnow
from sync_server.errors import ApiError, Code
from sync_server.mail.account_mail import enqueue_account_mail
from sync_server.mail.after_commit import send_queued
from sync_server.mail.models import MailKind
from sync_server.ratelimit.services import hit, subject_for_email

logger = logging.getLogger(__name__)

MAILS_PER_ADDRESS = 5  # account mails to one address per hour (silent past it)
MAIL_WINDOW_SECONDS = 3600
CHECK_EMAIL = "check your e-mail"  # what sign-up and reset requests answer, always


def _config() -> Config:
    config: Config = current_app.extensions["sync_config"]
    return config


def _secret() -> str:
    return current_app.secret_key or ""  # type: ignore[return-value]


def limit_client(action: str) -> None:
    """Count this request against the caller's address (429 past the limit)."""
    config = _config()
    hit(engine(), action=action, subject=f"ip:{request.remote_addr}",
        limit=config.sign_in_limit_per_address, window_seconds=config.sign_in_window_seconds)


def _may_mail(address: str) -> bool:
    try:
        hit(engine(), action="ACCOUNT_MAIL", subject=subject_for_email(address),
            limit=MAILS_PER_ADDRESS, window_seconds=MAIL_WINDOW_SECONDS)
    except ApiError:
        logger.info("account mail to an address over its hourly cap: not sent")
        return False
    return True


def _mail(session: Session, kind: MailKind, user: User, *, to: str | None = None,
          detail: str | None = None, allowed: bool | None = None) -> list[int]:
    """Queue one account mail unless its address is over its cap. The cap is counted in its
    own transaction: call before this session writes anything (SQLite has one writer), or
    count first and pass ``allowed``."""
    if not (_may_mail(to or user.email) if allowed is None else allowed):
        return []
    return [enqueue_account_mail(session, kind=kind, user=user, to_email=to, detail=detail).id]


def _send(ids: list[int]) -> None:
    try:
        send_queued(ids)
    except Exception:  # the outbox keeps them for `sync-server send-mail`
        logger.exception("account mail %s not sent now", ids)


def sign_up(session: Session, *, email: str, password: str, name: str,
            hasher: PasswordHasher) -> None:
    """Create an unverified account and mail its link, or mail the owner of the address.
    Raises only for what the caller sent (a common password: 422), never for the address."""
    if is_common_password(password):
        services.create_user(session, email=email, password=password, name=name,
                             hasher=hasher)  # raises validation_failed, as before
    existing = services.find_user_by_email(session, email)
    if existing is not None:
        hasher.hash(password)  # the same argon2 work as a new account
        ids = _mail(session, MailKind.ACCOUNT_EXISTS, existing)
    else:
        allowed = _may_mail(email)
        user = services.create_user(session, email=email, password=password, name=name,
                                    hasher=hasher)
        ids = _mail(session, MailKind.VERIFY_EMAIL, user, allowed=allowed)
    session.commit()
    _send(ids)


def refuse_unverified(session: Session, user: User) -> None:
    """An unverified account cannot sign in: mail a fresh link, answer 403 ``email_unverified``
    (said only to a caller who gave the right password)."""
    if user.email_verified:
        return
    session.rollback()
    ids = _mail(session, MailKind.VERIFY_EMAIL, user)
    session.commit()
    _send(ids)
    raise ApiError(403, Code.EMAIL_UNVERIFIED,
                   "confirm your e-mail address first: we have sent you a link")


def verify_email(session: Session, token: str) -> User:
    user, _ = read_token(session, _secret(), Purpose.VERIFY, token)
    user.email_verified = True
    session.commit()
    return user


def request_reset(session: Session, email: str) -> None:
    """Mail a reset link if the address has an account; the same answer either way."""
    user = services.find_user_by_email(session, email)
    ids = _mail(session, MailKind.PASSWORD_RESET, user) if user is not None else []
    session.commit()
    _send(ids)


def check_reset_link(session: Session, token: str) -> User:
    user, _ = read_token(session, _secret(), Purpose.RESET, token)
    return user


def reset_password(session: Session, token: str, password: str, hasher: PasswordHasher) -> User:
    """Set a new password through a reset link: the link proves the mailbox, so the address
    counts as verified; every session and API token of the account ends."""
    user = check_reset_link(session, token)
    services.set_password(user, password, hasher)
    user.email_verified = True
    sign_out_everywhere(session, user)
    return user


def change_email(session: Session, user: User, new_email: str) -> None:
    """Mail a confirmation link to ``new_email``; the account keeps its address until it is
    used. An address that has an account gets the "someone tried" mail instead (the same
    answer to the caller)."""
    new_email = services.normalise_email(new_email)
    if new_email == user.email:
        return
    owner = services.find_user_by_email(session, new_email)
    if owner is not None:
        ids = _mail(session, MailKind.ACCOUNT_EXISTS, owner)
    else:
        ids = _mail(session, MailKind.CHANGE_EMAIL, user, to=new_email, detail=new_email)
    session.commit()
    _send(ids)


def confirm_email_change(session: Session, token: str) -> User:
    user, new_email = read_token(session, _secret(), Purpose.CHANGE_EMAIL, token)
    if not new_email or services.find_user_by_email(session, new_email) is not None:
        raise BadLink("that address has an account now")
    user.email = new_email
    user.email_verified = True
    session.commit()
    return user


def sign_out_everywhere(session: Session, user: User) -> int:
    """End every session cookie (the epoch is part of their check) and revoke every API token
    of ``user``. Commits; returns the tokens revoked."""
    user.session_epoch = (user.session_epoch or 0) + 1
    now = utcnow()
    tokens = [t for t in user.tokens if t.revoked_at is None]
    for token in tokens:
        token.revoked_at = now
    session.commit()
    logger.info("user %s signed out everywhere (%d tokens)", user.id, len(tokens))
    return len(tokens)

