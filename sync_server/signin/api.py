"""Accounts over JSON: sign up (then confirm the address by mail), sign in (bearer token),
password reset by mail, sign out, sign out everywhere, me (tag and endpoints ``accounts``)."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app

from shared.vocabulary import format_optional_time as iso
from sync_server.accounts.models import User
from sync_server.api import ApiRequest, Routes
from sync_server.auth.access import Access, require_user
from sync_server.auth.tokens import issue_api_token, revoke_api_token
from sync_server.config import Config
from sync_server.signin import flows, limits
from sync_server.signin.responses import AuthOut, MeOut, SignedOutOut, SignUpOut
from sync_server.signin.schemas import ResetBody, SignInBody, SignUpBody

routes = Routes("accounts")  # endpoints "accounts_<view>"
api_route = routes.route

logger = logging.getLogger(__name__)
TAG = "accounts"


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id, "email": user.email, "name": user.name,
        "email_verified": user.email_verified, "is_admin": user.is_admin,
        "created_at": iso(user.created_at),
    }


def _config() -> Config:
    config: Config = current_app.extensions["sync_config"]
    return config


@api_route("/accounts/sign-up", method="POST", access=Access.PUBLIC, tag=TAG, body=SignUpBody,
           status=202, response=SignUpOut,
           summary="Ask for an account: always 202 'check your e-mail' (a new address gets a "
                   "link to confirm it; an address with an account gets a mail saying so); "
                   "sign in once the address is confirmed")
def sign_up(req: ApiRequest) -> dict[str, Any]:
    body: SignUpBody = req.body
    flows.limit_client("SIGN_UP")
    flows.sign_up(req.session, email=body.email, password=body.password, name=body.name,
                  hasher=current_app.extensions["sync_hasher"])
    return {"status": "check_email",
            "message": "We sent a mail to this address: follow its link to continue."}


@api_route("/accounts/password-reset", method="POST", access=Access.PUBLIC, tag=TAG,
           body=ResetBody, status=202, response=SignUpOut,
           summary="Mail a password-reset link if the address has an account; always 202")
def password_reset(req: ApiRequest) -> dict[str, Any]:
    body: ResetBody = req.body
    flows.limit_client("PASSWORD_RESET")
    flows.request_reset(req.session, body.email)
    return {"status": "check_email",
            "message": "If this address has an account, we sent it a link."}


@api_route("/accounts/sign-out-everywhere", method="POST", access=Access.USER, tag=TAG,
           summary="Revoke every API token and end every session cookie of the signed-in user",
           response=SignedOutOut)
def sign_out_everywhere(req: ApiRequest) -> dict[str, Any]:
    user = req.session.get(User, require_user(req.actor).id)
    assert user is not None
    flows.sign_out_everywhere(req.session, user)
    return {"signed_out": True}


@api_route("/accounts/sign-in", method="POST", access=Access.PUBLIC, tag=TAG, body=SignInBody,
           summary="Exchange e-mail and password for a bearer token (rate limited)",
           response=AuthOut)
def sign_in(req: ApiRequest) -> dict[str, Any]:
    body: SignInBody = req.body
    config = _config()
    user = limits.check_password(req.session, email=body.email, password=body.password)
    flows.refuse_unverified(req.session, user)
    token, row = issue_api_token(req.session, user, days=config.user_token_days,
                                          label="sign-in")
    req.session.commit()
    return {"user": user_json(user), "token": token, "expires_at": iso(row.expires_at)}


@api_route("/accounts/sign-out", method="POST", access=Access.USER, tag=TAG,
           summary="Revoke the bearer token of this request", response=SignedOutOut)
def sign_out(req: ApiRequest) -> dict[str, Any]:
    assert req.actor.api_token is not None
    revoke_api_token(req.session, req.actor.api_token)
    req.session.commit()
    return {"signed_out": True}


@api_route("/accounts/me", method="GET", access=Access.USER, tag=TAG,
           summary="The signed-in user", response=MeOut)
def me(req: ApiRequest) -> dict[str, Any]:
    return {"user": user_json(require_user(req.actor))}
