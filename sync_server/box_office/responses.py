"""Response shapes of the box-office API (documented in OpenAPI, checked by the tests)."""

from __future__ import annotations

from sync_server.schemas import Out


class BoxSellerView(Out):
    seller_id: int
    name: str
    email: str
    status: str
    allocated_tickets: int
    sold_tickets: int
    held_tickets: int
    stock_out_tickets: int
    remaining_tickets: int
    commission_rate_bp: int | None
    cash_owed_cents: int
    commission_cents: int
    refunded_cents: int
    sales_count: int
    refunds_count: int


class BoxTierOut(Out):
    ticket_type_id: int
    name: str
    price_cents: int
    available: int
    valid_dates: list[str]


class BoxTicketOut(Out):
    ticket_id: int
    ticket_number: str
    ticket_type_id: int | None
    ticket_type: str
    price_cents: int
    token: str
    holder_name: str
    valid_dates: list[str]
    status: str


class BoxStockTicketOut(BoxTicketOut):
    stock: bool
    seller_id: int
    stock_status: str


class BoxSaleItemOut(Out):
    ticket_type_id: int | None
    quantity: int
    price_cents: int


class BoxSaleOut(Out):
    sale_id: int
    client_sale_id: str
    seller_id: int
    device_id: int | None
    kind: str
    status: str
    order_number: str | None
    quantity: int
    total_cents: int
    list_cents: int
    commission_cents: int
    buyer_name: str
    buyer_email: str
    buyer_phone: str | None
    items: list[BoxSaleItemOut]
    expires_at: str | None
    sold_at: str | None
    refunded_at: str | None
    refund_reason: str | None
    tickets: list[BoxTicketOut]


class DeskSignInOut(Out):
    seller: BoxSellerView
    tiers: list[BoxTierOut]
    hold_minutes: float
    time_zone: str
    server_time: str


class DeskSellerOut(Out):
    seller: BoxSellerView
    tiers: list[BoxTierOut]
    code: str | None
    hold_minutes: float


class BoxSaleEnvelope(Out):
    sale: BoxSaleOut


class BoxSaleList(Out):
    sales: list[BoxSaleOut]


class BoxStockOut(Out):
    stock: list[BoxStockTicketOut]
    batch_id: str | None = None


class BoxOfflineResultOut(Out):
    client_sale_id: str
    outcome: str
    sale_id: int | None
    error: str | None


class BoxOfflineResults(Out):
    results: list[BoxOfflineResultOut]


class BoxReturnedOut(Out):
    returned: int
    stock: list[BoxStockTicketOut]


class BoxRevokedStockOut(Out):
    revoked: int


class BoxTotals(Out):
    sold_tickets: int
    cash_owed_cents: int
    commission_cents: int
    refunded_cents: int
    stock_out_tickets: int


class BoxReportOut(Out):
    event_id: int
    date: str
    sellers: list[BoxSellerView]
    totals: BoxTotals


class BoxCodeOut(Out):
    seller_id: int
    name: str
    code: str


class BoxCodesOut(Out):
    date: str
    codes: list[BoxCodeOut]
