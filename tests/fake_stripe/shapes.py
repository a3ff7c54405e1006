"""Stripe objects shaped from Stripe's published fixtures, with the fields our flows read set right.

``stripe_fixtures.json`` is an extract of Stripe's ``fixtures3.json`` (the openapi repository's
example object per resource; the copy at ``/work/shared/fixtures/stripe/fixtures3.json``): the
twelve resources this fake serves, unchanged. Every object the fake returns starts as a deep copy
of its resource's example, so fields we never model still have the right names and types; the
fields a flow depends on are then overwritten. Example values that would mislead (shipping costs,
currency conversion, a "standard" account type) are reset to what a plain card payment has.
"""

from __future__ import annotations

import copy
import json
import secrets
from functools import cache
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).with_name("stripe_fixtures.json")
API_VERSION = "2026-10-28.endive"  # the version stripe-python 16.1.0 pins; events carry it

Obj = dict[str, Any]


@cache
def _examples() -> dict[str, Obj]:
    examples: dict[str, Obj] = json.loads(FIXTURES.read_text())
    return examples


def example(resource: str) -> Obj:
    """A deep copy of Stripe's example object for ``resource`` (e.g. ``"checkout.session"``)."""
    return copy.deepcopy(_examples()[resource])


def new_id(prefix: str) -> str:
    """An id the way Stripe spells them: prefix, underscore, 24 letters and digits."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return f"{prefix}_" + "".join(secrets.choice(alphabet) for _ in range(24))


def empty_list(url: str) -> Obj:
    return {"object": "list", "data": [], "has_more": False, "url": url}


def account(now: int, params: Obj) -> Obj:
    obj = example("account")
    acct_id = new_id("acct")
    requested = params.get("capabilities") or {}
    obj.update(
        id=acct_id,
        created=now,
        type=params.get("type", "express"),
        country=params.get("country", "US"),
        email=params.get("email"),
        business_type=params.get("business_type"),
        metadata=dict(params.get("metadata") or {}),
        charges_enabled=False,
        payouts_enabled=False,
        details_submitted=False,
        capabilities={name: "inactive" for name in requested},
        controller={"type": "application", "is_controller": True},
    )
    obj["external_accounts"]["url"] = f"/v1/accounts/{acct_id}/external_accounts"
    obj["business_profile"].update(params.get("business_profile") or {})
    obj["requirements"]["disabled_reason"] = "requirements.past_due"
    return obj


def account_link(now: int, url: str) -> Obj:
    obj = example("account_link")
    obj.update(created=now, expires_at=now + 300, url=url)
    return obj


def checkout_session(now: int, session_id: str, fields: Obj) -> Obj:
    obj = example("checkout.session")
    obj.update(
        id=session_id,
        created=now,
        after_expiration=None,
        adaptive_pricing={"enabled": False},
        collected_information=None,
        currency_conversion=None,
        custom_text={
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        customer_details=None,
        invoice_creation={"enabled": False, "invoice_data": example("checkout.session")[
            "invoice_creation"]["invoice_data"]},
        payment_intent=None,
        payment_method_configuration_details=None,
        payment_status="unpaid",
        shipping_address_collection=None,
        shipping_cost=None,
        status="open",
        total_details={"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
    )
    obj.update(fields)
    return obj


def payment_intent(now: int, fields: Obj) -> Obj:
    obj = example("payment_intent")
    pi_id = new_id("pi")
    obj.update(
        id=pi_id,
        created=now,
        amount_details={"tip": {}},
        automatic_payment_methods=None,
        canceled_at=None,
        client_secret=f"{pi_id}_secret_{secrets.token_hex(12)}",
        last_payment_error=None,
        next_action=None,
        payment_method_configuration_details=None,
        processing=None,
        shipping=None,
        transfer_group=f"group_{pi_id}",
    )
    obj.update(fields)
    return obj


def charge(now: int, base_url: str, fields: Obj) -> Obj:
    obj = example("charge")
    ch_id = new_id("ch")
    obj.update(
        id=ch_id,
        created=now,
        description=None,
        balance_transaction=new_id("txn"),
        payment_method=new_id("pm"),
        receipt_url=f"{base_url}/receipts/{ch_id}",
        refunds=empty_list(f"/v1/charges/{ch_id}/refunds"),
        source=None,
        shipping=None,
    )
    obj["billing_details"]["name"] = None
    obj.update(fields)
    return obj


def approved_outcome() -> Obj:
    return {
        "advice_code": None, "network_advice_code": None, "network_decline_code": None,
        "network_status": "approved_by_network", "reason": None, "risk_level": "normal",
        "seller_message": "Payment complete.", "type": "authorized",
    }


def declined_outcome() -> Obj:
    return {
        "advice_code": "try_again_later", "network_advice_code": None,
        "network_decline_code": None, "network_status": "declined_by_network",
        "reason": "generic_decline", "risk_level": "normal",
        "seller_message": "The bank did not return any further details with this decline.",
        "type": "issuer_declined",
    }


def transfer(now: int, fields: Obj) -> Obj:
    obj = example("transfer")
    tr_id = new_id("tr")
    obj.update(id=tr_id, created=now, balance_transaction=new_id("txn"),
               destination_payment=new_id("py"),
               reversals=empty_list(f"/v1/transfers/{tr_id}/reversals"))
    obj.update(fields)
    return obj


def application_fee(now: int, fields: Obj) -> Obj:
    obj = example("application_fee")
    fee_id = new_id("fee")
    obj.update(id=fee_id, created=now, application="ca_fakestripeplatform",
               balance_transaction=new_id("txn"),
               refunds=empty_list(f"/v1/application_fees/{fee_id}/refunds"))
    obj.update(fields)
    obj["fee_source"] = {"charge": obj["charge"], "type": "charge"}
    obj["originating_transaction"] = obj["charge"]
    return obj


def money_back(resource: str, now: int, fields: Obj) -> Obj:
    """A ``refund``, ``transfer_reversal`` or ``fee_refund``: money moving back, booked."""
    prefix = {"refund": "re", "transfer_reversal": "trr", "fee_refund": "fr"}[resource]
    obj = example(resource)
    obj.update(id=new_id(prefix), created=now, balance_transaction=new_id("txn"))
    obj.update(fields)
    return obj


def dispute(now: int, fields: Obj) -> Obj:
    obj = example("dispute")
    obj.update(id=new_id("dp"), created=now, reason="fraudulent", status="needs_response",
               is_charge_refundable=False, enhanced_eligibility_types=[])
    obj["evidence_details"]["due_by"] = now + 7 * 86400
    obj["payment_method_details"]["card"]["case_type"] = "chargeback"
    obj.update(fields)
    return obj


def event(now: int, kind: str, data: Obj, account_id: str | None, request: Obj) -> Obj:
    obj = example("event")
    obj.update(
        id=new_id("evt"), created=now, type=kind, data=data, api_version=API_VERSION,
        pending_webhooks=1, request=request,
    )
    if account_id is not None:
        obj["account"] = account_id  # Connect events name the connected account
    return obj
