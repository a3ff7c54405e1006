"""Request bodies, queries and documented answers of the payments routes."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from sync_server.schemas import Body, Id, Out, Query, Reason


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


class RefundTicketsBody(Body):
    order_id: Id
    ticket_ids: Annotated[list[Id], Field(min_length=1, max_length=50)]
    reason: Reason


class RefundOut(Out):
    order_id: int
    refunded_cents: int
    payment_status: str
