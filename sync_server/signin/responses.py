"""Response shapes of the accounts API (documentation and contract tests)."""

from __future__ import annotations

from sync_server.schemas import Out


class UserOut(Out):
    id: int
    email: str
    name: str
    email_verified: bool
    is_admin: bool
    created_at: str | None


class AuthOut(Out):
    user: UserOut
    token: str
    expires_at: str | None


class MeOut(Out):
    user: UserOut


class SignedOutOut(Out):
    signed_out: bool


class SignUpOut(Out):
    status: str  # "check_email", whatever the address
    message: str
