"""Refunds (whole and partial, with transfer reversal and fee refund), disputes, and the ledger.

Stripe's arithmetic for a destination charge refunded in part: ``reverse_transfer`` reverses the
transfer in proportion (refund / charge x transferred), ``refund_application_fee`` refunds the
fee in the same proportion; a whole refund returns the rest exactly, so the parts always add up.
"""

from __future__ import annotations

from typing import Any

from tests.fake_stripe import shapes
from tests.fake_stripe.checkout import format_amount
from tests.fake_stripe.params import StripeError, boolean, check_known, metadata, positive
from tests.fake_stripe.store import Store

Obj = dict[str, Any]
REFUND_PARAMS = {"charge", "payment_intent", "amount", "reason", "metadata",
                 "reverse_transfer", "refund_application_fee", "expand", "instructions_email"}
REASONS = {"duplicate", "fraudulent", "requested_by_customer"}


def _charge_for(store: Store, params: Obj) -> Obj:
    if params.get("charge"):
        charge = store.get(params["charge"], "charge")
        if charge.get("object") != "charge":
            raise StripeError(404, f"No such charge: '{params['charge']}'",
                              code="resource_missing", param="charge")
        return charge
    if params.get("payment_intent"):
        intent = store.get(params["payment_intent"], "payment_intent")
        if intent["status"] != "succeeded":
            raise StripeError(
                400, "This PaymentIntent does not have a successful charge to refund.",
                code="charge_not_refundable", param="payment_intent")
        return store.objects[intent["latest_charge"]]
    raise StripeError(400, "One of the following params should be provided for this request: "
                      "payment_intent or charge.", code="parameter_missing")


def _share(part: int, whole: int, of: int) -> int:
    return (part * of + whole // 2) // whole  # round half up, in integers


def create_refund(store: Store, params: Obj) -> Obj:
    check_known(params, REFUND_PARAMS)
    charge = _charge_for(store, params)
    if charge["status"] != "succeeded":
        raise StripeError(400, f"Charge {charge['id']} has not succeeded; it cannot be "
                          "refunded.", code="charge_not_refundable")
    if charge["disputed"]:
        raise StripeError(400, f"Charge {charge['id']} has been charged back; cannot issue a "
                          "refund.", code="charge_disputed")
    left = charge["amount"] - charge["amount_refunded"]
    if left == 0:
        raise StripeError(400, f"Charge {charge['id']} has already been refunded.",
                          code="charge_already_refunded")
    amount = positive(params, "amount")
    amount = left if amount is None else amount
    if amount > left:
        currency = charge["currency"]
        raise StripeError(
            400, f"Refund amount ({format_amount(amount, currency)}) is greater than unrefunded "
            f"amount on charge ({format_amount(left, currency)})", code="amount_too_large",
            param="amount")
    reason = params.get("reason")
    if reason is not None and reason not in REASONS:
        raise StripeError(400, "Invalid reason: must be one of duplicate, fraudulent, or "
                          "requested_by_customer", param="reason")
    whole = amount == left
    now = store.now()
    refund = shapes.money_back("refund", now, {
        "amount": amount, "charge": charge["id"], "currency": charge["currency"],
        "payment_intent": charge["payment_intent"], "metadata": metadata(params),
        "reason": reason, "status": "succeeded", "transfer_reversal": None,
        "payment_method": charge["payment_method"],
    })
    if boolean(params, "reverse_transfer"):
        refund["transfer_reversal"] = _reverse_transfer(store, charge, refund, whole)["id"]
    if boolean(params, "refund_application_fee"):
        _refund_fee(store, charge, amount, whole)
    store.add(refund)
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount"]
    charge["refunds"]["data"].insert(0, refund)
    store.emit("refund.created", refund)
    store.emit("charge.refunded", charge)
    return refund


def _reverse_transfer(store: Store, charge: Obj, refund: Obj, whole: bool) -> Obj:
    if not charge.get("transfer"):
        raise StripeError(400, "reverse_transfer can only be used on charges with a transfer "
                          "(destination charges).", param="reverse_transfer")
    transfer = store.objects[charge["transfer"]]
    left = transfer["amount"] - transfer["amount_reversed"]
    amount = left if whole else min(left, _share(refund["amount"], charge["amount"],
                                                 transfer["amount"]))
    reversal = shapes.money_back("transfer_reversal", store.now(), {
        "amount": amount, "currency": transfer["currency"], "transfer": transfer["id"],
        "source_refund": refund["id"], "metadata": {},
    })
    transfer["amount_reversed"] += amount
    transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
    transfer["reversals"]["data"].insert(0, reversal)
    return reversal


def _refund_fee(store: Store, charge: Obj, amount: int, whole: bool) -> None:
    if not charge.get("application_fee"):
        return  # Stripe ignores the flag on a charge without a fee
    fee = store.objects[charge["application_fee"]]
    left = fee["amount"] - fee["amount_refunded"]
    part = left if whole else min(left, _share(amount, charge["amount"], fee["amount"]))
    fee_refund = shapes.money_back("fee_refund", store.now(), {
        "amount": part, "currency": fee["currency"], "fee": fee["id"]})
    fee["amount_refunded"] += part
    fee["refunded"] = fee["amount_refunded"] == fee["amount"]
    fee["refunds"]["data"].insert(0, fee_refund)


def create_dispute(store: Store, charge_or_intent: str) -> Obj:
    """The buyer's bank disputes a payment: ``charge.dispute.created``."""
    target = store.get(charge_or_intent)
    if target["object"] == "payment_intent":
        target = store.get(target["latest_charge"] or "ch_missing")
    if target["object"] != "charge" or target["status"] != "succeeded":
        raise StripeError(400, "Only a succeeded charge can be disputed.", param="charge")
    dispute = store.add(shapes.dispute(store.now(), {
        "amount": target["amount"] - target["amount_refunded"], "charge": target["id"],
        "currency": target["currency"], "payment_intent": target["payment_intent"],
        "metadata": {},
    }))
    target["disputed"] = True
    store.emit("charge.dispute.created", dispute)
    return dispute


def ledger(store: Store) -> Obj:
    """What was charged, refunded, transferred and kept as fees: the money, per charge."""
    charges = []
    for obj in store.objects.values():
        if obj.get("object") != "charge" or obj["status"] != "succeeded":
            continue
        transfer = store.objects.get(obj.get("transfer") or "", {})
        fee = store.objects.get(obj.get("application_fee") or "", {})
        charges.append({
            "charge": obj["id"], "payment_intent": obj["payment_intent"],
            "currency": obj["currency"], "amount": obj["amount"],
            "amount_refunded": obj["amount_refunded"], "refunds": len(obj["refunds"]["data"]),
            "destination": transfer.get("destination"),
            "transferred": transfer.get("amount", 0),
            "transfer_reversed": transfer.get("amount_reversed", 0),
            "application_fee": fee.get("amount", 0),
            "application_fee_refunded": fee.get("amount_refunded", 0),
            "disputed": obj["disputed"],
        })
    return {
        "charges": charges,
        "charged": sum(c["amount"] for c in charges),
        "refunded": sum(c["amount_refunded"] for c in charges),
    }
