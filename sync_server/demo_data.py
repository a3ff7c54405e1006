"""Demo data for ``sync-server seed-demo``: a two-day ticketed dance weekend with sales.

Deterministic for a given seed (names, orders, quantities); only the generated passwords and
the signed tokens' ids differ between databases.
"""

from __future__ import annotations

import logging
import random
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from sync_server.accounts.models import User
from sync_server.accounts.services import create_user, find_user_by_email
from sync_server.events.catalog import add_bundle, add_day, add_ticket_type
from sync_server.events.models import Bundle, EventType, TicketType
from sync_server.events.services import create_event, publish_event
from sync_server.orders.models import Order, OrderItem, PaymentMethod, PaymentStatus
from sync_server.staff.services import add_seller, add_staff
from sync_server.tickets.services import issue_ticket_instance

logger = logging.getLogger(__name__)

TIMEZONE = "America/Chicago"
FIRST_NAMES = [
    "Aaliyah", "Andre", "Angela", "Anthony", "Brandon", "Brianna", "Calvin", "Carla", "Cedric",
    "Charlene", "Cornelius", "Darnell", "Deborah", "Denise", "Derrick", "Dorothy", "Earl",
    "Ebony", "Felicia", "Gregory", "Gwendolyn", "Harold", "Imani", "Jamal", "Janice", "Jerome",
    "Jasmine", "Keisha", "Kendrick", "LaToya", "Lamar", "Lorraine", "Marcus", "Monique",
    "Nathaniel", "Nia", "Otis", "Patrice", "Quentin", "Renee", "Reginald", "Sandra", "Shawn",
    "Tamika", "Terrence", "Valerie", "Vernon", "Wanda", "Xavier", "Yvonne", "Zora",
]
LAST_NAMES = [
    "Adams", "Baker", "Banks", "Bell", "Brooks", "Brown", "Carter", "Coleman", "Davis",
    "Dixon", "Ellis", "Franklin", "Gaines", "Green", "Hamilton", "Harris", "Hayes", "Jackson",
    "Jenkins", "Johnson", "Jones", "King", "Lewis", "Mitchell", "Moore", "Morris", "Parker",
    "Patterson", "Robinson", "Simmons", "Smith", "Taylor", "Thomas", "Thompson", "Turner",
    "Walker", "Washington", "Watkins", "White", "Williams", "Wilson", "Wright", "Young",
]


@dataclass
class DemoSummary:
    event_id: int
    event_name: str
    organizer: dict[str, str]
    staff: dict[str, str]
    seller: dict[str, str]
    days: list[dict[str, Any]] = field(default_factory=list)
    ticket_types: list[dict[str, Any]] = field(default_factory=list)
    bundles: list[dict[str, Any]] = field(default_factory=list)
    orders: int = 0
    tickets: int = 0
    sample_tokens: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _person(session: Session, hasher: PasswordHasher, email: str, name: str) -> tuple[User, str]:
    if find_user_by_email(session, email) is not None:
        raise ValueError(f"{email} already exists: this database was seeded with this seed")
    password = secrets.token_urlsafe(12)
    user = create_user(session, email=email, password=password, name=name, hasher=hasher,
                       email_verified=True)  # demo people sign in at once
    return user, password


