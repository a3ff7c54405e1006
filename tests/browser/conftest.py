"""Browser fixtures: Debian's Chromium driven by Playwright against the real app over real HTTP.

Never a downloaded browser: ``/usr/bin/chromium`` (installed by ``make test`` as root), started
with the flags this closed network needs (no background networking, no component updates).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect, sync_playwright
from werkzeug.serving import make_server

from sync_server import create_app
from tests.server.conftest import server_config
from tests.support.apps import close_app
from tests.support.databases import empty_postgres

CHROMIUM = "/usr/bin/chromium"
# An ``expect`` waits this long before it fails (Playwright's default is 5 s). On a slow hour
# this host runs the suite at half speed with two workers and Chromium competing for two cores;
# a passing check returns as soon as it holds, so only a real failure waits the whole time.
expect.set_options(timeout=15_000)
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]



@pytest.fixture
def database_url(request: pytest.FixtureRequest, postgres_database: str) -> Iterator[str]:
    """Pages are driven on PostgreSQL, the production database, once each: every service under
    them runs on both databases in tests/server, and a browser test costs seconds. (Emptied
    unless ``database_at_head`` resets it, as in tests/conftest.py.)"""
    if "database_at_head" not in request.fixturenames:
        empty_postgres(postgres_database)
    yield postgres_database


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def live_app(database_at_head: str, tmp_path: Path) -> Iterator[tuple[Flask, str]]:
    """The real app on a real socket (127.0.0.1, a free port), served from a thread."""
    app = create_app(server_config(database_at_head, tmp_path / "instance"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        close_app(app)


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A phone-sized page: organizers use the site between sets."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def laptop(browser: Browser) -> Iterator[Page]:
    """A laptop-sized page: the organizer's desk, the box office."""
    context = browser.new_context(viewport={"width": 1366, "height": 800})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(params=["phone", "laptop"])
def screen(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Page]:
    """Each page test that takes ``screen`` runs on a phone and on a laptop."""
    if request.param == "phone":
        context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    else:
        context = browser.new_context(viewport={"width": 1366, "height": 800})
    page = context.new_page()
    page.screen_name = request.param  # type: ignore[attr-defined]
    yield page
    context.close()
