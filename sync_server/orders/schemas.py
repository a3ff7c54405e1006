"""Request bodies and queries of the purchase engine."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from sync_server.orders.models import DiscountType
from sync_server.schemas import (
    SINGLE_LINE,
    Body,
    Cents,
    Email,
    Id,
    Name200,
    PerOrder,
    Query,
    Reason,
    Text20,
    Text500,
    UtcDatetime,
)

CodeText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40,
                                            pattern=r"^[A-Za-z0-9_-]+$")]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40), SINGLE_LINE]
Uses = Annotated[int, Field(ge=1, le=1_000_000)]


class CheckoutItem(Body):
    ticket_type_id: Id | None = None
    bundle_id: Id | None = None
    quantity: PerOrder

    @model_validator(mode="after")
    def _one_of(self) -> CheckoutItem:
        if (self.ticket_type_id is None) == (self.bundle_id is None):
            raise ValueError("give exactly one of ticket_type_id and bundle_id")
        return self


Items = Annotated[list[CheckoutItem], Field(min_length=1, max_length=20)]


class CheckoutBody(Body):
    event_id: Id
    items: Items
    discount_code: CodeText | None = None
    buyer_name: Name200 | None = None  # default: the account's name
    buyer_email: Email | None = None  # default: the account's e-mail
    buyer_phone: Phone | None = None
    payment_method: Literal["STRIPE", "CASH", "SPLIT"] = "STRIPE"


class ComplimentaryBody(Body):
    items: Items
    holder_name: Name200
    holder_email: Email


class OrderRef(Body):
    order_id: Id


class CancelOrderBody(Body):
    order_id: Id
    reason: Reason


class CancelSalesBody(Body):
    reason: Reason


class ResendBody(Body):
    order_id: Id
    to_email: Email | None = None


class OrderList(Query):
    status: Literal["PENDING", "COMPLETED", "FAILED", "REFUNDED", "PARTIAL"] | None = None
    # name or e-mail (a part), order or ticket number (whole): orders.search
    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200),
                 SINGLE_LINE] | None = None
    page: Annotated[int, Field(ge=1, le=100_000)] = 1
    per_page: Annotated[int, Field(ge=1, le=200)] = 50


class DiscountCodeCreate(Body):
    code: CodeText
    discount_type: DiscountType
    value: Annotated[int, Field(ge=1, le=100_000_000_00)]
    valid_from: UtcDatetime
    valid_until: UtcDatetime
    max_uses: Uses | None = None
    max_uses_per_user: Uses | None = None
    ticket_type_ids: Annotated[list[Id], Field(max_length=100, default_factory=list)]
    description: Text500 = ""


class DiscountCodeUpdate(Body):
    discount_type: DiscountType | None = None
    value: Annotated[int, Field(ge=1, le=100_000_000_00)] | None = None
    valid_from: UtcDatetime | None = None
    valid_until: UtcDatetime | None = None
    max_uses: Uses | None = None
    max_uses_per_user: Uses | None = None
    description: Text500 | None = None
    active: bool | None = None


DISCOUNT_CODE_NULLABLE = {"max_uses", "max_uses_per_user"}


class FeesBody(Body):
    percent_bp: Annotated[int, Field(ge=0, le=10_000)]
    fixed_cents: Cents


class TicketRef(Query):
    ticket_id: Id


class TransferBody(Body):
    ticket_id: Id
    to_email: Email
    to_name: Name200
    note: Text20 = ""
