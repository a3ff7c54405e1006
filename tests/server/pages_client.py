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

_NAMES = r"((?:[a-z]+-)?(?:csrf_token|nonce|version))"  # a prefixed form's too ("comp-nonce")
_HIDDEN = re.compile(r'<input[^>]*?name="' + _NAMES + r'"[^>]*?value="([^"]*)"')
_HIDDEN_REV = re.compile(r'<input[^>]*?value="([^"]*)"[^>]*?name="' + _NAMES + r'"')


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


def multipart(fields: dict[str, str], name: str, filename: str,
              data: bytes) -> tuple[bytes, str]:
    """A multipart body made here (werkzeug's test builder spools a big file to a temporary
    file it never closes), and its content type."""
    boundary = "----stepperslife-test-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
             .encode() for key, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                 f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                 .encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def text(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))
