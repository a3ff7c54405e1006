"""The OpenAPI 3.1 document for /api/v1, built from the route registry and pydantic schemas
(pydantic models and the door protocol's shapes alike)."""

from __future__ import annotations

import re
from typing import Any

from shared.wire_fields import adapter
from sync_server.api import API_PREFIX, ApiRequest, ApiRoute, Routes, registered_routes
from sync_server.auth.access import Access

routes = Routes("sync_server")  # endpoints "sync_server_<view>"
api_route = routes.route

_PARAM = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
_REF = "#/components/schemas/{model}"

_ACCESS_TEXT = {
    Access.PUBLIC: "Anyone.",
    Access.USER: "A signed-in user (bearer slu_...).",
    Access.DEVICE: "A paired device (bearer sld_...).",
    Access.EVENT_READ: "Anyone if the event is published; otherwise its organizer, sellers, "
                       "unexpired staff or devices.",
    Access.EVENT_ORGANIZER: "The event's organizer, or a platform admin.",
    Access.EVENT_SELLER: "The event's organizer or an active seller of it.",
    Access.EVENT_DOOR: "A device serving the event, or its organizer or unexpired staff.",
    Access.EVENT_DEVICE: "A device serving the event.",
    Access.EVENT_BOX_OFFICE: "A BOX_OFFICE device serving the event, or its organizer or an "
                             "active seller of it.",
    Access.BOX_OFFICE_DEVICE: "A BOX_OFFICE device serving the event.",
}

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string", "description": "stable code; branch on this"},
                "message": {"type": "string"},
                "fields": {"type": "object",
                           "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            },
        }
    },
}


def openapi_path(rule: str) -> str:
    return API_PREFIX + _PARAM.sub(r"{\1}", rule)


def _schema(model: type[Any], components: dict[str, Any]) -> dict[str, Any]:
    schema = adapter(model).json_schema(ref_template=_REF)
    for name, sub in [*schema.pop("$defs", {}).items(), (model.__name__, schema)]:
        if components.setdefault(name, sub) != sub:
            raise ValueError(f"two different schemas are named {name}: rename one")
    return {"$ref": _REF.format(model=model.__name__)}


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": _REF.format(model="Error")}}}}


EVENT_STREAM = "text/event-stream"


def _success_schema(route: ApiRoute, components: dict[str, Any]) -> dict[str, Any]:
    if route.response is not None:
        return _schema(route.response, components)
    if route.produces == EVENT_STREAM:  # server-sent events: `event: <name>` + `data: <JSON>`
        return {"type": "string", "description": "A stream of server-sent events (one "
                "`event:` name and one `data:` JSON line each; `:` comment lines keep it open). "
                "See docs/queue.md, Streams."}
    return {"type": "object"}


def build_document() -> dict[str, Any]:
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for route in registered_routes():
        op: dict[str, Any] = {
            "operationId": route.endpoint.split(".", 1)[1],
            "summary": route.summary,
            "description": "Who may call: " + _ACCESS_TEXT[route.access],
            "tags": [route.tag],
            "x-access": route.access.value,
            "parameters": [],
            "responses": {
                str(route.status): {"description": "success", "content": {route.produces: {
                    "schema": _success_schema(route, components)}}},
                "default": _error("an error envelope"),
            },
        }
        for name in _PARAM.findall(route.rule):
            op["parameters"].append({"name": name, "in": "path", "required": True,
                                     "schema": {"type": "integer", "minimum": 1}})
        if route.query is not None:
            qs = adapter(route.query).json_schema()
            required = set(qs.get("required", []))
            for name, prop in qs.get("properties", {}).items():
                op["parameters"].append({"name": name, "in": "query",
                                         "required": name in required, "schema": prop})
        if route.body is not None:
            op["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": _schema(route.body, components)}}}
        if route.access is not Access.PUBLIC:
            op["security"] = [{"bearer": []}]
        paths.setdefault(openapi_path(route.rule), {})[route.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "SteppersLife sync server", "version": "1"},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


@api_route("/openapi.json", method="GET", access=Access.PUBLIC, tag="meta",
           summary="This document")
def openapi_document(req: ApiRequest) -> dict[str, Any]:
    return build_document()
