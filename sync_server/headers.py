"""Security headers on every response (pages and API), Secure cookies over HTTPS, and a
development server that does not announce its framework and Python versions.

Pages get a content security policy of "self only": one stylesheet (``static/site.css``) and
scripts only from ``static/`` (no inline style or script in any template).
"""

from __future__ import annotations

from flask import Flask, Request, current_app, request
from werkzeug.serving import WSGIRequestHandler
from werkzeug.wrappers import Response

from sync_server.config import Config

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
}


def is_https(req: Request) -> bool:
    """True when this request came over HTTPS (``X-Forwarded-Proto`` counts only where a
    proxy fix trusts it, as ``request.scheme`` does)."""
    return req.is_secure


FORM_TARGETS = "csp_form_action"  # app.extensions key: other origins a form may lead to


def _add_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    targets = current_app.extensions.get(FORM_TARGETS)
    if targets and response.headers.get("Content-Security-Policy") == CONTENT_SECURITY_POLICY:
        # A form whose answer redirects elsewhere (checkout -> Stripe's hosted payment page):
        # browsers check form-action on every redirect of a form submission.
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
            "form-action 'self'", "form-action 'self' " + " ".join(sorted(targets)))
    if is_https(request):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def secure_cookies(app: Flask) -> bool:
    """Cookies get ``Secure`` when configured (``secure_cookies``), or when this request came
    over HTTPS."""
    config: Config = app.extensions["sync_config"]
    return config.secure_cookies or is_https(request)


def init_app(app: Flask) -> None:
    app.after_request(_add_headers)


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler without ``Werkzeug/x Python/y`` in the ``Server`` header."""

    def version_string(self) -> str:
        return "sync-server"
