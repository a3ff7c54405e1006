"""The ``/api/v1`` blueprint and its route registry.

Every JSON route is declared with :func:`api_route`, which records who may call it (``access``),
its request body and query schemas and a summary. The registry feeds the OpenAPI document and lets
a test check that no registered route is undocumented or missing from the authorization matrix.

Order of work for each request: authenticate the bearer (a bad token is refused on every route),
load the event named in the URL (404 if unknown), authorize, then validate the body and query.
So a refusal never depends on the body, and nothing is parsed for a caller who may not call.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, jsonify, request
from pydantic import ValidationError
from sqlalchemy.orm import Session

from shared.protocol import PROTOCOL_VERSION
from shared.wire_fields import adapter, error_fields
from sync_server.auth import Access, Actor, authenticate, authorize
from sync_server.db import db_session
from sync_server.errors import ApiError, Code, not_found, validation_error
from sync_server.events.models import Event

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
bp = Blueprint("api_v1", __name__, url_prefix=API_PREFIX)


@dataclass(frozen=True)
class ApiRoute:
    rule: str  # relative to /api/v1, Flask syntax
    method: str
    endpoint: str
    summary: str
    access: Access
    tag: str
    body: type[Any] | None = None  # pydantic models or shared.protocol shapes
    query: type[Any] | None = None
    status: int = 200
    produces: str = "application/json"
    response: type[Any] | None = None

    @property
    def path(self) -> str:
        return API_PREFIX + self.rule


ROUTES: list[ApiRoute] = []


@dataclass
class ApiRequest:
    """What a view receives: the session, the caller, the event in the URL, parsed input."""

    session: Session
    actor: Actor
    event: Event | None = None
    body: Any = None
    query: Any = None

    @property
    def the_event(self) -> Event:
        assert self.event is not None, "route has no <event_id>"
        return self.event


ViewResult = Any
View = Callable[..., ViewResult]


def _parse_body(schema: type[Any]) -> Any:
    raw = request.get_data(cache=True) or b"{}"
    try:
        return adapter(schema).validate_json(raw)
    except ValidationError as error:
        messages = {e["type"]: e["msg"] for e in error.errors(include_url=False)}
        if "json_invalid" in messages:
            raise ApiError(400, Code.MALFORMED_JSON, "the body is not valid JSON") from None
        if Code.PAYLOAD_TOO_LARGE in messages:  # e.g. a scan batch over its limit
            raise ApiError(413, Code.PAYLOAD_TOO_LARGE,
                           messages[Code.PAYLOAD_TOO_LARGE]) from None
        raise validation_error(error_fields(error)) from None


def _parse_query(schema: type[Any]) -> Any:
    try:
        return adapter(schema).validate_python(request.args.to_dict())
    except ValidationError as error:
        raise validation_error(error_fields(error), "the query string has invalid fields") from None


def _check_protocol() -> None:
    """A client that names the door protocol it speaks (``X-Protocol-Version``) must speak ours."""
    asked = request.headers.get("X-Protocol-Version")
    if asked is not None and asked.strip() != str(PROTOCOL_VERSION):
        raise ApiError(400, Code.UNSUPPORTED_PROTOCOL,
                       f"this server speaks door protocol {PROTOCOL_VERSION}; update the app")


def api_route(
    rule: str,
    *,
    method: str,
    access: Access,
    summary: str,
    tag: str,
    body: type[Any] | None = None,
    query: type[Any] | None = None,
    status: int = 200,
    produces: str = "application/json",
    response: type[Any] | None = None,
) -> Callable[[View], View]:
    """Register ``view`` at ``/api/v1`` + ``rule`` for one HTTP method, with its access rule.

    ``body``, ``query`` and ``response`` are pydantic models (or ``shared.protocol`` shapes,
    which are pydantic dataclasses). ``response`` documents the success body in the OpenAPI
    document; the ``api`` test fixture validates every successful response it sees against it.
    """

    def decorator(view: View) -> View:
        endpoint = f"{view.__module__.rsplit('.', 2)[-2]}_{view.__name__}"

        @functools.wraps(view)
        def wrapper(**kwargs: Any) -> Response:
            session = db_session()
            actor = authenticate(session)
            event = None
            if "event_id" in kwargs:
                event = session.get(Event, kwargs.pop("event_id"))
                if event is None:
                    raise not_found("event")
            authorize(session, actor, access, event)
            _check_protocol()
            req = ApiRequest(session=session, actor=actor, event=event)
            if body is not None:
                req.body = _parse_body(body)
            if query is not None:
                req.query = _parse_query(query)
            result = view(req, **kwargs)
            if isinstance(result, Response):
                return result
            reply = jsonify(result)
            reply.status_code = status
            return reply

        bp.add_url_rule(rule, endpoint=endpoint, view_func=wrapper, methods=[method])
        ROUTES.append(
            ApiRoute(
                rule=rule, method=method, endpoint=f"{bp.name}.{endpoint}", summary=summary,
                access=access, tag=tag, body=body, query=query, status=status, produces=produces,
                response=response,
            )
        )
        return wrapper

    return decorator
