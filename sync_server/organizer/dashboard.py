"""What the organizer's dashboard shows: their events by phase, today's sales and check-ins per
event, and what needs attention. Read-only queries, a few per page whatever the data size:
sums are grouped in the database (one query per time zone in use, usually one).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from sync_server.accounts.models import User
from sync_server.devices.models import Device, device_events
from sync_server.door.models import DoorScan
from sync_server.events.models import Bundle, Event, EventDay, EventStatus, EventType, TicketType
from sync_server.events.services import events_of_user
from sync_server.orders.models import Order, PaymentStatus
from sync_server.payments import settings as payment_settings
from sync_server.payments.onboarding import account_of

SILENT_AFTER = timedelta(minutes=10)
TONIGHT_AHEAD = timedelta(hours=12)
PHASES = ("tonight", "on_sale", "draft", "past")


@dataclass
class Today:
    orders: int = 0
    revenue_cents: int = 0
    entries: int = 0


@dataclass
class Dashboard:
    phases: dict[str, list[Event]]
    today: dict[int, Today]
    attention: list[tuple[str, Event | None, str]]  # (words, event, kind)
    totals: Today = field(default_factory=Today)


def _end(event: Event, last_day_end: datetime | None) -> datetime:
    return max(x for x in (event.ends_at, last_day_end, event.starts_at) if x is not None)


def phase_of(event: Event, days: Sequence[tuple[datetime, datetime]], now: datetime) -> str:
    """tonight (a day under way or starting within 12 h), on_sale, draft or past."""
    last_day_end = max((end for _, end in days), default=None)
    if event.status is EventStatus.CANCELLED or _end(event, last_day_end) < now:
        return "past"
    if event.status is EventStatus.DRAFT:
        return "draft"
    spans = days or [(event.starts_at, event.ends_at or event.starts_at + timedelta(hours=8))]
    if any(start <= now + TONIGHT_AHEAD and end >= now for start, end in spans):
        return "tonight"
    return "on_sale"


def _midnight(zone: str, now: datetime) -> datetime:
    local = now.astimezone(ZoneInfo(zone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _today(session: Session, events: Sequence[Event], now: datetime) -> dict[int, Today]:
    by_zone: dict[str, list[int]] = defaultdict(list)
    for event in events:
        by_zone[event.timezone].append(event.id)
    out = {event.id: Today() for event in events}
    for zone, ids in by_zone.items():
        since = _midnight(zone, now)
        for event_id, count, revenue in session.execute(
            sa.select(Order.event_id, sa.func.count(), sa.func.coalesce(
                sa.func.sum(Order.total_cents), 0))
            .where(Order.event_id.in_(ids), Order.payment_status == PaymentStatus.COMPLETED,
                   Order.completed_at >= since)
            .group_by(Order.event_id)
        ):
            out[event_id].orders, out[event_id].revenue_cents = int(count), int(revenue)
        for scanned_event_id, entries in session.execute(
            sa.select(DoorScan.event_id, sa.func.count())
            .where(DoorScan.event_id.in_(ids), DoorScan.admission.is_(True),
                   DoorScan.scanned_at >= since)
            .group_by(DoorScan.event_id)
        ):
            out[int(scanned_event_id or 0)].entries = int(entries)
    return out


def _attention(session: Session, user: User, phases: dict[str, list[Event]],
               now: datetime) -> list[tuple[str, Event | None, str]]:
    notes: list[tuple[str, Event | None, str]] = []
    live = [e for p in ("tonight", "on_sale", "draft") for e in phases[p]]
    paid = [e for e in live if e.event_type is EventType.TICKETED_EVENT]
    if paid:
        account = account_of(session, user.id)
        if account is None or not account.charges_enabled:
            words = ("Stripe is not connected: card payments cannot be taken for your ticketed "
                     "events." if account is None else
                     "Stripe onboarding is not finished: card payments are not enabled yet.")
            if not payment_settings.settings().configured:
                words += " (Card payments are not set up on this server.)"
            notes.append((words, None, "stripe"))
    if live:
        ids = [e.id for e in live]
        with_tiers = set(session.scalars(
            sa.select(TicketType.event_id).where(TicketType.event_id.in_(ids)).union(
                sa.select(Bundle.event_id).where(Bundle.event_id.in_(ids)))))
        for event in live:
            if event.event_type is not EventType.SAVE_THE_DATE and event.id not in with_tiers:
                notes.append(("has no ticket types: nothing can be sold or scanned.", event,
                              "tiers"))
    tonight = {e.id: e for e in phases["tonight"]}
    if tonight:
        for device, event_id in session.execute(
            sa.select(Device, device_events.c.event_id)
            .join(device_events, device_events.c.device_id == Device.id)
            .where(device_events.c.event_id.in_(tonight), Device.revoked_at.is_(None),
                   sa.or_(Device.last_seen_at.is_(None),
                          Device.last_seen_at < now - SILENT_AFTER))
            .order_by(Device.id)
        ):
            seen = device.last_seen_at
            minutes = ("never" if seen is None
                       else f"{int((now - seen).total_seconds() // 60)} min ago")
            notes.append((f"door device “{device.name}” is silent (last contact {minutes}).",
                          tonight[event_id], "device"))
    return notes


def dashboard(session: Session, user: User, now: datetime) -> Dashboard:
    events = events_of_user(session, user)
    days: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    if events:
        for event_id, start, end in session.execute(
            sa.select(EventDay.event_id, EventDay.starts_at, EventDay.ends_at)
            .where(EventDay.event_id.in_([e.id for e in events]))
        ):
            days[event_id].append((start, end))
    phases: dict[str, list[Event]] = {p: [] for p in PHASES}
    for event in events:
        phases[phase_of(event, days[event.id], now)].append(event)
    phases["past"].reverse()  # the latest first
    current = [e for p in ("tonight", "on_sale") for e in phases[p]]
    today = _today(session, current, now)
    totals = Today(orders=sum(t.orders for t in today.values()),
                   revenue_cents=sum(t.revenue_cents for t in today.values()),
                   entries=sum(t.entries for t in today.values()))
    return Dashboard(phases, today, _attention(session, user, phases, now), totals)
