"""HTML pages: sign up, sign in, sign out (session cookie, CSRF on every form)."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from sync_server.accounts import services
from sync_server.auth.sessions import current_web_user, sign_in_web, sign_out_web
from sync_server.config import Config
from sync_server.db import db_session, engine
from sync_server.errors import ApiError
from sync_server.ratelimit.services import hit
from sync_server.signin import limits
from sync_server.signin.forms import SignInForm, SignUpForm

logger = logging.getLogger(__name__)
bp = Blueprint("accounts", __name__)


def _safe_next(target: str | None) -> str:
    # Only local paths: never redirect to another site after sign-in.
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target  # browsers read "/\\host" as "//host"
        and not urlsplit(target).netloc
    ):
        return target
    return url_for("accounts.home")


@bp.get("/")
def home() -> str:
    return render_template("home.html", user=current_web_user(db_session()))


@bp.route("/sign-up", methods=["GET", "POST"])
def sign_up() -> str | Response:
    form = SignUpForm()
    if form.validate_on_submit():
        config: Config = current_app.extensions["sync_config"]
        session = db_session()
        try:
            hit(engine(), action="SIGN_UP", subject=f"ip:{request.remote_addr}",
                limit=config.sign_in_limit_per_address,
                window_seconds=config.sign_in_window_seconds)
            user = services.create_user(
                session, email=form.email.data or "", password=form.password.data or "",
                name=(form.name.data or "").strip(), hasher=current_app.extensions["sync_hasher"],
            )
        except ApiError as error:
            form.email.errors = [*form.email.errors, error.message]
        else:
            session.commit()
            sign_in_web(user)
            return redirect(url_for("accounts.home"))
    return render_template("sign_up.html", form=form)


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> str | Response | tuple[str, int]:
    form = SignInForm()
    if form.validate_on_submit():
        session = db_session()
        try:
            user = limits.check_password(session, email=form.email.data or "",
                                         password=form.password.data or "")
        except ApiError as error:
            flash(error.message, "error")
            return render_template("sign_in.html", form=form), error.status
        session.commit()
        sign_in_web(user)
        return redirect(_safe_next(request.args.get("next")))
    return render_template("sign_in.html", form=form)


@bp.post("/sign-out")
def sign_out() -> Response:
    sign_out_web()
    return redirect(url_for("accounts.sign_in"))
