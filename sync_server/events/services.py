"""Event operations: create, edit, publish, cancel, delete; search. Days, ticket types and
bundles: ``events.catalog``.

Each function flushes and raises an :class:`~sync_server.errors.ApiError`; the route commits.
Rules across fields are checked on the resulting record, so create and edit share them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from sync_server.accounts.models import User
from sync_server.audit.services import record
from sync_server.db import utcnow
from sync_server.errors import ApiError, Code, validation_error
from sync_server.events.models import (
    Bundle,
    Category,
    Event,
    EventDay,
    EventStatus,
    TicketType,
    event_categories,
)
from sync_server.keys.services import rotate_key
from sync_server.signals import event_cancelled, event_publishing

logger = logging.getLogger(__name__)


# --- events -------------------------------------------------------------------------------------


Versioned = Event | EventDay | TicketType | Bundle


def refuse_stale(session: Session, row: Versioned, expected_version: int | None,
                 what: str) -> None:
    """With ``expected_version`` (the version the editor showed), refuse an edit of ``row`` if
    someone else saved it meanwhile (409 ``conflict``) instead of overwriting their changes.
    The row is locked from here (PostgreSQL), so two editors cannot both pass the check."""
    if expected_version is None:
        return
    session.refresh(row, with_for_update=True)
    if row.version != expected_version:
        raise ApiError(409, Code.CONFLICT,
                       f"someone else changed {what} since you opened it; "
                       "your changes were not saved",
                       {"version": ["changed by someone else"]})


def local_date(event: Event, moment: datetime) -> Any:
    """The date of ``moment`` in the event's time zone (a day's date)."""
    return moment.astimezone(ZoneInfo(event.timezone)).date()


def find_event(session: Session, event_id: int) -> Event | None:
    return session.get(Event, event_id)


def _categories(session: Session, names: Sequence[str]) -> list[Category]:
    found: dict[str, Category] = {}
    for name in names:
        key = name.strip().lower()
        if key in found:
            continue
        category = session.scalars(
            sa.select(Category).where(sa.func.lower(Category.name) == key)
        ).one_or_none()
        if category is None:
            category = Category(name=name.strip())
            session.add(category)
        found[key] = category
    return list(found.values())


def _check_event(event: Event) -> None:
    errors: dict[str, list[str]] = {}
    if event.ends_at is not None and event.ends_at < event.starts_at:
        errors["ends_at"] = ["must not be before starts_at"]
    if event.max_tickets_per_order < event.min_tickets_per_order:
        errors["max_tickets_per_order"] = ["must not be less than min_tickets_per_order"]
    if errors:
        raise validation_error(errors)


def create_event(session: Session, *, organizer: User, values: Mapping[str, Any]) -> Event:
    values = {"min_tickets_per_order": 1, "max_tickets_per_order": 10, **values}
    categories = values.pop("categories", [])
    event = Event(organizer_id=organizer.id, organizer_name=organizer.name,
                  status=EventStatus.DRAFT, **values)
    _check_event(event)
    event.categories = _categories(session, categories)
    session.add(event)
    session.flush()
    # The event's first signing key comes with the event, so two first buyers never race to
    # create it (a unique-key error for one of them otherwise).
    rotate_key(session, event.id)
    record(session, action="event.create", entity_type="event", entity_id=event.id,
           user=organizer, event_id=event.id)
    return event


def update_event(session: Session, event: Event, *, user: User, values: Mapping[str, Any],
                 expected_version: int | None = None) -> Event:
    """Edit ``event``. With ``expected_version`` (the version the editor showed), an edit made
    meanwhile by someone else is refused (409 ``conflict``) instead of overwritten."""
    values = dict(values)
    refuse_stale(session, event, expected_version, "this event")
    if event.status is EventStatus.CANCELLED:
        raise ApiError(409, Code.INVALID_STATE, "a cancelled event cannot be edited")
    categories = values.pop("categories", None)
    if "event_type" in values and values["event_type"] != event.event_type and _has_sales(
        session, event
    ):
        raise ApiError(409, Code.INVALID_STATE, "the event type cannot change once tickets sold",
                       {"event_type": ["tickets were already sold"]})
    with session.no_autoflush:  # check the edited record before the database sees it
        for name, value in values.items():
            setattr(event, name, value)
        _check_event(event)
        if "timezone" in values:
            for day in event.days:  # "which day is today" follows the event's zone
                day.date = local_date(event, day.starts_at)
        if categories is not None:
            event.categories = _categories(session, categories)
        event.version = (event.version or 1) + 1
    session.flush()
    record(session, action="event.update", entity_type="event", entity_id=event.id, user=user,
           event_id=event.id, details={"fields": sorted([*values, *(
               ["categories"] if categories is not None else [])])})
    return event


def publish_event(session: Session, event: Event, *, user: User) -> Event:
    if event.status is EventStatus.CANCELLED:
        raise ApiError(409, Code.INVALID_STATE, "a cancelled event cannot be published")
    if event.status is EventStatus.DRAFT:
        event_publishing.send(event, session=session)  # a receiver vetoes by raising
        event.status = EventStatus.PUBLISHED
        event.published_at = utcnow()
        session.flush()
        record(session, action="event.publish", entity_type="event", entity_id=event.id,
               user=user, event_id=event.id)
    return event


def cancel_event(session: Session, event: Event, *, user: User,
                 reason: str = "The event was cancelled.") -> Event:
    """Cancel ``event`` and send ``event_cancelled`` (the orders domain cancels and refunds
    every order of it in this transaction). Idempotent."""
    if event.status is not EventStatus.CANCELLED:
        event.status = EventStatus.CANCELLED
        event.cancelled_at = utcnow()
        session.flush()
        record(session, action="event.cancel", entity_type="event", entity_id=event.id,
               user=user, event_id=event.id)
    event_cancelled.send(event, session=session, by_user=user, reason=reason)
    return event


def _has_sales(session: Session, event: Event) -> bool:
    """Units of the event sold or held (counted on its ticket types and bundles)."""
    return any(session.scalar(
        sa.select(sa.func.count()).select_from(model)
        .where(model.event_id == event.id, model.quantity_sold + model.quantity_reserved > 0))
        for model in (TicketType, Bundle))


def delete_unless_referenced(session: Session, row: object, error: ApiError) -> None:
    """Delete ``row`` unless something sold refers to it: the foreign keys of orders, their
    items and tickets (``RESTRICT``) refuse it, and ``error`` is raised instead."""
    session.flush()  # the caller's writes first: the savepoint then sits inside the transaction
    try:
        with session.begin_nested():
            session.delete(row)
    except IntegrityError as refused:
        raise error from refused


def delete_event(session: Session, event: Event, *, user: User) -> None:
    """Delete a DRAFT event that has no orders; anything else is cancelled, not deleted."""
    refused = ApiError(409, Code.INVALID_STATE,
                       "only a draft event without orders can be deleted; cancel it instead")
    if event.status is not EventStatus.DRAFT:
        raise refused
    record(session, action="event.delete", entity_type="event", entity_id=event.id, user=user,
           details={"name": event.name})
    delete_unless_referenced(session, event, refused)


def events_of_user(session: Session, user: User) -> list[Event]:
    query = sa.select(Event).order_by(Event.starts_at, Event.id)
    if not user.is_admin:
        query = query.where(Event.organizer_id == user.id)
    return list(session.scalars(query.options(selectinload(Event.categories))))


def search_events(
    session: Session, *, text: str | None = None, category: str | None = None,
    city: str | None = None, date_from: datetime | None = None, date_to: datetime | None = None,
    page: int = 1, per_page: int = 20,
) -> tuple[list[Event], int]:
    """Published events matching every filter given, by start time; and the total count."""
    if date_from is not None and date_to is not None and date_to < date_from:
        raise validation_error({"date_to": ["must not be before date_from"]},
                               "the query string has invalid fields")
    query = sa.select(Event).where(Event.status == EventStatus.PUBLISHED)
    if text:
        needle = text.strip().lower()
        query = query.where(
            sa.or_(
                sa.func.lower(Event.name).contains(needle, autoescape=True),
                sa.func.lower(Event.description).contains(needle, autoescape=True),
                sa.func.lower(Event.venue_name).contains(needle, autoescape=True),
            )
        )
    if category:
        query = query.where(
            Event.id.in_(
                sa.select(event_categories.c.event_id)
                .join(Category, Category.id == event_categories.c.category_id)
                .where(sa.func.lower(Category.name) == category.strip().lower())
            )
        )
    if city:
        query = query.where(sa.func.lower(Event.city) == city.strip().lower())
    if date_from is not None:
        query = query.where(sa.func.coalesce(Event.ends_at, Event.starts_at) >= date_from)
    if date_to is not None:
        query = query.where(Event.starts_at <= date_to)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Event.starts_at, Event.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
        .options(selectinload(Event.categories), selectinload(Event.days))
    )
    return list(rows), int(total)


def all_categories(session: Session) -> list[Category]:
    return list(session.scalars(sa.select(Category).order_by(Category.name)))
