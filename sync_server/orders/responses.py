"""Response shapes of the purchase engine's API (OpenAPI documentation and contract tests)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from sync_server.schemas import Out


class TicketOut(Out):
    id: int
    event_id: int
    order_id: int
    ticket_number: str
    status: str
    ticket_type_id: int | None
    bundle_id: int | None
    holder_name: str
    holder_email: str
    valid_day_ids: list[int]
    token: str | None  # only for the holder, only while VALID
    transferred_at: str | None
    transferred_to_id: int | None
    cancelled_at: str | None
    created_at: str | None


class OrderItemOut(Out):
    ticket_type_id: int | None
    bundle_id: int | None
    quantity: int
    price_per_item_cents: int
    subtotal_cents: int


class OrderOut(Out):
    id: int
    order_number: str
    event_id: int
    user_id: int | None
    payment_method: str
    payment_status: str
    subtotal_cents: int
    discount_cents: int
    fees_cents: int
    total_cents: int
    discount_code_id: int | None
    buyer_name: str
    buyer_email: str
    completed_at: str | None
    created_at: str | None
    items: list[OrderItemOut]
    hold_expires_at: str | None = None  # a PENDING order's earliest live hold
    tickets: list[TicketOut] | None = None


class OrderEnvelopeOut(Out):
    order: OrderOut
    payment_url: str | None = None  # a card order's hosted payment page (checkout only)


class OrdersPageOut(Out):
    orders: list[OrderOut]
    total: int
    page: int
    per_page: int


class HistoryOut(Out):
    at: str | None
    action: str
    entity_type: str
    entity_id: int | None
    user_id: int | None
    device_id: int | None
    details: dict[str, Any]


class OrderDetailOut(Out):
    order: OrderOut
    history: list[HistoryOut]


class MyOrdersOut(Out):
    orders: list[OrderOut]


class MyTicketsOut(Out):
    tickets: list[TicketOut]


class TransferOut(Out):
    from_: TicketOut = Field(alias="from")  # the old ticket, now TRANSFERRED
    to: TicketOut


class StockOut(Out):
    id: int
    total: int
    sold: int
    held: int
    available: int


class AvailabilityOut(Out):
    ticket_types: list[StockOut]
    bundles: list[StockOut]


class CancelSalesOut(Out):
    event_id: int
    status: str
    orders_cancelled: int


class QueuedMailOut(Out):
    outbox_id: int
    sent: bool  # already sent before the answer (inline sending, tests); else on its way


class DiscountCodeOut(Out):
    id: int
    event_id: int
    code: str
    description: str
    discount_type: str
    value: int
    max_uses: int | None
    current_uses: int
    max_uses_per_user: int | None
    valid_from: str | None
    valid_until: str | None
    active: bool
    ticket_type_ids: list[int]


class DiscountCodeEnvelopeOut(Out):
    discount_code: DiscountCodeOut


class DiscountCodesOut(Out):
    discount_codes: list[DiscountCodeOut]


class FeesOut(Out):
    percent_bp: int
    fixed_cents: int
