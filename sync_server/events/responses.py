"""Response shapes of the events API (documentation and contract tests)."""

from __future__ import annotations

from sync_server.schemas import Out


class DayOut(Out):
    id: int
    event_id: int
    day_number: int
    date: str
    starts_at: str | None
    ends_at: str | None
    venue_name_override: str | None
    address_override: str | None
    city_override: str | None
    state_override: str | None
    description_override: str | None
    version: int


class TicketTypeOut(Out):
    id: int
    event_id: int
    event_day_id: int | None
    name: str
    description: str
    price_cents: int
    quantity_total: int
    quantity_sold: int
    quantity_reserved: int
    quantity_available: int
    sales_start: str | None
    sales_end: str | None
    min_per_order: int
    max_per_order: int
    active: bool
    sort_order: int
    version: int


class BundleOut(Out):
    id: int
    event_id: int
    name: str
    description: str
    price_cents: int
    discount_percentage: int | None
    quantity_total: int
    quantity_sold: int
    quantity_available: int
    event_day_ids: list[int]
    active: bool
    version: int


class EventOut(Out):
    id: int
    name: str
    description: str
    event_type: str
    status: str
    organizer_id: int
    organizer_name: str
    starts_at: str | None
    ends_at: str | None
    timezone: str
    venue_name: str
    address: str
    city: str
    state: str
    zip_code: str
    country: str
    latitude: float | None
    longitude: float | None
    door_price_text: str | None
    allow_waitlist: bool
    allow_transfers: bool
    min_tickets_per_order: int
    max_tickets_per_order: int
    categories: list[str]
    published_at: str | None
    cancelled_at: str | None
    version: int
    days: list[DayOut]
    # Present on single-event responses, absent from lists.
    ticket_types: list[TicketTypeOut] | None = None
    bundles: list[BundleOut] | None = None


class EventEnvelope(Out):
    event: EventOut


class EventPage(Out):
    events: list[EventOut]
    total: int
    page: int
    per_page: int


class EventList(Out):
    events: list[EventOut]


class CategoryList(Out):
    categories: list[str]


class DayList(Out):
    days: list[DayOut]


class DayEnvelope(Out):
    day: DayOut


class TicketTypeList(Out):
    ticket_types: list[TicketTypeOut]


class TicketTypeEnvelope(Out):
    ticket_type: TicketTypeOut


class BundleList(Out):
    bundles: list[BundleOut]


class BundleEnvelope(Out):
    bundle: BundleOut
