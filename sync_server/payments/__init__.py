"""Card payments through Stripe Connect (issue 14): onboarding, Checkout Sessions, webhooks.

``init_app`` is this domain's registration, called from ``create_app``: it reads the ``STRIPE_*``
settings and connects the receivers (publishing a paid event, a placed card order, refunds).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from sync_server import signals


def _on_publishing(event: Any, *, session: Session, **_: Any) -> None:
    from sync_server.payments.onboarding import check_publishable

    check_publishable(session, event)


def _on_card_order(order: Any, *, session: Session, **_: Any) -> str:
    from sync_server.payments.checkout import start_card_payment

    return start_card_payment(session, order)


def init_app(app: Flask, environ: Mapping[str, str] = os.environ) -> None:
    from sync_server.orders.models import PaymentMethod
    from sync_server.orders.refunds import register_refund_handler
    from sync_server.payments.refunds import refund_card_order
    from sync_server.payments.settings import PaymentSettings

    app.extensions["payments"] = PaymentSettings.from_env(environ)
    signals.event_publishing.connect(_on_publishing, weak=False)
    signals.card_order_placed.connect(_on_card_order, weak=False)
    register_refund_handler(PaymentMethod.STRIPE, refund_card_order)
