"""Stripe's v1 API over HTTP: authentication, idempotency keys, injected faults, the routes.

Only what issue 14's flows call, each route in Stripe's own path and words. ``handle`` returns the
status, headers and body to send, or ``None`` when an injected fault says the connection drops.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tests.fake_stripe import checkout, refunds, shapes
from tests.fake_stripe.params import StripeError, decode_form, expand_paths, integer, no_such

if TYPE_CHECKING:
    from tests.fake_stripe.server import FakeStripe

logger = logging.getLogger(__name__)
Obj = dict[str, Any]
Reply = tuple[int, dict[str, str], bytes]
FAULTS = ("error", "error_after", "drop", "drop_after")


def _list_filters(params: Obj, names: tuple[str, ...]) -> Obj:
    return {name: params[name] for name in names if params.get(name)}


def _limit(params: Obj) -> int:
    limit = integer(params, "limit") or 10
    return max(1, min(limit, 100))


ROUTES: list[tuple[str, re.Pattern[str], Callable[[FakeStripe, re.Match[str], Obj], Obj]]] = []


def route(method: str, pattern: str) -> Callable[[Callable[..., Obj]], Callable[..., Obj]]:
    def register(func: Callable[..., Obj]) -> Callable[..., Obj]:
        ROUTES.append((method, re.compile(f"^{pattern}$"), func))
        return func

    return register


@route("POST", r"/v1/accounts")
def _create_account(fake: FakeStripe, m: re.Match[str], params: Obj) -> Obj:
    return fake.store.create_account(params)


@route("GET", r"/v1/accounts/(acct_\w+)")
def _get_account(fake: FakeStripe, m: re.Match[str], params: Obj) -> Obj:
    return fake.store.get(m[1])


@route("POST", r"/v1/accounts/(acct_\w+)")
def _update_account(fake: FakeStripe, m: re.Match[str], params: Obj) -> Obj:
    return fake.store.update_account(m[1], params)


@route("POST", r"/v1/account_links")
def _create_account_link(fake: FakeStripe, m: re.Match[str], params: Obj) -> Obj:
    return fake.store.create_account_link(params)


@route("POST", r"/v1/checkout/sessions")
def _create_session(fake: FakeStripe, m: re.Match[str], params: Obj) -> Obj:
    return checkout.create_session(fake.store, params)


@route("GET", r"/v1/checkout/sessions")
def _list_sessions(fake: FakeStripe, m: re.Match[str], params: Obj) -> Obj:
    checkout.sweep_expired(fake.store)
    filters = _list_filters(params, ("payment_intent", "status"))
    return fake.store.listing("checkout.session", "/v1/checkout/sessions", filters,
                              _limit(params))


@route("GET", r"/v1/checkout/sessions/(cs_\w+)")
def _get_session(fake: FakeStripe, m: re.Match[str], params: Obj) -> Obj:
    checkout.sweep_expired(fake.store)
    return fake.store.get(m[1], "session")


@route("GET", r"/v1/checkout/sessions/(cs_\w+)/line_items")
def _session_lines(fake: FakeStripe, m: re.Match[str], params: Obj) -> Obj:
    return checkout.line_items(fake.store, m[1])


@route("POST", r"/v1/checkout/sessions/(cs_\w+)/expire")
def _expire_session(fake: FakeStripe, m: re.Match[str], params: Obj) -> Obj:
    return checkout.expire_session(fake.store, m[1])


@route("POST", r"/v1/refunds")
def _create_refund(fake: FakeStripe, m: re.Match[str], params: Obj) -> Obj:
    return refunds.create_refund(fake.store, params)


@route("GET", r"/v1/refunds")
def _list_refunds(fake: FakeStripe, m: re.Match[str], params: Obj) -> Obj:
    filters = _list_filters(params, ("charge", "payment_intent"))
    return fake.store.listing("refund", "/v1/refunds", filters, _limit(params))


@route("GET", r"/v1/events")
def _list_events(fake: FakeStripe, m: re.Match[str], params: Obj) -> Obj:
    return fake.store.listing("event", "/v1/events", _list_filters(params, ("type",)),
                              _limit(params))


_KINDS = {"payment_intents": "payment_intent", "charges": "charge", "refunds": "refund",
          "transfers": "transfer", "application_fees": "application_fee",
          "disputes": "dispute", "events": "event"}


@route("GET", r"/v1/(payment_intents|charges|refunds|transfers|application_fees|disputes|events)"
              r"/(\w+)")
def _get_object(fake: FakeStripe, m: re.Match[str], params: Obj) -> Obj:
    kind = _KINDS[m[1]]
    obj = fake.store.objects.get(m[2])
    if obj is None or obj.get("object") != kind:
        fake.store.get(m[2])  # raises Stripe's own words for an unknown id
        raise no_such(kind, m[2], "id")
    return obj


def _authenticate(fake: FakeStripe, headers: Any) -> None:
    value = headers.get("Authorization") or ""
    key = ""
    if value.startswith("Bearer "):
        key = value[len("Bearer "):].strip()
    elif value.startswith("Basic "):
        try:
            key = base64.b64decode(value[len("Basic "):]).decode().split(":", 1)[0]
        except ValueError:
            key = ""
    if not key:
        raise StripeError(401, "You did not provide an API key. You need to provide your API "
                          "key in the Authorization header, using Bearer auth (e.g. "
                          "'Authorization: Bearer YOUR_SECRET_KEY').")
    if key != fake.api_key:
        raise StripeError(401, f"Invalid API Key provided: {key[:8]}{'*' * 8}{key[-4:]}",
                          code="api_key_invalid" if key.startswith("sk_") else None)
    if headers.get("Stripe-Account"):
        raise StripeError(400, "fake-stripe does not serve requests on behalf of a connected "
                          "account (Stripe-Account); issue 14 uses destination charges.")


def _body(status: int, obj: Obj) -> Reply:
    payload = json.dumps(obj, indent=2).encode()
    return status, {"Content-Type": "application/json"}, payload


def handle(fake: FakeStripe, method: str, path: str, query: str, body: bytes,
           headers: Any) -> Reply | None:
    request_id = shapes.new_id("req")[:18]
    fault = fake.take_fault(path)
    if fault in ("error", "drop"):
        fake.record(method, path, None, 500 if fault == "error" else None, False)
        if fault == "drop":
            return None
        return _server_error(request_id)
    key = headers.get("Idempotency-Key") if method == "POST" else None
    status, out, replayed = _execute(fake, method, path, query, body, headers, key, request_id)
    fake.record(method, path, key, status, replayed)
    if fault == "drop_after":
        return None
    if fault == "error_after":
        return _server_error(request_id)
    reply_headers = {"Content-Type": "application/json", "Request-Id": request_id,
                     "Stripe-Version": shapes.API_VERSION}
    if key:
        reply_headers["Idempotency-Key"] = key
    if replayed:
        reply_headers["Idempotent-Replayed"] = "true"
    return status, reply_headers, out


def _server_error(request_id: str) -> Reply:
    err = StripeError(500, "An unknown error occurred", type="api_error")
    status, headers, out = _body(500, err.envelope(request_id))
    headers["Request-Id"] = request_id
    return status, headers, out


def _execute(fake: FakeStripe, method: str, path: str, query: str, body: bytes, headers: Any,
             key: str | None, request_id: str) -> tuple[int, bytes, bool]:
    try:
        _authenticate(fake, headers)
        params = decode_form(query if method == "GET" else body.decode())
        fingerprint = json.dumps([method, path, params], sort_keys=True)
        with fake.store.lock:
            if key is not None:
                cached = fake.idempotency.get(f"{fake.api_key}:{key}")
                if cached is not None:
                    if cached[0] != fingerprint:
                        raise StripeError(
                            400, "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with. Try using a key other than "
                            f"'{key}' if you meant to execute a different request.",
                            type="idempotency_error")
                    return cached[1], cached[2], True
            fake.store.request_context = {"id": request_id, "idempotency_key": key}
            try:
                obj = _route(fake, method, path, params)
            finally:
                fake.store.request_context = {"id": None, "idempotency_key": None}
            status, _, out = _body(200, fake.store.render(obj, expand_paths(params)))
            if key is not None:
                fake.idempotency[f"{fake.api_key}:{key}"] = (fingerprint, status, out)
            return status, out, False
    except StripeError as err:
        return err.status, _body(err.status, err.envelope(request_id))[2], False


def _route(fake: FakeStripe, method: str, path: str, params: Obj) -> Obj:
    for route_method, pattern, func in ROUTES:
        match = pattern.match(path)
        if match and route_method == method:
            return func(fake, match, params)
    raise StripeError(404, f"Unrecognized request URL ({method}: {path}). Please see "
                      "https://stripe.com/docs or we can help at https://support.stripe.com/.")
