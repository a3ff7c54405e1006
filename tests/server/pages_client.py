"""A signed-in browser stand-in for page tests: Flask's test client that signs in through the
sign-in page and sends each form with the CSRF token (and one-time nonce) the page rendered."""

from __future__ import annotations

import html
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.server.conftest import PASSWORD

_HIDDEN = re.compile(r'<input[^>]*?name="(csrf_token|nonce|version)"[^>]*?value="([^"]*)"')
_HIDDEN_REV = re.compile(r'<input[^>]*?value="([^"]*)"[^>]*?name="(csrf_token|nonce|version)"')


def hidden_fields(page: str, action: str | None = None) -> dict[str, str]:
    """The hidden fields (CSRF token, nonce, version) of the form posting to ``action``
    (the first form when None)."""
    if action is not None:
        start = page.find(f'action="{action}"')
        assert start >= 0, f"no form posts to {action}"
        page = page[start:page.find("</form>", start)]
    found = {name: html.unescape(value) for name, value in _HIDDEN.findall(page)}
    found.update({name: html.unescape(value) for value, name in _HIDDEN_REV.findall(page)})
    return found


class PageClient:
    def __init__(self, app: Flask, email: str | None = None) -> None:
        self.client: FlaskClient = app.test_client()
        if email is not None:
            self.sign_in(email)

    def sign_in(self, email: str) -> None:
        page = self.client.get("/sign-in").get_data(as_text=True)
        answer = self.client.post("/sign-in", data={
            "email": email, "password": PASSWORD, **hidden_fields(page)})
        assert answer.status_code == 302, answer.get_data(as_text=True)

    def get(self, url: str) -> TestResponse:
        return self.client.get(url)

    def submit(self, page_url: str, action: str, data: dict[str, Any],
               **kwargs: Any) -> TestResponse:
        """Open ``page_url``, fill the form that posts to ``action`` and send it."""
        page = self.client.get(page_url).get_data(as_text=True)
        return self.client.post(action, data={**hidden_fields(page, action), **data}, **kwargs)

    def post(self, action: str, data: dict[str, Any], **kwargs: Any) -> TestResponse:
        return self.client.post(action, data=data, **kwargs)


def text(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))
