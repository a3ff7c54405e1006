"""The ``/api/v1`` routes: how a domain declares them, and how ``create_app`` registers them.

Each domain's ``api.py`` declares its JSON routes on its own :class:`Routes`, recording who may
call each one (``access``), its request body and query schemas, its response shape and a
summary::

    routes = Routes("events")
    api_route = routes.route

    @api_route("/events", method="GET", access=Access.PUBLIC, tag="events", summary="...")
    def list_events(req: ApiRequest) -> dict[str, Any]: ...

Nothing registers itself on import: ``create_app`` names every domain it wires and hands their
routes to :func:`register`. The registered routes feed the OpenAPI document and let a test check
that no route is undocumented or missing from the authorization matrix.

Order of work for each request: authenticate the bearer (a bad token is refused on every route),
load the event named in the URL (404 if unknown), authorize, then validate the body and query.
So a refusal never depends on the body, and nothing is parsed for a caller who may not call.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from pydantic import ValidationError
from sqlalchemy.orm import Session

from shared.protocol import PROTOCOL_VERSION
from shared.wire_fields import adapter, error_fields
from sync_server.auth.access import Access, Actor, authenticate, authorize, event_in_url
from sync_server.db import db_session
from sync_server.errors import ApiError, Code, not_found, validation_error

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
BLUEPRINT = "api_v1"

ViewResult = Any
View = Callable[..., ViewResult]


@dataclass(frozen=True, kw_only=True)
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
    view: View = field(repr=False, compare=False)

    @property
    def path(self) -> str:
        return API_PREFIX + self.rule


class Routes:
    """One domain's JSON routes, declared with :meth:`route`; ``create_app`` registers them."""

    def __init__(self, name: str) -> None:
        self.name = name  # endpoints are "<name>_<view function>"
        self._declared: list[ApiRoute] = []

    def __iter__(self) -> Iterator[ApiRoute]:
        return iter(self._declared)

    def route(
        self,
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
        """Declare ``view`` at ``/api/v1`` + ``rule`` for one HTTP method, with its access rule.

        ``body``, ``query`` and ``response`` are pydantic models or ``shared.protocol`` shapes
        (pydantic dataclasses). ``response`` documents the success body in the OpenAPI
        document; the ``api`` test fixture validates every successful response it sees against it.
        """

        def decorator(view: View) -> View:
            self._declared.append(ApiRoute(
                rule=rule, method=method, endpoint=f"{BLUEPRINT}.{self.name}_{view.__name__}",
                summary=summary, access=access, tag=tag, body=body, query=query, status=status,
                produces=produces, response=response, view=view,
            ))
            return view

        return decorator


@dataclass
class ApiRequest:
    """What a view receives: the session, the caller, the event in the URL, parsed input."""

    session: Session
    actor: Actor
    event: Any = None  # the events.models.Event named in the URL (events sits above this)
    body: Any = None
    query: Any = None

    @property
    def the_event(self) -> Any:
        assert self.event is not None, "route has no <event_id>"
        return self.event


def register(app: Flask, domains: Iterable[Routes]) -> Blueprint:
    """Register the routes of ``domains`` on the app's ``/api/v1`` blueprint, in order."""
    bp = Blueprint(BLUEPRINT, __name__, url_prefix=API_PREFIX)
    registered = []
    for routes in domains:
        for route in routes:
            bp.add_url_rule(route.rule, endpoint=route.endpoint.split(".", 1)[1],
                            view_func=_handler(route), methods=[route.method])
            registered.append(route)
    app.extensions["sync_api_routes"] = registered
    app.register_blueprint(bp)
    return bp


def registered_routes() -> list[ApiRoute]:
    """The routes of the current app, in the order they were registered."""
    routes: list[ApiRoute] = current_app.extensions["sync_api_routes"]
    return routes


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


def _handler(route: ApiRoute) -> Callable[..., Response]:
    view = route.view

    @functools.wraps(view)
    def handle(**kwargs: Any) -> Response:
        session = db_session()
        actor = authenticate(session)
        event = None
        if "event_id" in kwargs:
            event = event_in_url(session, kwargs.pop("event_id"))
            if event is None:
                raise not_found("event")
        authorize(session, actor, route.access, event)
        _check_protocol()
        req = ApiRequest(session=session, actor=actor, event=event)
        if route.body is not None:
            req.body = _parse_body(route.body)
        if route.query is not None:
            req.query = _parse_query(route.query)
        result = view(req, **kwargs)
        if isinstance(result, Response):
            return result
        reply = jsonify(result)
        reply.status_code = route.status
        return reply

    return handle
