"""One error type with a stable code, rendered as one JSON envelope.

``{"error": {"code": "<stable_code>", "message": "<words>", "fields": {"<field>": ["<msg>"]}}}``

Clients branch on ``code``; ``message`` is for people. Under ``/api/`` every HTTP error (404,
405, 400, 413, 500, ...) is rendered as this envelope too, never as an HTML page.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final

import sqlalchemy as sa
from flask import Flask, Response, jsonify, make_response, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from shared.protocol import error_body
from shared.vocabulary import ErrorCode

logger = logging.getLogger(__name__)


class Code(ErrorCode):
    """The server's stable error codes: every wire code of :class:`shared.vocabulary.ErrorCode`
    (inherited, never copied) plus the ones only the server's other routes answer. Values cross
    the wire: never rename one."""

    INVALID_CREDENTIALS: Final = "invalid_credentials"
    ACCESS_EXPIRED: Final = "access_expired"
    METHOD_NOT_ALLOWED: Final = "method_not_allowed"
    CONFLICT: Final = "conflict"
    EMAIL_TAKEN: Final = "email_taken"
    EMAIL_UNVERIFIED: Final = "email_unverified"  # 403 at sign-in: confirm the address first
    INVALID_STATE: Final = "invalid_state"
    UNSUPPORTED_MEDIA_TYPE: Final = "unsupported_media_type"
    # Purchase engine
    SOLD_OUT: Final = "sold_out"  # 409: too few tickets left for the request
    DISCOUNT_CODE_USED_UP: Final = "discount_code_used_up"  # 409: the code reached its maximum uses
    TOO_MANY_HELD: Final = "too_many_held"  # 409: this buyer or address holds its maximum already
    # 422: this Idempotency-Key was used for a different checkout
    IDEMPOTENCY_KEY_REUSED: Final = "idempotency_key_reused"
    TRANSFER_CLOSED: Final = "transfer_closed"  # 409: the event's first day has started
    SCAN_TIME_OUT_OF_RANGE: Final = "scan_time_out_of_range"  # per scan: outside the event/device
    # Box office (docs/box-office.md)
    ALLOCATION_EXCEEDED: Final = "allocation_exceeded"  # 409: more than the seller has left
    EVENT_CANCELLED: Final = "event_cancelled"  # 409: the event was cancelled: no sale
    WRONG_SELLER_CODE: Final = "wrong_seller_code"  # 403: not the seller's code of the day
    SELLER_INACTIVE: Final = "seller_inactive"  # 403: the seller is not ACTIVE
    HOLD_EXPIRED: Final = "hold_expired"  # 409: the cash hold lapsed: place a new one
    STOCK_LIMIT: Final = "stock_limit"  # 409: the device holds its maximum of offline stock


_HTTP_CODES = {
    400: Code.BAD_REQUEST,
    401: Code.AUTH_REQUIRED,
    403: Code.FORBIDDEN,
    404: Code.NOT_FOUND,
    405: Code.METHOD_NOT_ALLOWED,
    409: Code.CONFLICT,
    413: Code.PAYLOAD_TOO_LARGE,
    415: Code.UNSUPPORTED_MEDIA_TYPE,
    429: Code.RATE_LIMITED,
}


class ApiError(Exception):
    """A refusal with an HTTP status, a stable code and optional per-field messages."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: Mapping[str, Sequence[str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = {k: list(v) for k, v in (fields or {}).items()}
        self.headers = dict(headers or {})

    def envelope(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.fields)  # the one envelope, in shared/


def not_found(what: str) -> ApiError:
    return ApiError(404, Code.NOT_FOUND, f"{what} not found")


def validation_error(fields: Mapping[str, Sequence[str]], message: str = "") -> ApiError:
    message = message or "the request has invalid fields"
    return ApiError(422, Code.VALIDATION_FAILED, message, fields)


def error_response(error: ApiError) -> Response:
    response = jsonify(error.envelope())
    response.status_code = error.status
    for name, value in error.headers.items():
        response.headers[name] = value
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _error_page(error: HTTPException) -> Response | HTTPException:
    """A page's 4xx in the site's own look (a redirect or a 5xx is passed on as it is)."""
    status = error.code or 500
    if not 400 <= status < 500:
        return error
    body = render_template("error.html", status=status, title=error.name,
                           words=_PAGE_WORDS.get(status, error.description or error.name))
    response = make_response(body, status)
    for name, value in error.get_headers():
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value
    return response


_PAGE_WORDS = {
    403: "You are signed in, but this page is not yours to see. Ask the event's organizer.",
    404: "There is no such page. Check the address, or start again from the home page.",
    413: "What you sent is too big (a picture may be at most 5 MB). Make it smaller and try "
         "again.",
}


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Response:
        return error_response(error)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response | HTTPException:
        if not _wants_json():
            return _error_page(error)
        status = error.code or 500
        code = _HTTP_CODES.get(status, Code.BAD_REQUEST if status < 500 else Code.INTERNAL_ERROR)
        api_error = ApiError(status, code, error.description or error.name)
        response = error_response(api_error)
        if status == 405 and isinstance(error, HTTPException):
            allow = error.get_headers()
            for name, value in allow:
                if name.lower() == "allow":
                    response.headers["Allow"] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response | tuple[str, int]:
        logger.exception("unhandled error on %s %s", request.method, request.path)
        if not _wants_json():
            return "Internal server error", 500
        return error_response(ApiError(500, Code.INTERNAL_ERROR, "internal server error"))

    @app.errorhandler(sa.exc.OperationalError)
    def _database_busy(error: sa.exc.OperationalError) -> ResponseReturnValue:
        if not is_busy(error):
            return _unexpected(error)
        logger.warning("database busy on %s %s: %s", request.method, request.path, error.orig)
        busy = ApiError(503, Code.UNAVAILABLE, "the server is busy: try again in a moment",
                        headers={"Retry-After": "1"})
        if not _wants_json():
            return busy.message, 503, busy.headers
        return error_response(busy)


def is_busy(error: sa.exc.OperationalError) -> bool:
    """SQLite waited its whole busy timeout for the write lock (many writers at once): the
    request changed nothing and can simply be sent again, so it is a 503, not a 500."""
    return "database is locked" in str(error.orig)
