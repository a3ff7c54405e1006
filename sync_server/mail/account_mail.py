"""Account mail: confirm an address, "someone tried to sign up with your address", choose a new
password, confirm a new address. Queued like ticket mail (the outbox, in the caller's
transaction); the link is made when the mail is sent (``accounts.links``), so the outbox holds
no secret and a retried mail carries a fresh link."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage

from sqlalchemy.orm import Session

from sync_server.accounts.links import LIFETIMES, Purpose, make_url
from sync_server.accounts.models import User
from sync_server.db import utcnow
from sync_server.mail.models import MailKind, MailStatus, OutboxMessage

ACCOUNT_KINDS = frozenset({MailKind.VERIFY_EMAIL, MailKind.ACCOUNT_EXISTS,
                           MailKind.PASSWORD_RESET, MailKind.CHANGE_EMAIL})


def enqueue_account_mail(session: Session, *, kind: MailKind, user: User,
                         to_email: str | None = None, detail: str | None = None,
                         now: datetime | None = None) -> OutboxMessage:
    """Queue an account mail to ``user`` (or ``to_email``) in the caller's transaction."""
    assert kind in ACCOUNT_KINDS
    row = OutboxMessage(kind=kind, user_id=user.id, to_email=to_email or user.email,
                        detail=detail, status=MailStatus.PENDING, attempts=0,
                        next_attempt_at=now or utcnow())
    session.add(row)
    session.flush()
    return row


def _hours(purpose: Purpose) -> str:
    hours = int(LIFETIMES[purpose].total_seconds() // 3600)
    return f"{hours} hours" if hours != 1 else "an hour"


def account_message(*, kind: MailKind, user: User, to: str, sender: str, base_url: str,
                    secret: str, detail: str | None) -> EmailMessage:
    name = user.name or "there"
    reset_request = base_url.rstrip("/") + "/account/reset"
    sign_in = base_url.rstrip("/") + "/sign-in"
    if kind is MailKind.VERIFY_EMAIL:
        subject = "Confirm your e-mail address"
        body = [f"Hello {name},", "",
                "Confirm this address to finish creating your account:",
                make_url(base_url, secret, Purpose.VERIFY, user), "",
                f"The link works once, for {_hours(Purpose.VERIFY)}. If you did not sign up, "
                "ignore this mail: no account is usable without it."]
    elif kind is MailKind.ACCOUNT_EXISTS:
        subject = "Someone tried to create an account with your address"
        body = [f"Hello {name},", "",
                "Someone (perhaps you) just tried to create an account with this e-mail "
                "address, which already has one. No new account was made.", "",
                f"To sign in: {sign_in}",
                f"Forgot your password? Choose a new one: {reset_request}", "",
                "If it was not you, you need do nothing."]
    elif kind is MailKind.PASSWORD_RESET:
        subject = "Choose a new password"
        body = [f"Hello {name},", "",
                "Someone (perhaps you) asked to choose a new password for this account:",
                make_url(base_url, secret, Purpose.RESET, user), "",
                f"The link works once, for {_hours(Purpose.RESET)}. If it was not you, ignore "
                "this mail: your password stays as it is."]
    elif kind is MailKind.CHANGE_EMAIL:
        subject = "Confirm your new e-mail address"
        body = [f"Hello {name},", "",
                "Confirm this address as the new address of your account:",
                make_url(base_url, secret, Purpose.CHANGE_EMAIL, user, detail or ""), "",
                f"The link works once, for {_hours(Purpose.CHANGE_EMAIL)}. Until then the "
                "account keeps its old address."]
    else:
        raise ValueError(f"not an account mail: {kind}")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content("\n".join(body))
    return message
