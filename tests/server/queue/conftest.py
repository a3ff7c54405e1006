"""Fixtures for the waiting list: a sold-out ticket type and people in line."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from flask import Flask
from sqlalchemy.orm import Session

from sync_server.events.models import Event, TicketType
from sync_server.orders.services import PurchaseSettings
from sync_server.queue.services import QueueSettings
from tests.server.conftest import MASTER_SECRET, Person, World

SETTINGS = QueueSettings(purchase=PurchaseSettings(master_secret=MASTER_SECRET), offer_minutes=5)


@dataclass
class SoldOut:
    organizer: Person
    event: Event
    tier: TicketType  # free, 2 units, both sold (the event takes a waiting list)
    buyers: list[Person]
    order_ids: list[int]


def buy(api: httpx.Client, person: Person, event: Event, tier: TicketType,
        quantity: int = 1) -> httpx.Response:
    return api.post("/checkout", headers=person.headers, json={
        "event_id": event.id, "payment_method": "CASH",
        "items": [{"ticket_type_id": tier.id, "quantity": quantity}]})


def join(api: httpx.Client, person: Person, event: Event, tier: TicketType) -> httpx.Response:
    return api.post("/queue/join", headers=person.headers,
                    json={"event_id": event.id, "ticket_type_id": tier.id})


@pytest.fixture
def sold_out(app: Flask, api: httpx.Client, world: World, session: Session) -> SoldOut:
    organizer = world.person("Olive Organizer")
    event = world.event(organizer, allow_waitlist=True)
    tier = world.ticket_type(event, organizer, price_cents=0, quantity=2)
    buyers, orders = [], []
    for _ in range(2):
        buyer = world.person()
        reply = buy(api, buyer, event, tier)
        assert reply.status_code == 201, reply.text
        assert reply.json()["order"]["payment_status"] == "COMPLETED"
        buyers.append(buyer)
        orders.append(reply.json()["order"]["id"])
    return SoldOut(organizer, event, tier, buyers, orders)
