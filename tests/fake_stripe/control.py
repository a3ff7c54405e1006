"""The control API under ``/_fake/``: what a test or ``make demo`` asks of the fake over HTTP.

JSON in, JSON out, no authentication (it listens on 127.0.0.1 only). Errors answer 400 with
``{"error": {"code": "bad_control_request", "message": ...}}``.

    POST /_fake/webhooks            {"url", "secret"?, "mode"?: "auto"|"hold",
                                     "max_attempts"?, "retry_delay"?}  -> {"secret"}
    POST /_fake/webhooks/deliver    {"event_ids"?: [...], "times"?, "delay"?, "secret"?,
                                     "timestamp_offset"?, "parallel"?} -> {"queued": [...]}
    GET  /_fake/webhooks/deliveries                                    -> {"data": [attempts]}
    GET  /_fake/events                                                 -> {"data": [events]}
    POST /_fake/accounts/<acct>/enable_charges                         -> the account
    POST /_fake/checkout/sessions/<cs>/pay | /decline                  -> the session
    POST /_fake/disputes            {"charge": "ch_…" or "pi_…"}       -> the dispute
    POST /_fake/faults              {"count", "mode": "error"|"drop"|"error_after"|"drop_after",
                                     "path"?: "/v1/refunds"}
    POST /_fake/clock/advance       {"seconds"}                        -> {"expired": [...]}
    GET  /_fake/ledger                                                 -> charges and refunds
    GET  /_fake/requests                                               -> the API calls seen
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from tests.fake_stripe.params import StripeError

if TYPE_CHECKING:
    from tests.fake_stripe.server import FakeStripe

Obj = dict[str, Any]
Reply = tuple[int, dict[str, str], bytes]


def _reply(status: int, obj: Any) -> Reply:
    return status, {"Content-Type": "application/json"}, json.dumps(obj, indent=2).encode()


def _error(message: str) -> Reply:
    return _reply(400, {"error": {"code": "bad_control_request", "message": message}})


def handle(fake: FakeStripe, method: str, path: str, body: bytes) -> Reply:
    try:
        args = json.loads(body or b"{}")
        if not isinstance(args, dict):
            return _error("the body is a JSON object")
        return _reply(200, _dispatch(fake, method, path[len("/_fake/"):], args))
    except (ValueError, KeyError, TypeError) as exc:
        return _error(str(exc))
    except StripeError as err:
        return _reply(err.status, err.envelope("req_control"))


def _dispatch(fake: FakeStripe, method: str, path: str, args: Obj) -> Any:
    if method == "GET":
        with fake.store.lock:
            if path == "webhooks/deliveries":
                return {"data": list(fake.webhooks.log)}
            if path == "events":
                return {"data": fake.events(args.get("type"))}
            if path == "ledger":
                return fake.ledger()
            if path == "requests":
                return {"data": list(fake.requests)}
    elif method == "POST":
        if path == "webhooks":
            secret = fake.register_webhook(str(args["url"]), args.get("secret"),
                                           args.get("mode", "auto"))
            fake.webhooks.configure(max_attempts=args.get("max_attempts"),
                                    retry_delay=args.get("retry_delay"))
            return {"secret": secret}
        if path == "webhooks/deliver":
            queued = fake.deliver(
                args.get("event_ids"), times=int(args.get("times", 1)),
                delay=float(args.get("delay", 0)), secret=args.get("secret"),
                timestamp_offset=int(args.get("timestamp_offset", 0)),
                parallel=bool(args.get("parallel", False)))
            return {"queued": queued}
        if path == "disputes":
            return fake.dispute(str(args["charge"]))
        if path == "faults":
            fake.fail_next(int(args.get("count", 1)), str(args.get("mode", "error")),
                           str(args.get("path", "/v1/")))
            return {"ok": True}
        if path == "clock/advance":
            return {"expired": fake.advance_clock(int(args["seconds"]))}
        if match := re.fullmatch(r"accounts/(acct_\w+)/enable_charges", path):
            return fake.enable_charges(match[1])
        if match := re.fullmatch(r"checkout/sessions/(cs_test_\w+)/(pay|decline)", path):
            if match[2] == "pay":
                return fake.pay(match[1], str(args.get("email", "buyer@example.com")))
            return fake.decline(match[1])
    raise ValueError(f"no control route {method} /_fake/{path}")
