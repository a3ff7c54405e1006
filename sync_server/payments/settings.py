"""Card-payment settings from the environment (``STRIPE_*``), and the Stripe client."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import stripe
from flask import current_app, has_app_context

from sync_server.errors import ApiError

NOT_CONFIGURED = "payments_not_configured"


@dataclass(frozen=True)
class PaymentSettings:
    secret_key: str | None = None
    webhook_secret: str | None = None
    api_base: str | None = None  # the local fake Stripe in tests and the demo
    currency: str = "usd"
    network_retries: int = 2
    webhook_tolerance: int = 300  # seconds, Stripe's own default

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> PaymentSettings:
        return cls(secret_key=environ.get("STRIPE_SECRET_KEY") or None,
                   webhook_secret=environ.get("STRIPE_WEBHOOK_SECRET") or None,
                   api_base=environ.get("STRIPE_API_BASE") or None,
                   currency=(environ.get("STRIPE_CURRENCY") or "usd").lower())

    @property
    def checkout_origin(self) -> str:
        """Where Stripe's hosted payment pages live (the API base for the local fake)."""
        if self.api_base is None:
            return "https://checkout.stripe.com"
        parts = urlsplit(self.api_base)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def configured(self) -> bool:
        return self.secret_key is not None


def settings() -> PaymentSettings:
    if not has_app_context():  # services called outside a request (scripts, tests' set-ups)
        return PaymentSettings()
    found = current_app.extensions.get("payments")
    return found if isinstance(found, PaymentSettings) else PaymentSettings()


def not_configured() -> ApiError:
    return ApiError(503, NOT_CONFIGURED,
                    "card payments are not configured on this server (STRIPE_SECRET_KEY is "
                    "not set): paid tickets cannot be bought by card")


def client(found: PaymentSettings | None = None) -> stripe.StripeClient:
    """The real stripe library (its retries reuse our idempotency keys); 503 if unconfigured."""
    found = found or settings()
    if found.secret_key is None:
        raise not_configured()
    bases: dict[str, str] = {"api": found.api_base} if found.api_base else {}
    return stripe.StripeClient(found.secret_key, base_addresses=bases,  # type: ignore[arg-type]
                               max_network_retries=found.network_retries)
