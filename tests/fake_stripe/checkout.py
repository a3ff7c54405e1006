"""Hosted Checkout Sessions in payment mode, as destination charges with a platform fee.

What Stripe does and this copies: the session has no PaymentIntent until the buyer first tries to
pay (API versions since 2022-08-01); the session's ``metadata`` stays on the session (the
PaymentIntent gets ``payment_intent_data.metadata`` only); a declined card leaves the session open
for another try; ``expires_at`` must lie 30 minutes to 24 hours ahead; a destination must be a
connected account whose ``transfers`` capability is active; with ``application_fee_amount`` the
whole amount is transferred to the destination and the fee is collected back from it.
"""

from __future__ import annotations

from typing import Any

from tests.fake_stripe import shapes
from tests.fake_stripe.params import (
    StripeError,
    check_known,
    integer,
    metadata,
    missing,
    no_such,
    positive,
)
from tests.fake_stripe.store import Store

Obj = dict[str, Any]
SESSION_PARAMS = {
    "line_items", "mode", "success_url", "cancel_url", "expires_at", "metadata",
    "payment_intent_data", "client_reference_id", "customer_email", "currency", "locale",
    "payment_method_types", "submit_type", "expand", "ui_mode",
}
PAYMENT_INTENT_DATA = {"application_fee_amount", "transfer_data", "metadata", "description",
                       "on_behalf_of", "transfer_group", "statement_descriptor_suffix",
                       "receipt_email"}
# Stripe's minimum charge per currency, in the currency's smallest unit (docs: "Minimum and
# maximum charge amounts"); others default to 50.
MINIMUM_CHARGE = {"usd": 50, "eur": 50, "gbp": 30, "cad": 50, "aud": 50, "chf": 50,
                  "jpy": 50, "mxn": 1000, "dkk": 250, "sek": 300, "nok": 300}
ZERO_DECIMAL = {"jpy", "krw", "vnd", "clp", "isk", "ugx", "xaf", "xof"}


def format_amount(amount: int, currency: str) -> str:
    symbol = {"usd": "$", "eur": "€", "gbp": "£", "cad": "$", "aud": "$"}.get(currency, "")
    if currency in ZERO_DECIMAL:
        return f"{symbol}{amount} {currency}"
    return f"{symbol}{amount / 100:.2f} {currency}"


def _line_items(params: Obj) -> tuple[list[Obj], int, str]:
    items = params.get("line_items")
    if not items:
        raise missing("line_items")
    if not isinstance(items, list):
        raise StripeError(400, "Invalid array", param="line_items")
    lines, total, currency = [], 0, None
    for n, item in enumerate(items):
        where = f"line_items[{n}]"
        check_known(item, {"price_data", "quantity", "price"}, where)
        if "price" in item:
            raise no_such("price", item["price"], f"{where}[price]")
        data = item.get("price_data")
        if not data:
            raise missing(f"{where}[price_data]")
        check_known(data, {"currency", "unit_amount", "product_data", "product",
                           "tax_behavior", "unit_amount_decimal"}, f"{where}[price_data]")
        if not data.get("currency"):
            raise missing(f"{where}[price_data][currency]")
        unit = integer(data, "unit_amount", f"{where}[price_data][unit_amount]")
        if unit is None or unit < 0:
            raise missing(f"{where}[price_data][unit_amount]")
        quantity = positive(item, "quantity", f"{where}[quantity]")
        if quantity is None:
            raise missing(f"{where}[quantity]")
        name = (data.get("product_data") or {}).get("name")
        if not name and not data.get("product"):
            raise missing(f"{where}[price_data][product_data][name]")
        line_currency = data["currency"].lower()
        if currency not in (None, line_currency):
            raise StripeError(400, "All line items must share the same currency.",
                              param=f"{where}[price_data][currency]")
        currency = line_currency
        total += unit * quantity
        lines.append({
            "id": shapes.new_id("li"), "object": "item", "amount_subtotal": unit * quantity,
            "amount_total": unit * quantity, "amount_discount": 0, "amount_tax": 0,
            "currency": line_currency, "description": name, "quantity": quantity,
            "price": {"object": "price", "id": shapes.new_id("price"), "unit_amount": unit,
                      "currency": line_currency, "type": "one_time", "active": False,
                      "product": data.get("product") or shapes.new_id("prod")},
        })
    assert currency is not None
    return lines, total, currency


