"""What an event sells: its days, ticket types and bundles (add, edit, delete).

As in ``events.services``: each function flushes and raises an ApiError; the route commits.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from sync_server.accounts.models import User
from sync_server.audit.services import record
from sync_server.db import utcnow
from sync_server.errors import ApiError, Code, not_found, validation_error
from sync_server.events.models import (
    Bundle,
    Event,
    EventDay,
    EventStatus,
    EventType,
    TicketType,
    bundle_days,
)
from sync_server.events.services import delete_unless_referenced, local_date, refuse_stale
from sync_server.signals import capacity_returned

logger = logging.getLogger(__name__)


# --- days ---------------------------------------------------------------------------------------


def _check_day(session: Session, event: Event, day: EventDay) -> None:
    if day.ends_at <= day.starts_at:
        raise validation_error({"ends_at": ["must be after starts_at"]})
    clash = session.scalar(
        sa.select(sa.func.count()).select_from(EventDay).where(
            EventDay.event_id == event.id, EventDay.day_number == day.day_number,
            EventDay.id != (day.id or 0),
        )
    )
    if clash:
        raise ApiError(409, Code.CONFLICT, "this event already has a day with that number",
                       {"day_number": ["already used"]})


def get_day(session: Session, event: Event, day_id: int) -> EventDay:
    day = session.get(EventDay, day_id)
    if day is None or day.event_id != event.id:
        raise not_found("event day")
    return day


def add_day(session: Session, event: Event, *, user: User, values: Mapping[str, Any]) -> EventDay:
    values = dict(values)
    if values.get("day_number") is None:
        current = session.scalar(
            sa.select(sa.func.max(EventDay.day_number)).where(EventDay.event_id == event.id)
        )
        values["day_number"] = (current or 0) + 1
    day = EventDay(event_id=event.id, **values)
    day.date = local_date(event, day.starts_at)
    _check_day(session, event, day)
    session.add(day)
    session.flush()
    session.refresh(event, ["days"])
    record(session, action="day.create", entity_type="event_day", entity_id=day.id, user=user,
           event_id=event.id)
    return day


def update_day(
    session: Session, event: Event, day: EventDay, *, user: User, values: Mapping[str, Any],
    expected_version: int | None = None,
) -> EventDay:
    """Edit ``day``; with ``expected_version``, a stale edit is refused (``refuse_stale``)."""
    refuse_stale(session, day, expected_version, "this day")
    with session.no_autoflush:
        for name, value in values.items():
            setattr(day, name, value)
        day.date = local_date(event, day.starts_at)
        _check_day(session, event, day)
        day.version = (day.version or 1) + 1
    session.flush()
    record(session, action="day.update", entity_type="event_day", entity_id=day.id, user=user,
           event_id=event.id, details={"fields": sorted(values)})
    return day


def delete_day(session: Session, event: Event, day: EventDay, *, user: User) -> None:
    used = session.scalar(
        sa.select(sa.func.count()).select_from(TicketType).where(TicketType.event_day_id == day.id)
    )
    if used:
        raise ApiError(409, Code.CONFLICT, "ticket types are sold for this day; remove them first")
    in_bundles = session.scalar(
        sa.select(sa.func.count()).select_from(bundle_days)
        .where(bundle_days.c.event_day_id == day.id)
    )
    if in_bundles:
        raise ApiError(409, Code.CONFLICT, "bundles include this day; change them first")
    record(session, action="day.delete", entity_type="event_day", entity_id=day.id, user=user,
           event_id=event.id)
    session.delete(day)
    session.flush()


# --- ticket types -------------------------------------------------------------------------------


def get_ticket_type(session: Session, event: Event, ticket_type_id: int) -> TicketType:
    row = session.get(TicketType, ticket_type_id)
    if row is None or row.event_id != event.id:
        raise not_found("ticket type")
    return row


def _check_ticket_type(session: Session, event: Event, row: TicketType) -> None:
    errors: dict[str, list[str]] = {}
    if row.event_day_id is not None:
        day = session.get(EventDay, row.event_day_id)
        if day is None or day.event_id != event.id:
            errors["event_day_id"] = ["not a day of this event"]
    if event.event_type is EventType.FREE_EVENT and row.price_cents != 0:
        errors["price_cents"] = ["tickets of a free event cost 0"]
    if (row.sales_start is not None and row.sales_end is not None
            and row.sales_end <= row.sales_start):
        errors["sales_end"] = ["must be after sales_start"]
    if row.max_per_order < row.min_per_order:
        errors["max_per_order"] = ["must not be less than min_per_order"]
    if row.quantity_total < (row.quantity_sold or 0) + (row.quantity_reserved or 0):
        errors["quantity_total"] = ["must not be less than the tickets already sold or held"]
    if errors:
        raise validation_error(errors)


def _refuse_save_the_date(event: Event) -> None:
    if event.event_type is EventType.SAVE_THE_DATE:
        raise ApiError(409, Code.INVALID_STATE, "a save-the-date event has no tickets")
    if event.status is EventStatus.CANCELLED:
        raise ApiError(409, Code.INVALID_STATE, "the event is cancelled")


def add_ticket_type(
    session: Session, event: Event, *, user: User, values: Mapping[str, Any]
) -> TicketType:
    _refuse_save_the_date(event)
    values = {"min_per_order": 1, "max_per_order": 10, **values}
    row = TicketType(event_id=event.id, quantity_sold=0, quantity_reserved=0, **values)
    _check_ticket_type(session, event, row)
    session.add(row)
    session.flush()
    record(session, action="ticket_type.create", entity_type="ticket_type", entity_id=row.id,
           user=user, event_id=event.id)
    return row


def update_ticket_type(
    session: Session, event: Event, row: TicketType, *, user: User, values: Mapping[str, Any],
    expected_version: int | None = None,
) -> TicketType:
    """Edit a ticket type; with ``expected_version``, a stale edit is refused."""
    _refuse_save_the_date(event)
    refuse_stale(session, row, expected_version, "this ticket type")
    before = row.quantity_total
    with session.no_autoflush:
        for name, value in values.items():
            setattr(row, name, value)
        _check_ticket_type(session, event, row)
        row.version = (row.version or 1) + 1
    session.flush()
    record(session, action="ticket_type.update", entity_type="ticket_type", entity_id=row.id,
           user=user, event_id=event.id, details={"fields": sorted(values)})
    if row.quantity_total > before:  # more on sale: the waiting list is offered them first
        capacity_returned.send(row, session=session, now=utcnow())
    return row


def delete_ticket_type(session: Session, event: Event, row: TicketType, *, user: User) -> None:
    refused = ApiError(409, Code.CONFLICT, "tickets of this type were sold; deactivate it instead")
    if row.quantity_sold:
        raise refused
    record(session, action="ticket_type.delete", entity_type="ticket_type", entity_id=row.id,
           user=user, event_id=event.id)
    delete_unless_referenced(session, row, refused)


# --- bundles ------------------------------------------------------------------------------------


def get_bundle(session: Session, event: Event, bundle_id: int) -> Bundle:
    row = session.get(Bundle, bundle_id)
    if row is None or row.event_id != event.id:
        raise not_found("bundle")
    return row


def _bundle_days(session: Session, event: Event, day_ids: Sequence[int]) -> list[EventDay]:
    wanted = set(day_ids)
    days = list(session.scalars(
        sa.select(EventDay).where(EventDay.event_id == event.id, EventDay.id.in_(wanted))
    ))
    if len(days) != len(wanted):
        raise validation_error({"event_day_ids": ["every id must be a day of this event"]})
    return days


def _check_bundle(event: Event, row: Bundle) -> None:
    if event.event_type is EventType.FREE_EVENT and row.price_cents != 0:
        raise validation_error({"price_cents": ["bundles of a free event cost 0"]})
    if row.quantity_total < (row.quantity_sold or 0):
        raise validation_error({"quantity_total": ["must not be less than the bundles sold"]})


def add_bundle(session: Session, event: Event, *, user: User, values: Mapping[str, Any]) -> Bundle:
    _refuse_save_the_date(event)
    values = dict(values)
    days = _bundle_days(session, event, values.pop("event_day_ids"))
    row = Bundle(event_id=event.id, quantity_sold=0, **values)
    _check_bundle(event, row)
    row.days = days
    session.add(row)
    session.flush()
    record(session, action="bundle.create", entity_type="bundle", entity_id=row.id, user=user,
           event_id=event.id)
    return row


def update_bundle(
    session: Session, event: Event, row: Bundle, *, user: User, values: Mapping[str, Any],
    expected_version: int | None = None,
) -> Bundle:
    """Edit a bundle; with ``expected_version``, a stale edit is refused."""
    _refuse_save_the_date(event)
    refuse_stale(session, row, expected_version, "this bundle")
    values = dict(values)
    day_ids = values.pop("event_day_ids", None)
    with session.no_autoflush:
        for name, value in values.items():
            setattr(row, name, value)
        _check_bundle(event, row)
        if day_ids is not None:
            row.days = _bundle_days(session, event, day_ids)
        row.version = (row.version or 1) + 1
    session.flush()
    record(session, action="bundle.update", entity_type="bundle", entity_id=row.id, user=user,
           event_id=event.id, details={"fields": sorted([*values, *(
               ["event_day_ids"] if day_ids is not None else [])])})
    return row


def delete_bundle(session: Session, event: Event, row: Bundle, *, user: User) -> None:
    refused = ApiError(409, Code.CONFLICT, "this bundle was sold; deactivate it instead")
    if row.quantity_sold:
        raise refused
    record(session, action="bundle.delete", entity_type="bundle", entity_id=row.id, user=user,
           event_id=event.id)
    delete_unless_referenced(session, row, refused)
