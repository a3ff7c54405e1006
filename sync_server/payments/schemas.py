"""Request bodies, queries and documented answers of the payments routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from sync_server.schemas import Body, Email, Id, Name200, Out, Query, Reason


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


class ShareIn(Body):
    payer_name: Name200
    payer_email: Email
    amount_cents: Annotated[int, Field(ge=1, le=100_000_000)]


class SplitBody(Body):
    order_id: Id
    shares: Annotated[list[ShareIn], Field(min_length=1, max_length=50)]


class SplitQuery(Query):
    order_id: Id


class ShareOut(Out):
    id: int
    payer_name: str
    amount_cents: int
    status: str
    paid_at: datetime | None = None
    payer_email: str | None = None
    pay_url: str | None = None  # the payer's link (shown to the buyer who split the order)


class SplitOut(Out):
    id: int
    order_id: int
    status: str
    deadline: datetime
    currency: str
    shares: list[ShareOut]


class SplitEnvelopeOut(Out):
    split: SplitOut


class SharePageOut(Out):
    share: ShareOut
    order_number: str
    event_name: str
    order_total_cents: int
    split_status: str
    deadline: datetime
    currency: str
    pay_url: str | None = None


class RefundLineOut(Out):
    order_id: int
    order_number: str
    status: str
    amount_cents: int
    attempts: int
    error: str | None = None


class RefundJobOut(Out):
    event_id: int
    status: str
    total: int
    refunded: int
    failed: int
    pending: int
    last_error: str | None = None
    started_at: datetime
    finished_at: datetime | None = None
    refunded_cents: int
    orders: list[RefundLineOut]


class RefundProgressOut(Out):
    job: RefundJobOut | None
