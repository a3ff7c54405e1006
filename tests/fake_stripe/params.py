"""Request parameters as Stripe reads them, and Stripe's error envelope.

stripe-python sends v1 bodies form-encoded with nested keys: ``metadata[order_id]=7``,
``line_items[0][price_data][currency]=usd``, ``expand[0]=payment_intent``. ``decode_form`` turns
them back into the nested dicts and lists they came from; every value stays a string, as Stripe
receives it, and the ``integer``/``boolean`` readers coerce with Stripe's own error words.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

Obj = dict[str, Any]
_KEY_PART = re.compile(r"\[([^\]]*)\]")


class StripeError(Exception):
    """One Stripe API error: its HTTP status and the fields of ``{"error": {...}}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param

    def envelope(self, request_id: str) -> Obj:
        error: Obj = {"message": self.message, "type": self.type}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        error["request_log_url"] = (
            f"https://dashboard.stripe.com/test/logs/{request_id}?t=0"
        )
        return {"error": error}


def missing(param: str) -> StripeError:
    return StripeError(400, f"Missing required param: {param}.", code="parameter_missing",
                       param=param)


def no_such(resource: str, object_id: str, param: str) -> StripeError:
    return StripeError(404, f"No such {resource}: '{object_id}'", code="resource_missing",
                       param=param)


def decode_form(body: str) -> Obj:
    """``a[b][0]=x`` pairs -> ``{"a": {"b": ["x"]}}``; dicts keyed 0..n become lists."""
    root: Obj = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        head = key.split("[", 1)[0]
        path = [head, *_KEY_PART.findall(key[len(head):])]
        node = root
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise StripeError(400, f"Invalid object: {key}", param=key)
        node[path[-1] or str(len(node))] = value
    decoded: Obj = _lists(root)
    return decoded


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    items = {k: _lists(v) for k, v in node.items()}
    if items and all(k.isdigit() for k in items):
        return [items[k] for k in sorted(items, key=int)]
    return items


def check_known(params: Obj, allowed: set[str], prefix: str = "") -> None:
    """Stripe refuses parameters it does not know; so does the fake (a typo fails loudly)."""
    for name in params:
        if name not in allowed:
            shown = f"{prefix}[{name}]" if prefix else name
            raise StripeError(400, f"Received unknown parameter: {shown}",
                              code="parameter_unknown", param=shown)


def integer(params: Obj, name: str, shown: str | None = None) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    shown = shown or name
    try:
        return int(str(value))
    except ValueError:
        raise StripeError(400, f"Invalid integer: {value}", code="parameter_invalid_integer",
                          param=shown) from None


def positive(params: Obj, name: str, shown: str | None = None) -> int | None:
    value = integer(params, name, shown)
    if value is not None and value <= 0:
        raise StripeError(400, "This value must be greater than or equal to 1.",
                          code="parameter_invalid_integer", param=shown or name)
    return value


def boolean(params: Obj, name: str) -> bool:
    value = params.get(name, "false")
    if str(value) not in ("true", "false"):
        raise StripeError(400, f"Invalid boolean: {value}", param=name)
    return str(value) == "true"


def metadata(params: Obj, name: str = "metadata") -> dict[str, str]:
    value = params.get(name) or {}
    if not isinstance(value, dict):
        raise StripeError(400, "Invalid object", param=name)
    if len(value) > 50:
        raise StripeError(400, "Metadata may have at most 50 keys", param=name)
    return {str(k): str(v) for k, v in value.items() if v != ""}


def expand_paths(params: Obj) -> list[str]:
    value = params.get("expand") or []
    return [str(v) for v in (value if isinstance(value, list) else [value])]
