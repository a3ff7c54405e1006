"""Account pages (on the ``accounts`` blueprint): the profile (name; a new e-mail address is
confirmed by a mailed link), the e-mail links, password reset by mailed link, and sign out
everywhere. The rules are in ``signin.flows``; links in ``accounts.links``."""

from __future__ import annotations

import logging

from flask import current_app, flash, g, redirect, render_template, url_for
from werkzeug.wrappers import Response

from sync_server.accounts.links import BadLink
from sync_server.auth.access import Access
from sync_server.auth.sessions import page_access, sign_in_web, sign_out_web
from sync_server.db import db_session
from sync_server.errors import ApiError
from sync_server.signin import flows
from sync_server.signin.forms import ConfirmForm, NewPasswordForm, ProfileForm, ResetRequestForm
from sync_server.signin.pages import bp

logger = logging.getLogger(__name__)


@bp.route("/account", methods=["GET", "POST"])
@page_access(Access.USER)
def account() -> str | Response:
    user = g.user
    form = ProfileForm(obj=user)
    if form.validate_on_submit():
        session = db_session()
        user.name = (form.name.data or "").strip()
        session.commit()
        new_email = (form.email.data or "").strip().lower()
        if new_email != user.email:
            flows.change_email(session, user, new_email)
            flash(f"We sent a link to {new_email}: your address changes once you follow it.",
                  "info")
        else:
            flash("Saved.", "info")
        return redirect(url_for("accounts.account"))
    return render_template("account.html", form=form, everywhere=ConfirmForm())


@bp.post("/account/sign-out-everywhere")
@page_access(Access.USER)
def sign_out_everywhere() -> Response:
    if not ConfirmForm().validate_on_submit():
        flash("The form expired; try again.", "error")
        return redirect(url_for("accounts.account"))
    flows.sign_out_everywhere(db_session(), g.user)
    sign_out_web()
    flash("You are signed out on every device.", "info")
    return redirect(url_for("accounts.sign_in"))


@bp.get("/account/verify/<token>")
def verify(token: str) -> str | Response | tuple[str, int]:
    session = db_session()
    try:
        user = flows.verify_email(session, token)
    except BadLink:
        return render_template("link_refused.html"), 410
    sign_in_web(user)  # the link proves the mailbox: the account is ready
    flash("Your address is confirmed.", "info")
    return redirect(url_for("accounts.account"))


@bp.get("/account/email/<token>")
def confirm_email(token: str) -> str | Response | tuple[str, int]:
    session = db_session()
    try:
        flows.confirm_email_change(session, token)
    except BadLink:
        session.rollback()
        return render_template("link_refused.html"), 410
    flash("Your new address is confirmed.", "info")
    return redirect(url_for("accounts.account"))


@bp.route("/account/reset", methods=["GET", "POST"])
def reset_request() -> str | tuple[str, int]:
    form = ResetRequestForm()
    if form.validate_on_submit():
        try:
            flows.limit_client("PASSWORD_RESET")
        except ApiError as error:
            flash(error.message, "error")
            return render_template("reset_request.html", form=form), error.status
        flows.request_reset(db_session(), form.email.data or "")
        return render_template("check_email.html", message=(
            f"If {form.email.data} has an account, we sent it a link to choose a new password."))
    return render_template("reset_request.html", form=form)


@bp.route("/account/reset/<token>", methods=["GET", "POST"])
def reset(token: str) -> str | Response | tuple[str, int]:
    session = db_session()
    try:
        user = flows.check_reset_link(session, token)
    except BadLink:
        return render_template("link_refused.html"), 410
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            user = flows.reset_password(session, token, form.password.data or "",
                                        current_app.extensions["sync_hasher"])
        except ApiError as error:
            session.rollback()
            form.password.errors = [*form.password.errors,
                                    *error.fields.get("password", [error.message])]
            return render_template("reset.html", form=form, email=user.email), error.status
        sign_in_web(user)
        flash("Your new password is set; every other session was signed out.", "info")
        return redirect(url_for("accounts.account"))
    return render_template("reset.html", form=form, email=user.email)
