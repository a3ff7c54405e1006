"""Organizer pages: a web client signed in as someone, an event with sales and door scans."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import httpx
import pytest
from flask import Flask
from sqlalchemy.orm import Session

from sync_server.events.models import Event, TicketType
from sync_server.tickets.models import TicketInstance
from tests.server.conftest import PASSWORD, Person, World
from tests.server.door.conftest import (
    Door,
    sell,
    server_clock_after_the_event,  # noqa: F401 (scans in 2030)
)


def csrf(html: str) -> str:
    match = re.search(r'name="(?:[a-z]+-)?csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def web_as(app: Flask, person: Person | None) -> httpx.Client:
    client = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://testserver",
                          follow_redirects=False)
    if person is not None:
        page = client.get("/sign-in")
        done = client.post("/sign-in", data={"email": person.user.email, "password": PASSWORD,
                                             "csrf_token": csrf(page.text)})
        assert done.status_code == 302, done.text
    return client


@dataclass
class Night:
    organizer: Person
    staff: Person
    seller: Person
    stranger: Person
    event: Event
    tier: TicketType
    north: Door
    south: Door
    tickets: list[TicketInstance] = field(default_factory=list)

    def url(self, tail: str = "") -> str:
        return f"/organize/events/{self.event.id}{tail}"


@pytest.fixture
def night(world: World, session: Session) -> Night:
    organizer = world.person("Olive Organizer")
    staff, seller, stranger = (world.person(n) for n in ("Sam Staff", "Sue Seller", "Stan"))
    event = world.event(organizer)
    tier = world.ticket_type(event, organizer, quantity=1000)
    world.staff(event, organizer, staff)
    world.seller(event, organizer, seller)
    north = Door(*world.device(organizer, event, name="North"))
    south = Door(*world.device(organizer, event, name="South"))
    tickets = sell(session, event, tier, 3, name="Ada Lovelace")
    tickets += sell(session, event, tier, 2, name="Grace Hopper")
    return Night(organizer, staff, seller, stranger, event, tier, north, south, tickets)
