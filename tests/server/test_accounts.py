"""Accounts: sign-up, sign-in (rate limited), sign-out and me; the HTML pages with CSRF."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from sync_server import create_app
from sync_server.accounts.models import ApiToken, User
from tests.server.conftest import PASSWORD, bearer, error_code, server_config
from tests.support.apps import close_app


def sign_up(api: httpx.Client, email: str = "Ann@Example.org") -> httpx.Response:
    return api.post("/accounts/sign-up",
                    json={"email": email, "password": PASSWORD, "name": "Ann Lee"})


def confirm(app: Flask, email: str = "ann@example.org") -> None:
    """What following the mailed link does (tests/server/test_account_mail.py follows it)."""
    with app.extensions["sync_db_sessionmaker"]() as session:
        user = session.scalars(sa.select(User).where(User.email == email.lower())).one()
        user.email_verified = True
        session.commit()


def signed_up(api: httpx.Client, app: Flask, email: str = "Ann@Example.org") -> None:
    """Sign up (202, check your e-mail) and confirm the address."""
    answer = sign_up(api, email)
    assert answer.status_code == 202, answer.text
    confirm(app, email)


def test_sign_up_sign_in_me_sign_out(api: httpx.Client, session: Session, app: Flask) -> None:
    created = sign_up(api)
    assert created.status_code == 202, created.text
    assert created.json()["status"] == "check_email" and "token" not in created.json()
    early = api.post("/accounts/sign-in", json={"email": "ann@example.org", "password": PASSWORD})
    assert (early.status_code, error_code(early)) == (403, "email_unverified")
    confirm(app)

    signed_in = api.post("/accounts/sign-in",
                         json={"email": " ANN@example.org ", "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    token = signed_in.json()["token"]
    me = api.get("/accounts/me", headers=bearer(token))
    assert me.json()["user"]["name"] == "Ann Lee"

    # Only hashes are stored; the password is argon2id.
    user = session.scalars(sa.select(User)).one()
    assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")
    stored = session.scalars(sa.select(ApiToken.token_hash)).all()
    assert token not in stored and len(stored) == 1

    assert api.post("/accounts/sign-out", headers=bearer(token)).status_code == 200
    after = api.get("/accounts/me", headers=bearer(token))
    assert (after.status_code, error_code(after)) == (401, "invalid_token")


def test_duplicate_email_and_wrong_password(api: httpx.Client, app: Flask) -> None:
    first = sign_up(api)
    again = sign_up(api, "ann@EXAMPLE.org")  # issue #13: the same answer, nothing revealed
    assert (first.status_code, first.json()) == (again.status_code, again.json())
    assert again.status_code == 202
    confirm(app)
    wrong = api.post("/accounts/sign-in", json={"email": "ann@example.org", "password": "nope"})
    assert (wrong.status_code, error_code(wrong)) == (401, "invalid_credentials")
    unknown = api.post("/accounts/sign-in", json={"email": "who@example.org", "password": "x"})
    assert (unknown.status_code, error_code(unknown)) == (401, "invalid_credentials")
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]
    short = api.post("/accounts/sign-up", json={"email": "b@c.de", "password": "short",
                                                "name": "B"})
    assert short.status_code == 422 and "password" in short.json()["error"]["fields"]


def test_sign_in_is_rate_limited_per_address_across_app_servers(
    database_url: str, tmp_path: Path, app: Flask
) -> None:
    # Two app instances on one database stand for two servers behind a load balancer.
    config = {**server_config(database_url, tmp_path / "b"), "sign_in_limit": 3}
    first, second = create_app(config), create_app(config)
    clients = [httpx.Client(transport=httpx.WSGITransport(app=a),
                            base_url="http://testserver/api/v1") for a in (first, second)]
    try:
        signed_up(clients[0], first)
        attempt = {"email": "ann@example.org", "password": "wrong password"}
        codes = [clients[i % 2].post("/accounts/sign-in", json=attempt).status_code
                 for i in range(3)]
        assert codes == [401, 401, 401]
        limited = clients[1].post("/accounts/sign-in",
                                  json={"email": "ann@example.org", "password": PASSWORD})
        assert (limited.status_code, error_code(limited)) == (429, "rate_limited")
        assert int(limited.headers["Retry-After"]) >= 1
        # Another address is not affected.
        signed_up(clients[0], first, "zed@example.org")
        other = clients[0].post("/accounts/sign-in",
                                json={"email": "zed@example.org", "password": PASSWORD})
        assert other.status_code == 200
    finally:
        for c in clients:
            c.close()
        for a in (first, second):
            close_app(a)


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


@pytest.fixture
def web(app: Flask) -> httpx.Client:
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://testserver",
                        follow_redirects=False)


def test_html_sign_up_sign_in_sign_out_with_csrf(web: httpx.Client, session: Session,
                                                 app: Flask) -> None:
    page = web.get("/sign-up")
    assert page.status_code == 200
    form = {"name": "Web Person", "email": "web@example.org", "password": PASSWORD}
    forged = web.post("/sign-up", data=form)
    assert forged.status_code == 400 and "CSRF" in forged.text
    assert session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
    ok = web.post("/sign-up", data={**form, "csrf_token": _csrf(page.text)})
    assert ok.status_code == 200 and "Check your e-mail" in ok.text, ok.text
    assert "Web Person" not in web.get("/").text  # not signed in until the address is confirmed
    confirm(app, "web@example.org")
    signed = web.post("/sign-in", data={"email": "web@example.org", "password": PASSWORD,
                                        "csrf_token": _csrf(web.get("/sign-in").text)})
    assert signed.status_code == 302
    home = web.get("/")
    assert "Web Person" in home.text
    out = web.post("/sign-out", data={"csrf_token": _csrf(home.text)})
    assert out.status_code == 302
    assert "Web Person" not in web.get("/").text

    sign_in = web.get("/sign-in")
    bad = web.post("/sign-in", data={"email": "web@example.org", "password": "wrong password",
                                     "csrf_token": _csrf(sign_in.text)})
    assert bad.status_code == 401 and "wrong e-mail or password" in bad.text
    for target in ("//evil.example/x", "/\\evil.example", "https://evil.example/"):
        token = _csrf(web.get("/sign-in").text)  # signing in starts a new session
        good = web.post("/sign-in", params={"next": target}, data={
            "email": "web@example.org", "password": PASSWORD, "csrf_token": token})
        assert good.status_code == 302
        assert good.headers["Location"] == "/", target  # never off-site
    local = web.post("/sign-in", params={"next": "/events/3"}, data={
        "email": "web@example.org", "password": PASSWORD,
        "csrf_token": _csrf(web.get("/sign-in").text)})
    assert local.headers["Location"] == "/events/3"
    assert "Web Person" in web.get("/").text


def test_sign_out_without_csrf_is_refused(web: httpx.Client) -> None:
    assert web.post("/sign-out").status_code == 400
