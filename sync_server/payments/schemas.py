"""Request bodies, queries and documented answers of the payments routes."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from sync_server.schemas import Body, Id, Out, Query


class LinkQuery(Query):
    token: Annotated[str, StringConstraints(min_length=20, max_length=64,
                                            pattern=r"^[A-Za-z0-9_-]+$")]


class PayOrderBody(Body):
    order_id: Id


class AccountOut(Out):
    connected: bool
    charges_enabled: bool
    details_submitted: bool
    stripe_account_id: str | None = None


class AccountEnvelopeOut(Out):
    account: AccountOut


class OnboardingOut(Out):
    account: AccountOut
    url: str


class PaymentUrlOut(Out):
    order_id: int
    payment_url: str


class WebhookOut(Out):
    received: bool
    duplicate: bool
