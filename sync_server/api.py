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
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

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
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    status: int = 200
    produces: str = "application/json"
    response: type[BaseModel] | None = None

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


def fields_from(error: ValidationError) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for item in error.errors(include_url=False):
        name = ".".join(str(part) for part in item["loc"]) or "body"
        fields.setdefault(name, []).append(item["msg"])
    return fields


def _parse_body(schema: type[BaseModel]) -> BaseModel:
    raw = request.get_data(cache=True) or b"{}"
    try:
        return schema.model_validate_json(raw)
    except ValidationError as error:
        if any(e["type"] == "json_invalid" for e in error.errors()):
            raise ApiError(400, Code.MALFORMED_JSON, "the body is not valid JSON") from None
        raise validation_error(fields_from(error)) from None


def _parse_query(schema: type[BaseModel]) -> BaseModel:
    try:
        return schema.model_validate(request.args.to_dict())
    except ValidationError as error:
        raise validation_error(fields_from(error), "the query string has invalid fields") from None


def api_route(
    rule: str,
    *,
    method: str,
    access: Access,
    summary: str,
    tag: str,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    status: int = 200,
    produces: str = "application/json",
    response: type[BaseModel] | None = None,
) -> Callable[[View], View]:
    """Register ``view`` at ``/api/v1`` + ``rule`` for one HTTP method, with its access rule.

    ``response`` (a pydantic model) documents the success body in the OpenAPI document; the
    ``api`` test fixture validates every successful response it sees against it.
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
