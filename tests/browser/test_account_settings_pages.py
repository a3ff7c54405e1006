"""The account pages (issue #17 / #13) in a real browser, on a phone and a laptop: check your
e-mail, the account page (name, new address), password reset by link, sign out everywhere; and
what a signed-out visitor gets."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Page, expect

from sync_server.accounts.links import Purpose
from sync_server.accounts.models import User
from tests.browser.look import look
from tests.browser.test_account_pages import PASSWORD, _link


def _user(app: Flask, email: str) -> User:
    with app.extensions["sync_db_sessionmaker"]() as session:
        user: User = session.scalars(sa.select(User).where(User.email == email)).one()
        return user


def test_account_pages(live_app: tuple[Flask, str], screen: Page) -> None:
    app, base = live_app
    name = screen.screen_name  # type: ignore[attr-defined]
    screen.goto(f"{base}/sign-up")
    screen.get_by_label("Name").fill("Ada Account")
    screen.get_by_label("E-mail").fill("ada@example.com")
    screen.get_by_label("Password").fill(PASSWORD)
    screen.get_by_role("button", name="Sign up").click()
    expect(screen.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    look(screen, f"account-check-email-{name}")

    screen.goto(f"{base}{_link(app, Purpose.VERIFY, 'ada@example.com')}")
    expect(screen.get_by_role("heading", name="Your account")).to_be_visible()
    expect(screen.get_by_text("Your address is confirmed.")).to_be_visible()
    look(screen, f"account-page-{name}")
    screen.get_by_label("Name").fill("Ada Renamed")
    screen.get_by_role("button", name="Save").click()
    expect(screen.get_by_text("Saved.")).to_be_visible()
    assert _user(app, "ada@example.com").name == "Ada Renamed"
    screen.get_by_label("E-mail").fill("ada@new.example")
    screen.get_by_role("button", name="Save").click()
    expect(screen.get_by_text("We sent a link to ada@new.example")).to_be_visible()
    assert _user(app, "ada@example.com").email_verified  # the old address stays until then

    screen.get_by_role("button", name="Sign out everywhere").click()
    expect(screen.get_by_text("You are signed out on every device.")).to_be_visible()
    screen.goto(f"{base}/account")
    expect(screen.get_by_role("heading", name="Sign in")).to_be_visible()

    screen.goto(f"{base}/account/reset")
    look(screen, f"account-reset-request-{name}")
    screen.get_by_label("E-mail").fill("ada@example.com")
    screen.get_by_role("button", name="Mail me a link").click()
    expect(screen.get_by_role("heading", name="Check your e-mail")).to_be_visible()

    link = _link(app, Purpose.RESET, "ada@example.com")
    screen.goto(f"{base}{link}")
    look(screen, f"account-reset-{name}")
    screen.get_by_label("New password").fill("another long passphrase")
    screen.get_by_role("button", name="Set the password").click()
    expect(screen.get_by_role("heading", name="Your account")).to_be_visible()
    screen.goto(f"{base}{link}")  # used
    expect(screen.get_by_role("heading", name="This link does not work")).to_be_visible()
    look(screen, f"account-link-refused-{name}")


def test_signed_out_visitors_are_sent_to_sign_in(live_app: tuple[Flask, str], phone: Page) -> None:
    _, base = live_app
    phone.goto(f"{base}/account")
    expect(phone.get_by_role("heading", name="Sign in")).to_be_visible()
    assert "/sign-in?next=/account" in phone.url
    look(phone, "account-signed-out-phone")
    refused = phone.request.post(f"{base}/account/sign-out-everywhere")
    assert refused.status in (400, 403) or "/sign-in" in refused.url
