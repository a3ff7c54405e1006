"""Sign-up, sign-in and sign-out pages in a real browser, on a phone-sized screen."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Page, expect

from sync_server.accounts.links import PATHS, Purpose, make_token
from sync_server.accounts.models import User
from tests.browser.look import look

PASSWORD = "step-in-time-2026"


def _link(app: Flask, purpose: Purpose, email: str) -> str:
    """The path of the link an account mail to ``email`` carries (the mail tests read it from
    real mail: tests/server/test_account_mail.py)."""
    with app.extensions["sync_db_sessionmaker"]() as session:
        user = session.scalars(sa.select(User).where(User.email == email)).one()
        return PATHS[purpose] + make_token(app.secret_key or "", purpose, user)  # type: ignore[arg-type]


def verify_link(app: Flask, email: str) -> str:
    """The path of the verification link mailed to a new account's address."""
    return _link(app, Purpose.VERIFY, email)


def _users(app: Flask) -> list[str]:
    with app.extensions["sync_db_sessionmaker"]() as session:
        return list(session.scalars(sa.select(User.email)))


def test_sign_up_sign_out_and_sign_in(live_app: tuple[Flask, str], phone: Page) -> None:
    app, base = live_app
    phone.goto(f"{base}/sign-up")
    phone.get_by_label("Name").fill("Dee Organizer")
    phone.get_by_label("E-mail").fill("Dee@Example.com")
    phone.get_by_label("Password").fill(PASSWORD)
    phone.get_by_role("button", name="Sign up").click()
    expect(phone.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    assert _users(app) == ["dee@example.com"]
    phone.goto(f"{base}{_link(app, Purpose.VERIFY, 'dee@example.com')}")  # the mailed link
    phone.goto(f"{base}/")
    expect(phone.get_by_text("Signed in as")).to_be_visible()
    expect(phone.locator("strong")).to_have_text("Dee Organizer")
    look(phone, "web-signed-in-phone")

    phone.get_by_role("button", name="Sign out").click()
    expect(phone.get_by_role("button", name="Sign in")).to_be_visible()

    phone.get_by_label("E-mail").fill("dee@example.com")
    phone.get_by_label("Password").fill("not the password")
    phone.get_by_role("button", name="Sign in").click()
    look(phone, "web-sign-in-refused-phone")
    expect(phone.get_by_text("Signed in as")).to_have_count(0)
    expect(phone.get_by_label("E-mail")).to_have_value("dee@example.com")

    phone.get_by_label("Password").fill(PASSWORD)
    phone.get_by_role("button", name="Sign in").click()
    expect(phone.get_by_text("Signed in as")).to_be_visible()


def test_bad_fields_are_shown_and_nothing_is_written(
    live_app: tuple[Flask, str], phone: Page
) -> None:
    app, base = live_app
    phone.goto(f"{base}/sign-up")
    phone.get_by_label("Name").fill("Dee")
    # The browser's own checks would stop the form; the server must check too.
    phone.locator("form").evaluate("form => { form.noValidate = true; }")
    phone.get_by_label("E-mail").fill("not-an-address")
    phone.get_by_label("Password").fill("short")
    phone.get_by_role("button", name="Sign up").click()
    expect(phone.get_by_text("Enter an e-mail address.")).to_be_visible()
    expect(phone.locator(".error")).to_have_count(2)
    look(phone, "web-sign-up-errors-phone")
    assert _users(app) == []


def test_a_form_posted_without_its_csrf_token_is_refused(
    live_app: tuple[Flask, str], phone: Page
) -> None:
    app, base = live_app
    phone.goto(f"{base}/sign-up")  # a real session cookie, but no token in the body
    response = phone.request.post(
        f"{base}/sign-up",
        form={"name": "Mallory", "email": "mallory@example.com", "password": PASSWORD},
    )
    assert response.status == 400
    assert _users(app) == []