def _payment_intent_data(store: Store, params: Obj, total: int) -> Obj:
    data = params.get("payment_intent_data") or {}
    check_known(data, PAYMENT_INTENT_DATA, "payment_intent_data")
    fee = integer(data, "application_fee_amount", "payment_intent_data[application_fee_amount]")
    destination = (data.get("transfer_data") or {}).get("destination")
    if fee is not None and (fee < 0 or fee > total):
        raise StripeError(400, "The application fee amount must be a non-negative integer no "
                          "greater than the total amount.",
                          param="payment_intent_data[application_fee_amount]")
    if destination is not None:
        account = store.objects.get(destination)
        param = "payment_intent_data[transfer_data][destination]"
        if account is None or account.get("object") != "account":
            raise no_such("destination", destination, param)
        if account["capabilities"].get("transfers") != "active":
            raise StripeError(
                400,
                "Your destination account needs to have at least one of the following "
                "capabilities enabled: transfers, crypto_transfers, legacy_payments",
                code="insufficient_capabilities_for_transfer", param=param,
            )
    return {"fee": fee, "destination": destination,
            "metadata": metadata(data, "metadata"), "description": data.get("description")}


def create_session(store: Store, params: Obj) -> Obj:
    check_known(params, SESSION_PARAMS)
    if not params.get("mode"):
        raise missing("mode")
    if params["mode"] != "payment":
        raise StripeError(400, "fake-stripe serves mode=payment only", param="mode")
    lines, total, currency = _line_items(params)
    minimum = MINIMUM_CHARGE.get(currency, 50)
    if total < minimum:
        raise StripeError(
            400, "The Checkout Session's total amount due must add up to at least "
            f"{format_amount(minimum, currency)}", code="amount_too_small",
        )
    now = store.now()
    expires_at = integer(params, "expires_at")
    if expires_at is None:
        expires_at = now + 24 * 3600
    elif expires_at < now + 30 * 60:
        raise StripeError(400, "The `expires_at` timestamp must be at least 30 minutes from "
                          "Checkout Session creation.", param="expires_at")
    elif expires_at > now + 24 * 3600:
        raise StripeError(400, "The `expires_at` timestamp must be less than 24 hours from "
                          "Checkout Session creation.", param="expires_at")
    intent_data = _payment_intent_data(store, params, total)
    session_id = "cs_test_" + shapes.new_id("x")[2:] + shapes.new_id("x")[2:]
    session = shapes.checkout_session(now, session_id, {
        "amount_subtotal": total, "amount_total": total, "currency": currency,
        "expires_at": expires_at, "metadata": metadata(params), "mode": "payment",
        "success_url": params.get("success_url"), "cancel_url": params.get("cancel_url"),
        "client_reference_id": params.get("client_reference_id"),
        "customer_email": params.get("customer_email"), "locale": params.get("locale"),
        "url": f"{store.base_url}/c/pay/{session_id}",
    })
    store.add(session)
    store.private[session_id].update(line_items=lines, intent=intent_data)
    return session


def _intent(store: Store, session: Obj) -> Obj:
    if session["payment_intent"]:
        return store.objects[session["payment_intent"]]
    data = store.private[session["id"]]["intent"]
    destination = data["destination"]
    intent = store.add(shapes.payment_intent(store.now(), {
        "amount": session["amount_total"], "currency": session["currency"],
        "application_fee_amount": data["fee"], "metadata": dict(data["metadata"]),
        "description": data["description"], "status": "requires_payment_method",
        "transfer_data": {"destination": destination} if destination else None,
    }))
    session["payment_intent"] = intent["id"]
    return intent


def payable_session(store: Store, session_id: str) -> Obj:
    """The session if it can still be paid; expires it first if its time has passed."""
    session = store.get(session_id, "session")
    if session["status"] == "open" and session["expires_at"] <= store.now():
        expire_session(store, session_id)
    if session["status"] != "open":
        raise StripeError(400, f"This Checkout Session is {session['status']}.",
                          code="checkout_session_unavailable")
    return session


