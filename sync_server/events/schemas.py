"""Request bodies and query strings for events, days, ticket types and bundles.

Create bodies require what the database requires; update bodies (PATCH) take any subset, and a
``null`` is refused for a field that cannot be empty. Rules across fields (ends after starts,
min <= max, sold <= total) are checked by the services against the resulting record.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from sync_server.events.models import EventType
from sync_server.schemas import (
    Body,
    Cents,
    Id,
    Name40,
    Name120,
    Name200,
    PerOrder,
    Quantity,
    Query,
    Text10k,
    Text20,
    Text120,
    Text200,
    Text300,
    TimeZoneName,
    UtcDatetime,
)

Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
Categories = Annotated[list[Name40], Field(max_length=10)]
Percentage = Annotated[int, Field(ge=0, le=100)]
# The ``version`` of the row as the client last read it: sent with an edit, a change made
# meanwhile by someone else is refused (409 ``conflict``) instead of overwritten.
ExpectedVersion = Annotated[int, Field(ge=1)]
SortOrder = Annotated[int, Field(ge=0, le=10_000)]


class EventCreate(Body):
    name: Name200
    event_type: EventType
    starts_at: UtcDatetime
    timezone: TimeZoneName
    ends_at: UtcDatetime | None = None
    description: Text10k = ""
    venue_name: Text200 = ""
    address: Text300 = ""
    city: Text120 = ""
    state: Text120 = ""
    zip_code: Text20 = ""
    country: Country = "US"
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    door_price_text: Text200 | None = None
    allow_waitlist: bool = False
    allow_transfers: bool = True
    min_tickets_per_order: PerOrder = 1
    max_tickets_per_order: PerOrder = 10
    categories: Categories = Field(default_factory=list)


class EventUpdate(Body):
    name: Name200 | None = None
    event_type: EventType | None = None
    starts_at: UtcDatetime | None = None
    timezone: TimeZoneName | None = None
    ends_at: UtcDatetime | None = None
    description: Text10k | None = None
    venue_name: Text200 | None = None
    address: Text300 | None = None
    city: Text120 | None = None
    state: Text120 | None = None
    zip_code: Text20 | None = None
    country: Country | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    door_price_text: Text200 | None = None
    allow_waitlist: bool | None = None
    allow_transfers: bool | None = None
    min_tickets_per_order: PerOrder | None = None
    max_tickets_per_order: PerOrder | None = None
    categories: Categories | None = None
    expected_version: ExpectedVersion | None = None


EVENT_NULLABLE = {"ends_at", "latitude", "longitude", "door_price_text"}


class EventSearch(Query):
    q: Text200 | None = None
    category: Text120 | None = None
    city: Text120 | None = None
    date_from: UtcDatetime | None = None
    date_to: UtcDatetime | None = None
    page: Annotated[int, Field(ge=1, le=10_000)] = 1
    per_page: Annotated[int, Field(ge=1, le=100)] = 20


class DayCreate(Body):
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    day_number: Annotated[int, Field(ge=1, le=366)] | None = None
    venue_name_override: Text200 | None = None
    address_override: Text300 | None = None
    city_override: Text120 | None = None
    state_override: Text120 | None = None
    description_override: Text10k | None = None


class DayUpdate(Body):
    starts_at: UtcDatetime | None = None
    ends_at: UtcDatetime | None = None
    day_number: Annotated[int, Field(ge=1, le=366)] | None = None
    venue_name_override: Text200 | None = None
    address_override: Text300 | None = None
    city_override: Text120 | None = None
    state_override: Text120 | None = None
    description_override: Text10k | None = None
    expected_version: ExpectedVersion | None = None


DAY_NULLABLE = {
    "venue_name_override", "address_override", "city_override", "state_override",
    "description_override",
}


class TicketTypeCreate(Body):
    name: Name120
    price_cents: Cents
    quantity_total: Quantity
    description: Text10k = ""
    event_day_id: Id | None = None
    sales_start: UtcDatetime | None = None
    sales_end: UtcDatetime | None = None
    min_per_order: PerOrder = 1
    max_per_order: PerOrder = 10
    active: bool = True
    sort_order: SortOrder = 0


class TicketTypeUpdate(Body):
    name: Name120 | None = None
    price_cents: Cents | None = None
    quantity_total: Quantity | None = None
    description: Text10k | None = None
    event_day_id: Id | None = None
    sales_start: UtcDatetime | None = None
    sales_end: UtcDatetime | None = None
    min_per_order: PerOrder | None = None
    max_per_order: PerOrder | None = None
    active: bool | None = None
    sort_order: SortOrder | None = None
    expected_version: ExpectedVersion | None = None


TICKET_TYPE_NULLABLE = {"event_day_id", "sales_start", "sales_end"}


class BundleCreate(Body):
    name: Name120
    price_cents: Cents
    quantity_total: Quantity
    event_day_ids: Annotated[list[Id], Field(min_length=1, max_length=366)]
    description: Text10k = ""
    discount_percentage: Percentage | None = None
    active: bool = True


class BundleUpdate(Body):
    name: Name120 | None = None
    price_cents: Cents | None = None
    quantity_total: Quantity | None = None
    event_day_ids: Annotated[list[Id], Field(min_length=1, max_length=366)] | None = None
    description: Text10k | None = None
    discount_percentage: Percentage | None = None
    active: bool | None = None
    expected_version: ExpectedVersion | None = None


BUNDLE_NULLABLE = {"discount_percentage"}
