"""Hostile bodies on every route of the OpenAPI document: never a 5xx, always the error envelope.

The walk reads ``/api/v1/openapi.json`` (so a new route is covered the day it is declared), builds
a plausible body from each route's request schema, then sends, as a caller who may call the route:
malformed JSON, an oversized body, 100,000 levels of ``[``, a wrong type in each field, and each
hostile string (NUL, CR LF, U+0085, a lone surrogate, an over-long text) in every string field.
Routes that take a query string get the same strings in every query parameter. A body with a
control character (NUL, U+0085) in any field is refused (4xx), never stored. (503 is a state of
the server, e.g. card payments not configured here, never caused by input: allowed.)
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
from sqlalchemy.orm import Session

from tests.server.conftest import World, bearer, error_code

HOSTILE_TEXT = ["a\u0000b", "a\r\nb", "a\u0085b", "\ud800", "x" * 100_000]
CONTROL_TEXT = ("a\u0000b", "a\u0085b")
NESTED = b"[" * 100_000
# routes that end what later routes need (the caller's token, the event, the device): last
_LAST = ("delete", "/cancel", "/revoke", "/abandon")

Path = tuple[str | int, ...]


def _resolve(schema: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _sample(schema: dict[str, Any], doc: dict[str, Any], ids: dict[str, Any], name: str) -> Any:
    """A plausible value for ``schema``: ids (and known e-mails) from ``ids`` by field name, a
    string wherever a field may hold one (so that every string field is there to be attacked);
    ``None`` for an optional field better left out."""
    schema = _resolve(schema, doc)
    if name in ids:
        return ids[name]
    options = [_resolve(s, doc) for s in schema.get("anyOf", [])]
    if options:
        if schema.get("default", "") is None and not any(o.get("type") == "string"
                                                         for o in options):
            return None
        schema = next((o for o in options if o.get("type") not in (None, "null")), options[0])
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        values = {key: _sample(sub, doc, ids, key)
                  for key, sub in schema.get("properties", {}).items()}
        return {key: value for key, value in values.items() if value is not None}
    if kind == "array":
        return [_sample(schema.get("items", {}), doc, ids, name)]
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return False
    if kind == "string":
        return _sample_text(schema, name)
    return None


def _sample_text(schema: dict[str, Any], name: str) -> str:
    fmt = schema.get("format", "")
    if fmt == "date-time" or name.endswith(("_at", "_from", "_until", "_time", "_start",
                                            "_end")):
        return "2030-06-07T05:00:00Z" if "end" in name or "until" in name else \
            "2030-06-07T01:00:00Z"
    if fmt == "date":
        return "2030-06-07"
    if fmt == "email" or "email" in name:
        return f"guest{uuid.uuid4().hex[:8]}@example.test"
    pattern = schema.get("pattern")
    if pattern:
        return next((t for t in ("US", "CODE123") if re.search(pattern, t)), "x")
    if fmt == "uuid" or name.endswith("scan_id"):
        return str(uuid.uuid4())
    if "zone" in name:
        return "America/Chicago"
    if "password" in name:
        return "correct horse battery"
    if name == "code":
        return "CODE123"
    return "Spring set"


def _leaves(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _leaves(sub, (*path, key))
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            yield from _leaves(sub, (*path, i))
    else:
        yield path, value


def _replace(value: Any, path: Path, new: Any) -> Any:
    copied = copy.deepcopy(value)
    target = copied
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = new
    return copied


def _problem(response: httpx.Response) -> str:
    """What is wrong with an answer to a hostile request ("" if nothing)."""
    if response.status_code >= 500 and response.status_code != 503:
        return f"{response.status_code} {response.text[:300]}"
    if response.status_code >= 400:
        try:
            error_code(response)
        except (AssertionError, ValueError):
            return f"{response.status_code} not an error envelope: {response.text[:300]}"
    return ""


def _refused(response: httpx.Response) -> bool:
    """A 4xx, or a scan upload's per-scan refusal (the batch's other scans are stored)."""
    if response.status_code >= 400:
        return True
    results = response.json().get("results", [])
    return bool(results) and all(r["outcome"] == "rejected" for r in results)


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    ops = [(method, path, op) for path, methods in doc["paths"].items()
           for method, op in methods.items()]
    return sorted(ops, key=lambda o: (o[1].endswith("/sign-out"),
                                      any(m in (o[0], o[1]) or o[1].endswith(m) for m in _LAST)))


def test_hostile_bodies_on_every_route_never_cause_a_5xx(api: httpx.Client, world: World,
                                                         session: Session) -> None:
    organizer = world.person(is_admin=True)  # so that admin-only routes are walked too
    helper = world.person()
    event = world.event(organizer)
    tier = world.ticket_type(event, organizer)
    device_token, device = world.device(organizer, event)
    ids: dict[str, Any] = {
        "event_id": event.id, "day_id": event.days[0].id, "ticket_type_id": tier.id,
        "device_id": device.id, "event_day_id": event.days[0].id, "quantity": 1,
        "email": helper.user.email, "event_day_ids": [event.days[0].id]}
    doc = api.get("/openapi.json").json()
    base = "/api/v1"
    sent = 0
    problems: list[str] = []
    for method, path, op in _operations(doc):
        url = path.removeprefix(base)
        for name, value in ids.items():
            url = url.replace("{" + name + "}", str(value))
        url = url.replace("{", "").replace("}", "")  # other ids: names, so a 404
        device_route = op.get("x-access") in ("device", "event_device")
        headers = bearer(device_token) if device_route else dict(organizer.headers)
        headers["Content-Type"] = "application/json"

        def send(content: bytes, params: dict[str, str] | None = None, *, what: str,
                 url: str = url, headers: dict[str, str] = headers, method: str = method,
                 refuse: bool = False) -> None:
            nonlocal sent
            sent += 1
            response = api.request(method, url, content=content, params=params, headers=headers)
            problem = _problem(response)
            if refuse and not _refused(response):
                problem = f"{response.status_code}: accepted"
            if problem:
                problems.append(f"{method.upper()} {url} {what}: {problem}")

        for what, raw in (("malformed", b'{"a": '), ("nested", NESTED),
                          ("nested in an object", b'{"a": ' + NESTED),
                          ("oversized", b'{"a": "' + b"x" * (2 * 1024 * 1024) + b'"}'),
                          ("not an object", b"[1]"), ("NaN", b'{"a": NaN}')):
            send(raw, what=what)
        for param in (p["name"] for p in op.get("parameters", []) if p["in"] == "query"):
            for text in [*HOSTILE_TEXT[:3], "x" * 10_000, str(2**70), "-1"]:
                send(b"", {param: text}, what=f"query {param}={text[:20]!r}")
        schema = op.get("requestBody", {}).get("content", {}).get("application/json", {})
        if not schema:
            continue
        body = _sample(schema["schema"], doc, ids, "")
        for leaf, value in list(_leaves(body)):
            if not leaf:
                continue
            wrong = {"x": [1]} if isinstance(value, str) else "1"
            send(json.dumps(_replace(body, leaf, wrong)).encode(), what=f"{leaf} wrong type")
            if not isinstance(value, str):
                continue
            for text in HOSTILE_TEXT:
                # a control character is never stored (a password is never stored as text)
                refuse = text in CONTROL_TEXT and "password" not in str(leaf[-1])
                send(json.dumps(_replace(body, leaf, text)).encode(),
                     what=f"{leaf}={text[:20]!r}", refuse=refuse)
    assert not problems, "\n".join(problems)
    assert sent > 1_000
