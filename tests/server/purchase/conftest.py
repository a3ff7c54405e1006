"""Fixtures for the purchase engine: a shop (organizer, event, ticket types, bundle), a buyer
helper, a real SMTP server (aiosmtpd on 127.0.0.1) wired into the app's configuration."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy.orm import Session

from sync_server.events.catalog import add_bundle
from sync_server.events.models import Bundle, Event, TicketType
from sync_server.orders.services import PurchaseSettings
from tests.server.conftest import MASTER_SECRET, Person, World

SETTINGS = PurchaseSettings(master_secret=MASTER_SECRET, hold_minutes=10)


@dataclass
class Shop:
    organizer: Person
    event: Event
    day1: TicketType  # $25, 100 left, day 1
    day2: TicketType  # $30, 100 left, day 2
    bundle: Bundle  # $50, 20 left, both days


@pytest.fixture
def shop(world: World, session: Session) -> Shop:
    organizer = world.person("Olive Organizer")
    event = world.event(organizer)
    day1 = world.ticket_type(event, organizer, day=event.days[0], price_cents=2500, quantity=100)
    day2 = world.ticket_type(event, organizer, day=event.days[1], price_cents=3000, quantity=100)
    bundle = add_bundle(session, event, user=organizer.user, values={
        "name": "Weekend pass", "price_cents": 5000, "quantity_total": 20,
        "event_day_ids": [d.id for d in event.days]})
    session.commit()
    return Shop(organizer, event, day1, day2, bundle)


def buy(api: httpx.Client, person: Person, event: Event, *items: tuple[str, int, int],
        **extra: Any) -> httpx.Response:
    """POST /checkout; items are ("ticket_type" | "bundle", id, quantity). Paid orders are
    CASH unless asked otherwise: a card order opens a Stripe payment page (tests/server/payments).
    """
    extra.setdefault("payment_method", "CASH")
    body = {"event_id": event.id,
            "items": [{f"{kind}_id": ident, "quantity": n} for kind, ident, n in items], **extra}
    return api.post("/checkout", json=body, headers=person.headers)


@dataclass
class Mailbox:
    """What the local SMTP server received, as parsed messages."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def mailbox(app: Flask) -> Iterator[Mailbox]:
    """A real SMTP server on 127.0.0.1, and the app configured to send through it."""
    box = Mailbox("127.0.0.1", free_port())
    controller = Controller(box, hostname=box.host, port=box.port)
    controller.start()
    config = app.extensions["sync_config"]
    app.extensions["sync_config"] = config.model_copy(update=dict(
        smtp_host=box.host, smtp_port=box.port, smtp_from="Tickets <tickets@example.test>"))
    try:
        yield box
    finally:
        controller.stop()
        app.extensions["sync_config"] = config
