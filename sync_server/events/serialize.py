"""JSON shapes of events, days, ticket types and bundles."""

from __future__ import annotations

from typing import Any

from shared.vocabulary import format_optional_time as iso
from sync_server.events.models import Bundle, Event, EventDay, TicketType


def day_json(day: EventDay) -> dict[str, Any]:
    return {
        "id": day.id, "event_id": day.event_id, "day_number": day.day_number,
        "date": day.date.isoformat(), "starts_at": iso(day.starts_at), "ends_at": iso(day.ends_at),
        "venue_name_override": day.venue_name_override, "address_override": day.address_override,
        "city_override": day.city_override, "state_override": day.state_override,
        "description_override": day.description_override, "version": day.version,
    }


def ticket_type_json(row: TicketType) -> dict[str, Any]:
    return {
        "id": row.id, "event_id": row.event_id, "event_day_id": row.event_day_id,
        "name": row.name, "description": row.description, "price_cents": row.price_cents,
        "quantity_total": row.quantity_total, "quantity_sold": row.quantity_sold,
        "quantity_reserved": row.quantity_reserved,
        "quantity_available": row.quantity_available,
        "sales_start": iso(row.sales_start), "sales_end": iso(row.sales_end),
        "min_per_order": row.min_per_order, "max_per_order": row.max_per_order,
        "active": row.active, "sort_order": row.sort_order, "version": row.version,
    }


def bundle_json(row: Bundle) -> dict[str, Any]:
    return {
        "id": row.id, "event_id": row.event_id, "name": row.name,
        "description": row.description, "price_cents": row.price_cents,
        "discount_percentage": row.discount_percentage, "quantity_total": row.quantity_total,
        "quantity_sold": row.quantity_sold, "quantity_available": row.quantity_available,
        "event_day_ids": [d.id for d in row.days], "active": row.active,
        "version": row.version,
    }


def event_json(event: Event, *, detail: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": event.id, "name": event.name, "description": event.description,
        "event_type": event.event_type.value, "status": event.status.value,
        "organizer_id": event.organizer_id, "organizer_name": event.organizer_name,
        "starts_at": iso(event.starts_at), "ends_at": iso(event.ends_at),
        "timezone": event.timezone, "venue_name": event.venue_name, "address": event.address,
        "city": event.city, "state": event.state, "zip_code": event.zip_code,
        "country": event.country, "latitude": event.latitude, "longitude": event.longitude,
        "door_price_text": event.door_price_text, "allow_waitlist": event.allow_waitlist,
        "allow_transfers": event.allow_transfers,
        "min_tickets_per_order": event.min_tickets_per_order,
        "max_tickets_per_order": event.max_tickets_per_order,
        "categories": sorted(c.name for c in event.categories),
        "published_at": iso(event.published_at), "cancelled_at": iso(event.cancelled_at),
        "version": event.version,
        "days": [day_json(d) for d in event.days],
    }
    if detail:
        out["ticket_types"] = [ticket_type_json(t) for t in event.ticket_types]
        out["bundles"] = [bundle_json(b) for b in event.bundles]
    return out