def pay(store: Store, session_id: str, email: str = "buyer@example.com") -> Obj:
    """The buyer's card is accepted: charge, fee, transfer; three events, as Stripe sends them."""
    session = payable_session(store, session_id)
    intent = _intent(store, session)
    now, amount = store.now(), session["amount_total"]
    destination = (intent["transfer_data"] or {}).get("destination")
    charge = shapes.charge(now, store.base_url, {
        "amount": amount, "amount_captured": amount, "captured": True, "paid": True,
        "status": "succeeded", "currency": intent["currency"], "payment_intent": intent["id"],
        "metadata": dict(intent["metadata"]), "outcome": shapes.approved_outcome(),
        "application_fee_amount": intent["application_fee_amount"],
        "transfer_data": {"amount": None, "destination": destination} if destination else None,
        "transfer_group": intent["transfer_group"], "transfer": None,
    })
    charge["billing_details"]["email"] = email
    store.add(charge)
    if destination:
        transfer = store.add(shapes.transfer(now, {
            "amount": amount, "currency": charge["currency"], "destination": destination,
            "source_transaction": charge["id"], "transfer_group": intent["transfer_group"],
        }))
        charge["transfer"] = transfer["id"]
    if intent["application_fee_amount"] is not None:
        fee = store.add(shapes.application_fee(now, {
            "account": destination, "amount": intent["application_fee_amount"],
            "charge": charge["id"], "currency": charge["currency"],
        }))
        charge["application_fee"] = fee["id"]
    intent.update(status="succeeded", amount_received=amount, latest_charge=charge["id"],
                  last_payment_error=None, payment_method=charge["payment_method"])
    session.update(status="complete", payment_status="paid", url=None, customer_details={
        "address": None, "email": email, "name": None, "phone": None, "tax_exempt": "none",
        "tax_ids": [], "business_name": None, "individual_name": None,
    })
    store.emit("charge.succeeded", charge)
    store.emit("payment_intent.succeeded", intent)
    store.emit("checkout.session.completed", session)
    return session


def decline(store: Store, session_id: str, email: str = "buyer@example.com") -> Obj:
    """The card is declined: a failed charge, ``payment_intent.payment_failed``; still open."""
    session = payable_session(store, session_id)
    intent = _intent(store, session)
    message = "Your card was declined."
    charge = store.add(shapes.charge(store.now(), store.base_url, {
        "amount": intent["amount"], "amount_captured": 0, "captured": False, "paid": False,
        "status": "failed", "currency": intent["currency"], "payment_intent": intent["id"],
        "failure_code": "card_declined", "failure_message": message,
        "outcome": shapes.declined_outcome(), "metadata": dict(intent["metadata"]),
        "transfer_data": None, "application_fee_amount": None,
    }))
    charge["billing_details"]["email"] = email
    intent.update(status="requires_payment_method", latest_charge=charge["id"],
                  last_payment_error={
                      "type": "card_error", "code": "card_declined",
                      "decline_code": "generic_decline", "message": message,
                      "charge": charge["id"], "doc_url":
                      "https://stripe.com/docs/error-codes/card-declined",
                  })
    store.emit("charge.failed", charge)
    store.emit("payment_intent.payment_failed", intent)
    return session


def expire_session(store: Store, session_id: str) -> Obj:
    session = store.get(session_id, "session")
    if session["status"] != "open":
        raise StripeError(
            400, f"Only Checkout Sessions with a status in [\"open\"] can be expired. This "
            f"Checkout Session has a status of \"{session['status']}\".", param="session",
        )
    session.update(status="expired", url=None)
    if session["payment_intent"]:  # a declined attempt left an intent: Stripe cancels it
        intent = store.objects[session["payment_intent"]]
        intent.update(status="canceled", canceled_at=store.now(), cancellation_reason="abandoned")
        store.emit("payment_intent.canceled", intent)
    store.emit("checkout.session.expired", session)
    return session


def sweep_expired(store: Store) -> list[str]:
    """Expire every open session whose ``expires_at`` has passed (Stripe does this itself)."""
    due = [o["id"] for o in list(store.objects.values())
           if o.get("object") == "checkout.session" and o["status"] == "open"
           and o["expires_at"] <= store.now()]
    for session_id in due:
        expire_session(store, session_id)
    return due


def line_items(store: Store, session_id: str) -> Obj:
    store.get(session_id, "session")
    data = store.private[session_id]["line_items"]
    return {"object": "list", "data": data, "has_more": False,
            "url": f"/v1/checkout/sessions/{session_id}/line_items"}
