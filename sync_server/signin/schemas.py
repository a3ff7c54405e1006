"""Request bodies for accounts."""

from __future__ import annotations

from sync_server.schemas import Body, Email, Name200, Password


class SignUpBody(Body):
    email: Email
    password: Password
    name: Name200


class SignInBody(Body):
    email: Email
    # No minimum here: a wrong password is "invalid_credentials", not a field error.
    password: str


class ResetBody(Body):
    email: Email
