"""Data and sign-in for the organizer page tests: people and an event made by the real services
on the live app's database, and a browser page signed in through the sign-in form."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from sync_server.events.catalog import add_bundle
from sync_server.events.models import Event
from sync_server.orders.discounts import create_discount_code
from sync_server.orders.models import DiscountType
from tests.server.conftest import PASSWORD, Person, World


@dataclass
class Cast:
    organizer: Person
    staff: Person
    seller: Person
    stranger: Person
    event: Event


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/sign-in")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def session_of(app: Flask) -> Session:
    session: Session = app.extensions["sync_db_sessionmaker"](expire_on_commit=False)
    return session


def cast(app: Flask, session: Session) -> Cast:
    """An organizer's published two-day event with tiers, a bundle, a code, staff, a seller and
    a paired door; and three people with other roles, or none."""
    world = World(app, session)
    organizer = world.person("Olive Organizer")
    staff, seller, stranger = (world.person(n) for n in ("Sam Staff", "Sal Seller", "Stan Ger"))
    event = world.event(organizer, name="Spring Fling Weekend")
    world.ticket_type(event, organizer, price_cents=2500, quantity=150)
    add_bundle(session, event, user=organizer.user, values={
        "name": "Both nights", "price_cents": 4000, "quantity_total": 40,
        "event_day_ids": [d.id for d in event.days]})
    now = datetime.now(UTC)
    create_discount_code(session, event, user=organizer.user, code="EARLY10",
                         discount_type=DiscountType.PERCENTAGE, value=10, valid_from=now,
                         valid_until=now + timedelta(days=30), max_uses=100)
    session.commit()
    world.staff(event, organizer, staff)
    world.seller(event, organizer, seller)
    world.device(organizer, event, name="Front door")
    return Cast(organizer, staff, seller, stranger, event)