def seed_demo(
    session: Session, *, hasher: PasswordHasher, master_secret: bytes, seed: int = 1,
    orders: int = 300, start: date | None = None, live: bool = False, samples: int = 12,
) -> DemoSummary:
    """Create the demo organizer, event, staff, seller and ``orders`` completed orders.

    ``samples``: how many tickets (the first of each order) are listed with their token in
    ``sample_tokens`` (``make demo`` shows a line of guests at the door and asks for more).

    ``live``: the first night started an hour ago (for demos at the door, at any hour);
    otherwise doors open at 19:00 on ``start`` (default today).
    """
    rng = random.Random(seed)
    zone = ZoneInfo(TIMEZONE)
    if live:
        now = datetime.now(zone)
        doors_open = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    else:
        first_day = start or datetime.now(zone).date()
        doors_open = datetime.combine(first_day, time(19, 0), zone)
    domain = f"demo{seed}.stepperslife.test"

    organizer, organizer_pw = _person(session, hasher, f"organizer@{domain}", "Dee Organizer")
    scanner, scanner_pw = _person(session, hasher, f"door@{domain}", "Sam Scanner")
    seller_user, seller_pw = _person(session, hasher, f"seller@{domain}", "Sally Seller")

    event = create_event(session, organizer=organizer, values={
        "name": "Chicago Steppers Summer Weekend", "event_type": EventType.TICKETED_EVENT,
        "description": "Two nights of Chicago stepping: workshops, a live DJ and the grand set.",
        "starts_at": doors_open, "ends_at": doors_open + timedelta(days=1, hours=7),
        "timezone": TIMEZONE, "venue_name": "The Grand Ballroom",
        "address": "6351 S Cottage Grove Ave", "city": "Chicago", "state": "IL",
        "zip_code": "60637", "country": "US", "categories": ["Set", "Workshop"],
        "max_tickets_per_order": 8,
    })
    days = [
        add_day(session, event, user=organizer, values={
            "starts_at": doors_open + timedelta(days=i),
            "ends_at": doors_open + timedelta(days=i, hours=7),
        })
        for i in range(2)
    ]

    def tier(name: str, cents: int, quantity: int, day: int | None) -> TicketType:
        return add_ticket_type(session, event, user=organizer, values={
            "name": name, "price_cents": cents, "quantity_total": quantity,
            "event_day_id": days[day].id if day is not None else None, "max_per_order": 8,
        })

    tiers = [
        tier("Early Bird Weekend", 4500, 150, None),
        tier("General Weekend", 6000, 300, None),
        tier("VIP Weekend", 12000, 60, None),
        tier("Friday Night", 3500, 200, 0),
        tier("Saturday Night", 4000, 250, 1),
    ]
    bundle = add_bundle(session, event, user=organizer, values={
        "name": "Weekend Bundle", "price_cents": 7000, "quantity_total": 200,
        "event_day_ids": [d.id for d in days], "discount_percentage": 10,
    })
    add_staff(session, event, by=organizer, email=scanner.email,
              access_expires_at=doors_open + timedelta(days=3))
    add_seller(session, event, by=organizer, email=seller_user.email, allocated_tickets=400,
               commission_rate_bp=1000)
    publish_event(session, event, user=organizer)

    choices: list[TicketType | Bundle] = [*tiers, bundle]
    weights = [3, 5, 1, 2, 2, 3]
    tickets = 0
    sample_tokens: list[dict[str, Any]] = []
    for n in range(1, orders + 1):
        buyer_first, buyer_last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        item = rng.choices(choices, weights)[0]
        quantity = min(rng.choice([1, 1, 1, 2, 2, 3, 4]), item.quantity_available)
        if quantity <= 0:
            continue
        cash = rng.random() < 0.15
        order = Order(
            order_number=f"SL{seed:02d}-{n:05d}", event_id=event.id,
            payment_method=PaymentMethod.CASH if cash else PaymentMethod.STRIPE,
            payment_status=PaymentStatus.COMPLETED,
            sold_by_seller_id=seller_user.id if cash else None,
            buyer_name=f"{buyer_first} {buyer_last}",
            buyer_email=f"{buyer_first}.{buyer_last}{n}@example.com".lower(),
            subtotal_cents=item.price_cents * quantity, total_cents=item.price_cents * quantity,
            completed_at=doors_open - timedelta(days=rng.randint(1, 60)), units=quantity,
        )
        is_bundle = isinstance(item, Bundle)
        order.items.append(OrderItem(
            ticket_type_id=None if is_bundle else item.id, bundle_id=item.id if is_bundle else None,
            quantity=quantity, price_per_item_cents=item.price_cents,
            subtotal_cents=item.price_cents * quantity,
        ))
        session.add(order)
        session.flush()
        item.quantity_sold += quantity
        for k in range(quantity):
            holder = (order.buyer_name if k == 0
                      else f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}")
            instance = issue_ticket_instance(
                session, order=order, event=event,
                ticket_type=None if is_bundle else item,  # type: ignore[arg-type]
                bundle=item if is_bundle else None,  # type: ignore[arg-type]
                holder_name=holder, holder_email=order.buyer_email, master_secret=master_secret,
            )
            tickets += 1
            if len(sample_tokens) < samples and (k == 0):
                sample_tokens.append({
                    "ticket_id": instance.id, "ticket_number": instance.ticket_number,
                    "holder_name": holder, "token": instance.token,
                    "valid_day_numbers": [d.day_number for d in instance.valid_days],
                    "item": item.name})
    session.flush()
    count = session.scalar(
        sa.select(sa.func.count()).select_from(Order).where(Order.event_id == event.id)
    ) or 0
    return DemoSummary(
        event_id=event.id, event_name=event.name,
        organizer={"email": organizer.email, "password": organizer_pw},
        staff={"email": scanner.email, "password": scanner_pw},
        seller={"email": seller_user.email, "password": seller_pw},
        days=[{"id": d.id, "day_number": d.day_number, "date": d.date.isoformat()} for d in days],
        ticket_types=[{"id": t.id, "name": t.name, "price_cents": t.price_cents,
                       "sold": t.quantity_sold} for t in tiers],
        bundles=[{"id": bundle.id, "name": bundle.name, "sold": bundle.quantity_sold}],
        orders=int(count), tickets=tickets, sample_tokens=sample_tokens,
    )

