"""Accounts over JSON: sign up, sign in (bearer token), sign out, me (tag and endpoints
``accounts``)."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app, request

from shared.vocabulary import format_optional_time as iso
from sync_server.accounts import services
from sync_server.accounts.models import User
from sync_server.api import ApiRequest, Routes
from sync_server.auth.access import Access, require_user
from sync_server.auth.tokens import issue_api_token, revoke_api_token
from sync_server.config import Config
from sync_server.db import engine
from sync_server.ratelimit.services import hit
from sync_server.signin import limits
from sync_server.signin.responses import AuthOut, MeOut, SignedOutOut
from sync_server.signin.schemas import SignInBody, SignUpBody

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
           status=201, summary="Create an account; returns the user and a bearer token",
           response=AuthOut)
def sign_up(req: ApiRequest) -> dict[str, Any]:
    body: SignUpBody = req.body
    config = _config()
    hit(engine(), action="SIGN_UP", subject=f"ip:{request.remote_addr}",
        limit=config.sign_in_limit_per_address, window_seconds=config.sign_in_window_seconds)
    user = services.create_user(req.session, email=body.email, password=body.password,
                                name=body.name, hasher=current_app.extensions["sync_hasher"])
    token, row = issue_api_token(req.session, user, days=config.user_token_days,
                                          label="sign-up")
    req.session.commit()
    return {"user": user_json(user), "token": token, "expires_at": iso(row.expires_at)}


@api_route("/accounts/sign-in", method="POST", access=Access.PUBLIC, tag=TAG, body=SignInBody,
           summary="Exchange e-mail and password for a bearer token (rate limited)",
           response=AuthOut)
def sign_in(req: ApiRequest) -> dict[str, Any]:
    body: SignInBody = req.body
    config = _config()
    user = limits.check_password(req.session, email=body.email, password=body.password)
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
