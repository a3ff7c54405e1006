"""Request bodies and queries of the box-office API (see docs/box-office.md)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from sync_server.box_office.models import SaleStatus
from sync_server.schemas import (
    SINGLE_LINE,
    Body,
    Cents,
    Email,
    Id,
    Query,
    Reason,
    Text200,
    UtcDatetime,
)

Uuid = Annotated[str, StringConstraints(
    strip_whitespace=True, to_lower=True, min_length=8, max_length=36,
    pattern=r"^[0-9A-Za-z-]+$")]
SellerCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{4}$")]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40), SINGLE_LINE]
MAX_OFFLINE_SALES = 200
MAX_LINE_QUANTITY = 100


class DeskItem(Body):
    ticket_type_id: Id
    quantity: Annotated[int, Field(ge=1, le=MAX_LINE_QUANTITY)]


Items = Annotated[list[DeskItem], Field(min_length=1, max_length=20)]


class DeskSignInBody(Body):
    code: SellerCode
    email: Email | None = None
    seller_id: Id | None = None


class BoxSellerQuery(Query):
    seller_id: Id | None = None


class BoxSalesQuery(Query):
    seller_id: Id | None = None
    status: SaleStatus | None = None


class BoxHoldBody(Body):
    client_sale_id: Uuid
    items: Items
    seller_id: Id | None = None
    buyer_name: Text200 = ""
    buyer_email: Email | None = None
    buyer_phone: Phone | None = None


class BoxConfirmBody(Body):
    code: SellerCode
    seller_id: Id | None = None


class BoxRefundBody(Body):
    reason: Reason
    code: SellerCode | None = None  # required when a device asks (the seller's code)


class BoxStockBody(Body):
    code: SellerCode
    client_batch_id: Uuid
    items: Items
    seller_id: Id | None = None


class BoxOfflineSaleBody(Body):
    client_sale_id: Uuid
    seller_id: Id
    sold_at: UtcDatetime
    ticket_ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_LINE_QUANTITY)]
    total_cents: Cents
    buyer_name: Text200 = ""
    buyer_email: Email | None = None
    buyer_phone: Phone | None = None


class BoxOfflineSalesBody(Body):
    sales: Annotated[list[BoxOfflineSaleBody], Field(min_length=1, max_length=MAX_OFFLINE_SALES)]


class BoxReturnBody(Body):
    seller_id: Id | None = None
    ticket_ids: Annotated[list[Id], Field(max_length=500)] | None = None


class BoxRevokeStockBody(Body):
    device_id: Id | None = None
    seller_id: Id | None = None
