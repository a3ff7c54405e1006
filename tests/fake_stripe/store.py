"""The fake's memory: every Stripe object by id, the events it raised, and connected accounts.

One lock serialises every change, so each API call, page click and control call is atomic, as
Stripe's own writes are. Events carry a deep copy of their object as it was when raised: an event
delivered late or out of order shows the old state, exactly like Stripe's.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from tests.fake_stripe import shapes
from tests.fake_stripe.params import StripeError, check_known, metadata, missing, no_such

logger = logging.getLogger(__name__)
Obj = dict[str, Any]

# id prefix -> (resource name in Stripe's words, the parameter a retrieve names in its error)
RESOURCES = {
    "acct": ("account", "account"),
    "cs": ("checkout.session", "session"),
    "pi": ("payment_intent", "intent"),
    "ch": ("charge", "charge"),
    "re": ("refund", "refund"),
    "tr": ("transfer", "transfer"),
    "fee": ("application_fee", "id"),
    "dp": ("dispute", "dispute"),
    "evt": ("event", "id"),
}
ACCOUNT_PARAMS = {"type", "country", "email", "capabilities", "business_type", "metadata",
                  "business_profile", "controller", "settings", "tos_acceptance", "expand"}


class Store:
    """All state of one fake Stripe. ``publish`` receives each event as it is raised."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.lock = threading.RLock()
        self.objects: dict[str, Obj] = {}
        self.events: list[Obj] = []
        self.private: dict[str, Obj] = {}  # per-object facts Stripe keeps but never returns
        self.clock_offset = 0
        self.publish: Callable[[Obj], None] = lambda event: None
        self.request_context: Obj = {"id": None, "idempotency_key": None}

    def now(self) -> int:
        return int(time.time()) + self.clock_offset

    # --- reading -----------------------------------------------------------------------------

    def get(self, object_id: str, param: str | None = None) -> Obj:
        obj = self.objects.get(object_id)
        if obj is None:
            prefix = object_id.split("_", 1)[0]
            if prefix == "acct":
                raise self._account_invalid(object_id)
            resource, default_param = RESOURCES.get(prefix, ("object", "id"))
            raise no_such(resource, object_id, param or default_param)
        return obj

    def _account_invalid(self, account_id: str) -> StripeError:
        # Stripe answers an unknown connected account with 403, not 404 (stripe.PermissionError)
        masked = self.api_key[:8] + "*" * max(len(self.api_key) - 12, 4) + self.api_key[-4:]
        return StripeError(
            403,
            f"The provided key '{masked}' does not have access to account '{account_id}' "
            "(or that account does not exist). Application access may have been revoked.",
            code="account_invalid",
        )

    def render(self, obj: Obj, expand: list[str]) -> Obj:
        """A copy for the wire, with the requested ids replaced by their objects (``expand``)."""
        out = copy.deepcopy(obj)
        for path in expand:
            self._expand(out, path.split("."), path)
        return out

    def _expand(self, node: Any, parts: list[str], path: str) -> None:
        if not parts or not isinstance(node, dict):
            return
        head, rest = parts[0], parts[1:]
        if head == "data" and isinstance(node.get("data"), list):
            for item in node["data"]:
                self._expand(item, rest, path)
            return
        if head not in node:
            raise StripeError(400, f"This property cannot be expanded ({head}).", param="expand")
        value = node[head]
        if isinstance(value, str) and value in self.objects:
            node[head] = value = copy.deepcopy(self.objects[value])
        self._expand(value, rest, path)

    def listing(self, kind: str, url: str, filters: Obj, limit: int = 10) -> Obj:
        """A Stripe list: newest first, at most ``limit``, filtered on top-level fields."""
        found = [
            o for o in self.objects.values()
            if o.get("object") == kind and all(o.get(k) == v for k, v in filters.items())
        ]
        found.sort(key=lambda o: (o["created"], self.private.get(o["id"], {}).get("seq", 0)),
                   reverse=True)
        page = found[:limit]
        return {"object": "list", "url": url, "has_more": len(found) > limit,
                "data": copy.deepcopy(page)}

    # --- writing -----------------------------------------------------------------------------

    def add(self, obj: Obj) -> Obj:
        self.objects[obj["id"]] = obj
        self.private.setdefault(obj["id"], {})["seq"] = len(self.objects)
        return obj

    def emit(self, kind: str, obj: Obj, account_id: str | None = None,
             previous: Obj | None = None) -> Obj:
        data: Obj = {"object": copy.deepcopy(obj)}
        if previous is not None:
            data["previous_attributes"] = previous
        event = shapes.event(self.now(), kind, data, account_id, dict(self.request_context))
        self.events.append(event)
        self.add(event)
        logger.info("fake stripe event %s %s for %s", event["id"], kind, obj.get("id"))
        self.publish(copy.deepcopy(event))
        return event

    # --- Connect accounts --------------------------------------------------------------------

    def create_account(self, params: Obj) -> Obj:
        check_known(params, ACCOUNT_PARAMS)
        kind = params.get("type")
        if kind is None and not params.get("controller"):
            raise missing("type")
        if kind not in (None, "express", "standard", "custom"):
            raise StripeError(400, "Invalid type: must be one of custom, express, or standard",
                              param="type")
        if kind == "express" and "transfers" not in (params.get("capabilities") or {}):
            raise StripeError(
                400,
                "Express accounts must request the `transfers` capability.",
                param="capabilities",
            )
        params = {**params, "metadata": metadata(params)}
        return self.add(shapes.account(self.now(), params))

    def update_account(self, account_id: str, params: Obj) -> Obj:
        check_known(params, ACCOUNT_PARAMS - {"type", "country", "controller"})
        account = self.get(account_id)
        before = copy.deepcopy(account)
        if "email" in params:
            account["email"] = params["email"] or None
        if "metadata" in params:
            account["metadata"].update(params["metadata"] or {})
            account["metadata"] = {k: v for k, v in account["metadata"].items() if v != ""}
        if "business_profile" in params:
            account["business_profile"].update(params["business_profile"])
        for name in params.get("capabilities") or {}:
            account["capabilities"].setdefault(name, "inactive")
        previous = {k: v for k, v in before.items() if account[k] != v}
        if previous:
            self.emit("account.updated", account, account_id=account_id, previous=previous)
        return account

    def create_account_link(self, params: Obj) -> Obj:
        check_known(params, {"account", "refresh_url", "return_url", "type", "collect",
                             "collection_options", "expand"})
        for name in ("account", "type"):
            if not params.get(name):
                raise missing(name)
        if params["type"] not in ("account_onboarding", "account_update"):
            raise StripeError(400, "Invalid type: must be one of account_onboarding or "
                              "account_update", param="type")
        account = self.get(params["account"], "account")
        link = shapes.account_link(self.now(), "")
        token = shapes.new_id("link").split("_", 1)[1]
        link["url"] = f"{self.base_url}/setup/e/{account['id']}/{token}"
        self.private[token] = {
            "account": account["id"], "expires_at": link["expires_at"], "used": False,
            "return_url": params.get("return_url"), "refresh_url": params.get("refresh_url"),
        }
        return link

    def enable_charges(self, account_id: str) -> Obj:
        """What finishing onboarding does: the account can take charges (-> account.updated)."""
        account = self.get(account_id)
        previous = {
            "charges_enabled": account["charges_enabled"],
            "payouts_enabled": account["payouts_enabled"],
            "details_submitted": account["details_submitted"],
            "capabilities": dict(account["capabilities"]),
        }
        account.update(charges_enabled=True, payouts_enabled=True, details_submitted=True)
        account["capabilities"] = {
            name: "active" for name in account["capabilities"] or {"card_payments", "transfers"}
        }
        for key in ("currently_due", "eventually_due", "past_due"):
            account["requirements"][key] = []
        account["requirements"]["disabled_reason"] = None
        self.emit("account.updated", account, account_id=account_id, previous=previous)
        return account
