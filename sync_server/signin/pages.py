"""HTML pages: sign up, sign in, sign out (session cookie, CSRF on every form)."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from sync_server.auth.sessions import current_web_user, sign_in_web, sign_out_web
from sync_server.db import db_session
from sync_server.errors import ApiError
from sync_server.signin import flows, limits
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
def sign_up() -> str | Response | tuple[str, int]:
    form = SignUpForm()
    if form.validate_on_submit():
        session = db_session()
        try:
            flows.limit_client("SIGN_UP")
            flows.sign_up(session, email=form.email.data or "", password=form.password.data or "",
                          name=(form.name.data or "").strip(),
                          hasher=current_app.extensions["sync_hasher"])
        except ApiError as error:
            session.rollback()
            for name, messages in error.fields.items():
                target = getattr(form, name, form.email)
                target.errors = [*target.errors, *messages]
            if not error.fields:
                form.email.errors = [*form.email.errors, error.message]
            return render_template("sign_up.html", form=form), error.status
        # The same page whether or not the address has an account (issue #13).
        return render_template("check_email.html", message=(
            f"We sent a mail to {form.email.data}: follow its link to continue."))
    return render_template("sign_up.html", form=form)


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> str | Response | tuple[str, int]:
    form = SignInForm()
    if form.validate_on_submit():
        session = db_session()
        try:
            user = limits.check_password(session, email=form.email.data or "",
                                         password=form.password.data or "")
            flows.refuse_unverified(session, user)
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


from sync_server.signin import account_pages  # noqa: E402,F401  (registers /account/... on bp)
