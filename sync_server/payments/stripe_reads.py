"""What a Stripe object says and which of our rows it names: a webhook's first phase.

Everything here runs with no database lock held and no transaction open (its reads are
``standalone``), because some of it asks Stripe over the network: a webhook decides what to do
from these, then takes its locks (webhooks.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from sync_server.db import standalone
from sync_server.payments import settings as cfg
from sync_server.payments.models import CardPayment, SplitShare

Obj = dict[str, Any]
T = TypeVar("T")


@dataclass(frozen=True)
class Facts:
    """What Stripe says of one card payment. Each fact only ever becomes true (or larger),
    so facts from events in any order, old or new, can be applied one after another."""

    paid: bool = False
    expired: bool = False
    intent_id: str | None = None
    charge_id: str | None = None
    refunded_cents: int = 0
    disputed: bool = False


def final_facts(event: Obj) -> Facts | None:
    """The facts the event's own object states for good, or None: ask Stripe.

    A session completed and paid, or a PaymentIntent that succeeded, stays paid; a session
    expired unpaid is never paid. How much of a charge was refunded, or whether it is disputed,
    grows after the event was raised: those are read from Stripe (:func:`read_facts`)."""
    obj: Obj = event["data"].get("object") or {}
    kind, intent = event.get("type"), obj.get("payment_intent")
    if kind == "checkout.session.completed" and obj.get("payment_status") == "paid" \
            and isinstance(intent, str):
        return Facts(paid=True, intent_id=intent)
    if kind == "checkout.session.expired" and obj.get("status") == "expired" \
            and obj.get("payment_status") != "paid":
        return Facts(expired=True)
    if kind == "payment_intent.succeeded" and obj.get("status") == "succeeded":
        charge = obj.get("latest_charge")
        return Facts(paid=True, intent_id=str(obj["id"]),
                     charge_id=charge if isinstance(charge, str) else None)
    return None


def read_session(checkout_session_id: str) -> Any:
    """A Checkout Session as Stripe has it now, its PaymentIntent and charge expanded."""
    return cfg.client().v1.checkout.sessions.retrieve(
        checkout_session_id, params={"expand": ["payment_intent.latest_charge"]})


def read_facts(checkout_session_id: str | None) -> Facts:
    """Stripe's word now about the payment of one Checkout Session (a network call)."""
    if checkout_session_id is None:
        return Facts()
    checkout = read_session(checkout_session_id)
    if checkout.payment_status != "paid":
        return Facts(expired=checkout.status == "expired")
    intent: Any = checkout.payment_intent
    charge: Any = intent["latest_charge"] if intent is not None else None
    return Facts(paid=True, intent_id=intent["id"] if intent is not None else None,
                 charge_id=charge["id"] if charge is not None else None,
                 refunded_cents=int(charge["amount_refunded"]) if charge is not None else 0,
                 disputed=bool(charge["disputed"]) if charge is not None else False)


def _one(session: Session, query: sa.Select[T]) -> T | None:
    return session.scalar(standalone(query))


def _intent_of(obj: Obj) -> str | None:
    intent = obj["id"] if obj.get("object") == "payment_intent" else obj.get("payment_intent")
    return intent if isinstance(intent, str) else None


def payment_for(session: Session, obj: Obj) -> int | None:
    """The id of the card payment an object (session, intent, charge, dispute) is about; an
    intent not known here yet (an early dispute) is read from Stripe, whose copy names the
    order."""
    if obj.get("object") == "checkout.session":
        found = _one(session, sa.select(CardPayment.id)
                     .where(CardPayment.checkout_session_id == str(obj["id"])))
        if found is not None:
            return found
    order_id = str((obj.get("metadata") or {}).get("order_id") or "")
    if order_id.isdigit() and int(order_id) < 2**31:
        return _one(session, sa.select(CardPayment.id)
                    .where(CardPayment.order_id == int(order_id)))
    intent = _intent_of(obj)
    if intent is None:
        return None
    found = _one(session, sa.select(CardPayment.id)
                 .where(CardPayment.payment_intent_id == intent))
    if found is None:
        metadata: Any = cfg.client().v1.payment_intents.retrieve(intent).metadata or {}
        return payment_for(session, {"metadata": {**metadata}}) if metadata else None
    return found


def share_for(session: Session, obj: Obj) -> int | None:
    """The id of the split share an object (session, intent, charge) is about, if any."""
    share_id = str((obj.get("metadata") or {}).get("share_id") or "")
    query = sa.select(SplitShare.id)
    if share_id.isdigit() and int(share_id) < 2**31:
        query = query.where(SplitShare.id == int(share_id))
    elif obj.get("object") == "checkout.session":
        query = query.where(SplitShare.checkout_session_id == str(obj["id"]))
    elif (intent := _intent_of(obj)) is not None:
        query = query.where(SplitShare.payment_intent_id == intent)
    else:
        return None
    return _one(session, query)


def share_session_id(session: Session, share_id: int) -> str | None:
    return _one(session, sa.select(SplitShare.checkout_session_id)
                .where(SplitShare.id == share_id))


def payment_session_id(session: Session, payment_id: int) -> str | None:
    return _one(session, sa.select(CardPayment.checkout_session_id)
                .where(CardPayment.id == payment_id))
