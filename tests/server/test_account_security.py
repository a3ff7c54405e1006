"""Issue #13: failed sign-ins are limited without locking out a known client; a right pairing
code pairs behind an address that guessed wrong; security headers; common passwords refused."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from flask import Flask
from werkzeug.serving import make_server

from sync_server import create_app
from sync_server.headers import QuietRequestHandler
from sync_server.signin.limits import COOKIE
from tests.server.conftest import PASSWORD, World, error_code, server_config
from tests.server.test_accounts import _csrf, confirm, sign_up, signed_up
from tests.support.apps import close_app


def _client(app: Flask, base: str = "http://testserver/api/v1") -> httpx.Client:
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url=base,
                        follow_redirects=False)


@pytest.fixture
def strict_app(database_url: str, tmp_path: Path, app: Flask) -> Iterator[Flask]:
    """Three failed sign-ins per account and per address (``app`` ran the migrations)."""
    strict = create_app({**server_config(database_url, tmp_path / "strict"),
                         "sign_in_limit": 3, "sign_in_limit_per_address": 3})
    yield strict
    close_app(strict)


def test_wrong_passwords_never_lock_out_a_known_client(strict_app: Flask) -> None:
    right = {"email": "ann@example.org", "password": PASSWORD}
    wrong = {**right, "password": "wrong password"}
    with _client(strict_app) as owner, _client(strict_app) as attacker:
        signed_up(owner, strict_app)
        assert owner.post("/accounts/sign-in", json=right).status_code == 200
        assert COOKIE in owner.cookies
        # An attacker at the same address (both are 127.0.0.1 here) guesses.
        guesses = [attacker.post("/accounts/sign-in", json=wrong) for _ in range(4)]
        assert [g.status_code for g in guesses] == [401, 401, 401, 429]
        assert error_code(guesses[-1]) == "rate_limited"
        refused = attacker.post("/accounts/sign-in", json=right)  # unknown client: limited
        assert refused.status_code == 429
        # The owner's known client still signs in with the right password...
        assert owner.post("/accounts/sign-in", json=right).status_code == 200
        # ...and its own wrong passwords are limited too.
        own = [owner.post("/accounts/sign-in", json=wrong).status_code for _ in range(4)]
        assert own == [401, 401, 401, 429]
        # A forged cookie is not a known client.
        attacker.cookies.set(COOKIE, owner.cookies[COOKIE] + "x")
        assert attacker.post("/accounts/sign-in", json=right).status_code == 429


def test_right_passwords_count_no_failures(strict_app: Flask) -> None:
    """Only failures count: many correct sign-ins from a new client are never limited."""
    with _client(strict_app) as owner:
        signed_up(owner, strict_app)
        for _ in range(5):
            owner.cookies.clear()
            signed_in = owner.post("/accounts/sign-in",
                                   json={"email": "ann@example.org", "password": PASSWORD})
            assert signed_in.status_code == 200


def test_sign_in_page_remembers_the_client(strict_app: Flask) -> None:
    with _client(strict_app, "http://testserver") as web, _client(strict_app) as attacker:
        page = web.get("/sign-up")
        created = web.post("/sign-up", data={"name": "Web", "email": "web@example.org",
                                            "password": PASSWORD, "csrf_token": _csrf(page.text)})
        assert created.status_code == 200 and "Check your e-mail" in created.text
        confirm(strict_app, "web@example.org")
        for _ in range(3):
            attacker.post("/accounts/sign-in",
                          json={"email": "web@example.org", "password": "wrong password"})
        form = {"email": "web@example.org", "password": PASSWORD}
        locked = web.post("/sign-in", data={**form, "csrf_token": _csrf(web.get("/sign-in").text)})
        assert locked.status_code == 429  # never signed in from here: an unknown client
        web.cookies.set(COOKIE, _known_cookie(strict_app))
        known = web.post("/sign-in", data={**form, "csrf_token": _csrf(web.get("/sign-in").text)})
        assert known.status_code == 302


def _known_cookie(app: Flask) -> str:
    """The cookie a successful sign-in of web@example.org would have set."""
    from itsdangerous import URLSafeSerializer

    from sync_server.ratelimit.services import subject_for_email

    return URLSafeSerializer(app.secret_key or "", salt="known-client").dumps(
        {"e": subject_for_email("web@example.org"), "c": "test-client"})


@pytest.mark.parametrize("route", ["/devices/pair", "/door/pair"])
def test_a_right_pairing_code_pairs_after_wrong_guesses_from_its_address(
    api: httpx.Client, world: World, route: str
) -> None:
    organizer = world.person()
    event = world.event(organizer)
    code = api.post(f"/events/{event.id}/pairing-codes", headers=organizer.headers,
                    json={"name": "Door"}).json()["code"]
    body = {"device_name": "Door"} if route == "/door/pair" else {}
    statuses = [api.post(route, json={**body, "code": f"GUESS{i:05d}"}).status_code
                for i in range(21)]
    assert statuses[:20] == [400] * 20 and statuses[20] == 429  # the guest behind the NAT
    paired = api.post(route, json={**body, "code": code})  # the door, same address
    assert paired.status_code == 201, paired.text


def test_security_headers_on_pages_and_api(app: Flask) -> None:
    with _client(app, "http://testserver") as web:
        for path in ("/sign-in", "/api/v1/accounts/me", "/no-such-page"):
            response = web.get(path)
            assert response.headers["X-Frame-Options"] == "DENY", path
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.headers["Referrer-Policy"] == "same-origin"
            csp = response.headers["Content-Security-Policy"]
            assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    with _client(app, "http://testserver") as web:
        page = web.get("/sign-in")
        assert "Secure" not in page.headers["set-cookie"]  # plain HTTP in development
    with _client(app, "https://testserver") as web:
        page = web.get("/sign-in")
        assert "Secure" in page.headers["set-cookie"]
        assert "max-age" in page.headers["Strict-Transport-Security"]


def test_the_development_server_names_no_framework(app: Flask) -> None:
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        response = httpx.get(f"http://127.0.0.1:{server.port}/sign-in")
        assert response.status_code == 200
        assert response.headers["Server"] == "sync-server"
    finally:
        server.shutdown()


@pytest.mark.parametrize("password", ["1234567890", "QwertyUiop", "basketball"])
def test_common_passwords_are_refused_at_sign_up(api: httpx.Client, password: str) -> None:
    refused = api.post("/accounts/sign-up",
                       json={"email": "c@example.org", "password": password, "name": "C"})
    assert (refused.status_code, error_code(refused)) == (422, "validation_failed")
    assert "too common" in refused.json()["error"]["fields"]["password"][0]
    assert sign_up(api, "c@example.org").status_code == 202  # an uncommon one is fine
