"""Fixed-window counters at their boundaries; the page guard for signed-in users."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask

from sync_server.auth.sessions import login_required
from sync_server.errors import ApiError
from sync_server.ratelimit.models import RateLimit
from sync_server.ratelimit.services import hit, window_start


def test_fixed_windows_count_reset_and_forget_stale_windows(app: Flask) -> None:
    engine = app.extensions["sync_db_engine"]
    start = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    assert window_start(start + timedelta(seconds=59), 60) == start

    def attempt(at: datetime, subject: str = "ip:198.51.100.7") -> int:
        return hit(engine, action="TEST", subject=subject, limit=2, window_seconds=60, now=at)

    assert attempt(start) == 1
    assert attempt(start + timedelta(seconds=30)) == 2
    with pytest.raises(ApiError) as refused:
        attempt(start + timedelta(seconds=50))
    assert refused.value.status == 429 and refused.value.headers["Retry-After"] == "10"
    assert attempt(start + timedelta(seconds=5), subject="ip:198.51.100.8") == 1
    assert attempt(start + timedelta(seconds=60)) == 1  # a new window
    # Two days on, the first hit of a new window deletes the action's stale windows.
    assert attempt(start + timedelta(days=2)) == 1
    with engine.connect() as conn:
        starts = conn.execute(sa.select(RateLimit.window_start)).scalars().all()
    assert starts == [start + timedelta(days=2)]


def test_pages_behind_login_required_redirect_to_sign_in(app: Flask) -> None:
    @login_required
    def secret_page() -> str:
        return "organizer only"

    app.add_url_rule("/secret", view_func=secret_page)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://testserver") as web:
        response = web.get("/secret")
        assert response.status_code == 302
        assert response.headers["Location"] == "/sign-in?next=/secret"


def test_an_unexpected_error_is_a_500_envelope_under_api(app: Flask,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> str:
        raise RuntimeError("a bug")

    app.add_url_rule("/api/v1/_broken", view_func=broken)
    app.add_url_rule("/_broken", view_func=broken, endpoint="page_broken")
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://testserver") as web:
        response = web.get("/api/v1/_broken")
        assert response.status_code == 500
        assert response.json() == {"error": {"code": "internal_error",
                                             "message": "internal server error", "fields": {}}}
        page = web.get("/_broken")
        assert page.status_code == 500 and "error" not in page.headers["content-type"]
    assert "a bug" in caplog.text


def test_api_requests_open_no_cookie_session(app: Flask) -> None:
    """The API takes bearer tokens only: its requests get Flask's null session (writing to it
    raises), the pages a signed-cookie one."""
    from flask.sessions import NullSession

    with app.test_request_context("/api/v1/categories"):
        api_session = app.session_interface.open_session(app, app.request_class(
            {"PATH_INFO": "/api/v1/categories", "REQUEST_METHOD": "GET"}))
        assert isinstance(api_session, NullSession)
        with pytest.raises(RuntimeError):
            api_session["user_id"] = 1
        page_session = app.session_interface.open_session(app, app.request_class(
            {"PATH_INFO": "/events", "REQUEST_METHOD": "GET"}))
        assert page_session is not None and not isinstance(page_session, NullSession)
