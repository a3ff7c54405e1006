"""Issue #13 / #17: sign-up tells nobody who has an account; e-mail verification, password reset
and e-mail change by mailed links (single use, expiring, unguessable); sign out everywhere.
Real mail through the outbox to a local SMTP server (aiosmtpd), on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from unittest import mock

import httpx
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy.orm import Session

from sync_server.accounts.links import LIFETIMES, Purpose
from sync_server.accounts.models import User
from sync_server.signin import flows
from tests.server.conftest import PASSWORD, World, bearer, error_code
from tests.server.purchase.conftest import Mailbox, free_port
from tests.server.test_accounts import _csrf

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def mailbox(app: Flask) -> Iterator[Mailbox]:
    box = Mailbox("127.0.0.1", free_port())
    controller = Controller(box, hostname=box.host, port=box.port)
    controller.start()
    config = app.extensions["sync_config"]
    app.extensions["sync_config"] = config.model_copy(update=dict(
        smtp_host=box.host, smtp_port=box.port, smtp_from="Accounts <accounts@example.test>",
        public_url="http://testserver"))
    try:
        yield box
    finally:
        controller.stop()
        app.extensions["sync_config"] = config


@pytest.fixture
def web(app: Flask) -> Iterator[httpx.Client]:
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://testserver",
                      follow_redirects=False) as client:
        yield client


def _text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def _link(message: EmailMessage) -> str:
    match = re.search(r"http://testserver(/account/\S+)", _text(message))
    assert match, _text(message)
    return match.group(1)


def _sign_up(api: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    return api.post("/accounts/sign-up", json={"email": email, "password": password,
                                               "name": "Ann Lee"})


def test_sign_up_answers_the_same_for_a_taken_address_and_mails_its_owner(
    api: httpx.Client, web: httpx.Client, mailbox: Mailbox, world: World, session: Session
) -> None:
    owner = world.person("Olga Owner")
    new = _sign_up(api, "new@example.org")
    taken = _sign_up(api, owner.user.email.upper())
    assert (new.status_code, new.json()) == (taken.status_code, taken.json())
    assert new.status_code == 202 and new.json()["status"] == "check_email"
    # The page too: the same words, the same status, the address echoed either way.
    pages = []
    for email in ("web@example.org", owner.user.email):
        form = web.get("/sign-up")
        pages.append(web.post("/sign-up", data={
            "name": "W", "email": email, "password": PASSWORD, "csrf_token": _csrf(form.text)}))
    assert [p.status_code for p in pages] == [200, 200]
    assert pages[0].text.replace("web@example.org", "X") == \
        pages[1].text.replace(owner.user.email, "X")
    subjects = {m["To"]: m["Subject"] for m in mailbox.messages}
    assert subjects["new@example.org"] == "Confirm your e-mail address"
    assert subjects[owner.user.email] == "Someone tried to create an account with your address"
    assert "/account/reset" in _text(next(m for m in mailbox.messages
                                          if m["To"] == owner.user.email))
    # The owner's account is untouched: old password still works, no second account.
    assert session.scalar(sa.select(sa.func.count()).select_from(User).where(
        User.email == owner.user.email)) == 1
    assert api.post("/accounts/sign-in", json={"email": owner.user.email,
                                                "password": PASSWORD}).status_code == 200


def test_an_unverified_account_cannot_sign_in_until_its_link_is_followed(
    api: httpx.Client, web: httpx.Client, mailbox: Mailbox
) -> None:
    assert _sign_up(api, "ann@example.org").status_code == 202
    refused = api.post("/accounts/sign-in",
                       json={"email": "ann@example.org", "password": PASSWORD})
    assert (refused.status_code, error_code(refused)) == (403, "email_unverified")
    wrong = api.post("/accounts/sign-in",
                     json={"email": "ann@example.org", "password": "wrong password"})
    assert error_code(wrong) == "invalid_credentials"  # the state shows only to the password
    links = [_link(m) for m in mailbox.messages]
    assert len(links) == 2  # sign-up, and again at the refused sign-in
    followed = web.get(links[-1])
    assert followed.status_code == 302 and followed.headers["Location"] == "/account"
    assert "Ann Lee" in web.get("/account").text  # the link signed this browser in
    assert web.get(links[-1]).status_code == 410  # single use
    assert api.post("/accounts/sign-in", json={"email": "ann@example.org",
                                                "password": PASSWORD}).status_code == 200


def test_password_reset_by_link_single_use_expiring_and_silent(
    api: httpx.Client, web: httpx.Client, mailbox: Mailbox, world: World, app: Flask
) -> None:
    person = world.person()
    email = person.user.email
    asked = [api.post("/accounts/password-reset", json={"email": e})
             for e in (email, "nobody@example.org")]
    assert asked[0].json() == asked[1].json() and asked[0].status_code == 202
    assert [m["To"] for m in mailbox.messages] == [email]  # nothing to an unknown address
    link = _link(mailbox.messages[0])
    assert link.startswith("/account/reset/")
    forged = web.get(link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB"))
    assert forged.status_code == 410
    page = web.get(link)
    assert page.status_code == 200
    common = web.post(link, data={"password": "1234567890", "csrf_token": _csrf(page.text)})
    assert common.status_code == 422 and "too common" in common.text
    done = web.post(link, data={"password": NEW_PASSWORD, "csrf_token": _csrf(page.text)})
    assert done.status_code == 302
    assert web.get(link).status_code == 410  # used
    # Every API token of the account was revoked; the new password signs in, the old does not.
    assert api.get("/accounts/me", headers=person.headers).status_code == 401
    assert api.post("/accounts/sign-in", json={"email": email,
                                                "password": NEW_PASSWORD}).status_code == 200
    assert api.post("/accounts/sign-in", json={"email": email,
                                                "password": PASSWORD}).status_code == 401
    # A link older than its lifetime is refused.
    api.post("/accounts/password-reset", json={"email": email})
    late = _link(mailbox.messages[-1])
    import itsdangerous.timed

    later = itsdangerous.timed.time.time() + LIFETIMES[Purpose.RESET].total_seconds() + 5
    with mock.patch("itsdangerous.timed.time.time", return_value=later):
        assert web.get(late).status_code == 410


def test_reset_mails_to_one_address_are_capped_silently(
    api: httpx.Client, mailbox: Mailbox, world: World
) -> None:
    email = world.person().user.email
    answers = [api.post("/accounts/password-reset", json={"email": email})
               for _ in range(flows.MAILS_PER_ADDRESS + 3)]
    assert {a.status_code for a in answers} == {202}  # the caller cannot tell
    assert len(mailbox.messages) == flows.MAILS_PER_ADDRESS  # the owner's inbox is not flooded


def test_sign_out_everywhere_ends_every_session_and_token(
    api: httpx.Client, web: httpx.Client, app: Flask, world: World
) -> None:
    person = world.person("Sam Signed")
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://testserver",
                      follow_redirects=False) as other:
        for browser in (web, other):
            page = browser.get("/sign-in")
            browser.post("/sign-in", data={"email": person.user.email, "password": PASSWORD,
                                           "csrf_token": _csrf(page.text)})
            assert "Sam Signed" in browser.get("/account").text
        second = api.post("/accounts/sign-in", json={"email": person.user.email,
                                                      "password": PASSWORD}).json()["token"]
        account = web.get("/account")
        forged = web.post("/account/sign-out-everywhere")
        assert forged.status_code in (302, 400)
        assert api.get("/accounts/me", headers=person.headers).status_code == 200
        out = web.post("/account/sign-out-everywhere", data={"csrf_token": _csrf(account.text)})
        assert out.status_code == 302
        for browser in (web, other):
            gone = browser.get("/account")
            assert gone.status_code == 302 and "/sign-in" in gone.headers["Location"]
        for token in (person.token, second):
            assert api.get("/accounts/me", headers=bearer(token)).status_code == 401


def test_sign_out_everywhere_over_the_api(api: httpx.Client, world: World) -> None:
    person = world.person()
    other = api.post("/accounts/sign-in", json={"email": person.user.email,
                                                 "password": PASSWORD}).json()["token"]
    assert api.post("/accounts/sign-out-everywhere", headers=person.headers).status_code == 200
    assert api.get("/accounts/me", headers=bearer(other)).status_code == 401


def test_account_page_changes_the_name_and_reverifies_a_new_address(
    web: httpx.Client, mailbox: Mailbox, world: World, session: Session
) -> None:
    person = world.person("Pat Profile")
    taken = world.person("Tess Taken").user.email
    assert web.get("/account").status_code == 302  # signed out: the sign-in page
    page = web.get("/sign-in")
    web.post("/sign-in", data={"email": person.user.email, "password": PASSWORD,
                               "csrf_token": _csrf(page.text)})
    account = web.get("/account")
    saved = web.post("/account", data={"name": "Pat Renamed", "email": "pat@new.example",
                                       "csrf_token": _csrf(account.text)})
    assert saved.status_code == 302
    session.expire_all()
    user = session.get(User, person.user.id)
    assert user is not None and user.name == "Pat Renamed"
    assert user.email == person.user.email  # unchanged until the new address confirms
    message = mailbox.messages[-1]
    assert message["To"] == "pat@new.example"
    # Asking for a taken address answers the same, and mails its owner instead.
    web.post("/account", data={"name": "Pat Renamed", "email": taken,
                               "csrf_token": _csrf(web.get("/account").text)})
    assert mailbox.messages[-1]["To"] == taken
    assert web.get(_link(message)).status_code == 302
    session.expire_all()
    user = session.get(User, person.user.id)
    assert user is not None and (user.email, user.email_verified) == ("pat@new.example", True)
    assert web.get(_link(message)).status_code == 410


def test_link_lifetimes_are_as_documented() -> None:
    assert LIFETIMES[Purpose.RESET] == timedelta(hours=1)
    assert LIFETIMES[Purpose.VERIFY] == timedelta(days=2)
