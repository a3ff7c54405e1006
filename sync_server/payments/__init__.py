"""Card payments through Stripe Connect (issue 14): onboarding, Checkout Sessions, webhooks.

``init_app`` is this domain's registration, called from ``create_app``: it reads the ``STRIPE_*``
settings and connects the receivers (publishing a paid event, a placed card order, refunds).
The jobs worker calls :func:`run_jobs` (split payments timed out, event refund jobs resumed).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flask import Flask
from sqlalchemy.orm import Session

from sync_server import signals
from sync_server.headers import FORM_TARGETS

if TYPE_CHECKING:
    from sync_server.jobs.registry import JobContext


def _on_publishing(event: Any, *, session: Session, **_: Any) -> None:
    from sync_server.payments.onboarding import check_publishable

    check_publishable(session, event)


def _on_card_order(order: Any, *, session: Session, **_: Any) -> str:
    from sync_server.payments.checkout import start_card_payment

    return start_card_payment(session, order)


def init_app(app: Flask, environ: Mapping[str, str] = os.environ) -> None:
    from sync_server.jobs.registry import Job, register_job
    from sync_server.orders.models import PaymentMethod
    from sync_server.orders.refunds import register_refund_handler
    from sync_server.payments.refund_jobs import refund_hook
    from sync_server.payments.settings import PaymentSettings
    from sync_server.payments.split_mail import register as register_split_mail

    found = PaymentSettings.from_env(environ)
    app.extensions["payments"] = found
    if found.configured:  # the buy form's answer redirects to Stripe's hosted payment page
        app.extensions.setdefault(FORM_TARGETS, set()).add(found.checkout_origin)
    signals.event_publishing.connect(_on_publishing, weak=False)
    signals.card_order_placed.connect(_on_card_order, weak=False)
    register_refund_handler(PaymentMethod.STRIPE, refund_hook)
    register_split_mail()  # how the outbox renders a payer's link and a cancelled split
    register_job(Job("payments", 60, _payments_job))  # `sync-server jobs` runs run_jobs


def _payments_job(ctx: JobContext) -> dict[str, int]:
    with ctx.app.app_context(), ctx.factory() as session:
        return run_jobs(session)


def run_jobs(session: Session, now: Any = None) -> dict[str, int]:
    """One pass of this domain's background work (the jobs worker, ``sync-server payments
    run-jobs``): split payments past their deadline timed out, event refund jobs resumed.
    Needs the app context (settings). Commits."""
    from sync_server.payments.refund_jobs import resume_refund_jobs
    from sync_server.payments.splits import timeout_split_payments

    timed = timeout_split_payments(session, now)
    jobs = resume_refund_jobs(session, now=now)
    return {"splits_timed_out": timed.timed_out, "shares_refunded": timed.refunded,
            "split_errors": timed.errors, "orders_refunded": jobs.refunded,
            "orders_refund_failed": jobs.failed, "refund_errors": jobs.errors,
            "refund_jobs_done": jobs.jobs_done}
