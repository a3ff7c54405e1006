"""Fixtures for the sync server: a migrated database on both legs, the app, HTTP clients, data.

``app`` builds the real Flask app on the ``database_url`` leg (SQLite file, then PostgreSQL)
brought to the real Alembic migrations' head (``database_at_head``, tests/conftest.py).
``api`` is an httpx client speaking real HTTP to that app through ``httpx.WSGITransport`` (no
sockets). ``world`` makes users, tokens and events through the same services the routes use.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from sqlalchemy.orm import Session

from shared.wire_fields import adapter
from sync_server import api_routes, create_app
from sync_server.accounts.models import User
from sync_server.accounts.services import create_user
from sync_server.auth.tokens import issue_api_token
from sync_server.devices.models import Device
from sync_server.devices.services import create_pairing_code, pair_device
from sync_server.events.catalog import add_day, add_ticket_type
from sync_server.events.models import Event, EventDay, EventType, TicketType
from sync_server.events.services import create_event, publish_event
from sync_server.staff.models import StaffRole
from sync_server.staff.services import add_seller, add_staff
from tests.support.apps import close_app

MASTER_SECRET = bytes(range(32))
PASSWORD = "correct horse battery"


def server_config(database_url: str, instance: Path) -> dict[str, Any]:
    return {
        "database_url": database_url,
        "instance_path": instance,
        "secret_key": "test-secret-key",
        "master_secret": MASTER_SECRET,
        "testing": True,
        # The purchase tests buy CASH to hold tickets without Stripe (tests/server/payments has
        # the card flow); production refuses CASH online (test_checkout checks it).
        "online_cash_orders": True,
        # Cheap argon2 for tests: the cost is configuration, the algorithm is the same.
        "argon2_time_cost": 1,
        "argon2_memory_kib": 8,
        "argon2_parallelism": 1,
    }


@pytest.fixture
def app(database_at_head: str, tmp_path: Path) -> Iterator[Flask]:
    application = create_app(server_config(database_at_head, tmp_path / "instance"))
    yield application
    close_app(application)


def _route_patterns() -> list[tuple[re.Pattern[str], str, type[Any] | None]]:
    patterns = []
    for route in api_routes():
        parts = re.split(r"<[a-z]+:[a-z_]+>", route.path)
        regex = r"\d+".join(re.escape(part) for part in parts)
        patterns.append((re.compile(regex), route.method, route.response))
    return patterns


def check_response_shape(response: httpx.Response) -> None:
    """Every successful response must match the shape its route documents (if it documents one)."""
    if not 200 <= response.status_code < 300:
        return
    response.read()
    path, method = response.request.url.path, response.request.method
    for pattern, route_method, model in _route_patterns():
        if route_method == method and pattern.fullmatch(path):
            if model is not None:
                adapter(model).validate_python(response.json())
            return


@pytest.fixture
def api(app: Flask) -> Iterator[httpx.Client]:
    """HTTP to the app; each 2xx body is checked against its route's documented response."""
    transport = httpx.WSGITransport(app=app)
    with httpx.Client(transport=transport, base_url="http://testserver/api/v1",
                      event_hooks={"response": [check_response_shape]}) as client:
        yield client


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A session of its own on the app's database (outside any request)."""
    factory = app.extensions["sync_db_sessionmaker"]
    with factory() as s:
        yield s


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Person:
    user: User
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


_counter = itertools.count(1)


class World:
    """Builds data through the services, committing each step."""

    def __init__(self, app: Flask, session: Session) -> None:
        self.app = app
        self.session = session
        self.hasher = app.extensions["sync_hasher"]

    def person(self, name: str = "", *, is_admin: bool = False) -> Person:
        n = next(_counter)
        name = name or f"Person {n}"
        user = create_user(self.session, email=f"user{n}@example.test", password=PASSWORD,
                           name=name, hasher=self.hasher, is_admin=is_admin,
                           email_verified=True)  # a confirmed account (signs in like one)
        token, _ = issue_api_token(self.session, user, days=1)
        self.session.commit()
        return Person(user, token)

    def event(self, organizer: Person, *, published: bool = True, days: int = 2,
              event_type: EventType = EventType.TICKETED_EVENT, name: str = "",
              allow_waitlist: bool = False) -> Event:
        start = datetime(2030, 6, 6, 23, 0, tzinfo=UTC)
        event = create_event(self.session, organizer=organizer.user, values={
            "name": name or f"Dance weekend {next(_counter)}", "event_type": event_type,
            "starts_at": start, "ends_at": start + timedelta(days=days),
            "timezone": "America/Chicago", "city": "Chicago", "categories": ["Set"],
            "allow_waitlist": allow_waitlist,
        })
        for i in range(days):
            add_day(self.session, event, user=organizer.user, values={
                "starts_at": start + timedelta(days=i),
                "ends_at": start + timedelta(days=i, hours=6),
            })
        if published:
            publish_event(self.session, event, user=organizer.user)
        self.session.commit()
        return event

    def ticket_type(self, event: Event, organizer: Person, *, day: EventDay | None = None,
                    price_cents: int = 2500, quantity: int = 100) -> TicketType:
        row = add_ticket_type(self.session, event, user=organizer.user, values={
            "name": f"Tier {next(_counter)}", "price_cents": price_cents,
            "quantity_total": quantity, "event_day_id": day.id if day else None,
        })
        self.session.commit()
        return row

    def staff(self, event: Event, organizer: Person, person: Person, *,
              expires_at: datetime | None = None) -> None:
        expires = expires_at or datetime.now(UTC) + timedelta(days=1)
        row = add_staff(self.session, event, by=organizer.user, email=person.user.email,
                        access_expires_at=datetime.now(UTC) + timedelta(days=1),
                        role=StaffRole.SCANNER)
        row.access_expires_at = expires  # set directly: the API refuses a past expiry
        self.session.commit()

    def seller(self, event: Event, organizer: Person, person: Person, allocated: int = 50) -> None:
        add_seller(self.session, event, by=organizer.user, email=person.user.email,
                   allocated_tickets=allocated, commission_rate_bp=1000)
        self.session.commit()

    def device(self, organizer: Person, *events: Event, name: str = "Door 1") -> tuple[str, Device]:
        code, _ = create_pairing_code(self.session, by=organizer.user, events=list(events),
                                      device_name=name)
        token, device = pair_device(self.session, code=code)
        self.session.commit()
        return token, device


@pytest.fixture
def world(app: Flask, session: Session) -> World:
    return World(app, session)


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    code: str = body["error"]["code"]
    return code
