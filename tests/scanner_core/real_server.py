"""The real sync server for door-side tests: no fakes of our own server.

``RealServer`` is the real Flask app (``sync_server.create_app``) on a migrated SQLite file, with
data made through the server's own services (an organizer, events whose first day is open right
now, tickets sold and signed by the real issuing service, pairing codes). The door reaches it
in-process through ``httpx.WSGITransport`` (``client()``) or over a real socket
(``LiveServer``: werkzeug in a thread, stopped and started again on the same port). Subprocess
tests use ``tests.e2e.conftest.ServerProcess`` instead.

SQLite is enough here: these tests are about the door; the server's own tests run PostgreSQL too.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session
from werkzeug.serving import BaseWSGIServer, make_server

from shared.ticket_token import TicketClaims, sign
from sync_server import create_app
from sync_server.devices.models import Device
from sync_server.devices.services import create_pairing_code, revoke_device
from sync_server.door.changes import next_change
from sync_server.door.models import DoorScan, table_of
from sync_server.events.catalog import add_day, add_ticket_type
from sync_server.events.models import Event, TicketType
from sync_server.events.services import create_event, publish_event
from sync_server.keys.services import active_key_version, event_key
from sync_server.orders.models import Order, PaymentMethod, PaymentStatus
from sync_server.tickets.models import TicketInstance, TicketStatus, ticket_instance_days
from tests.e2e.conftest import free_port
from tests.server.conftest import MASTER_SECRET, Person, World, server_config
from tests.server.door.conftest import sell
from tests.support.apps import close_app
from tests.support.databases import reset_to_head

BASE_URL = "http://testserver"


def ticket_token(ticket: TicketInstance) -> str:
    assert ticket.token is not None
    return ticket.token


class RealServer:
    """The real app and a session on its database; builds data through the real services."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.session: Session = app.extensions["sync_db_sessionmaker"](expire_on_commit=False)
        self.world = World(app, self.session)
        self.organizer: Person = self.world.person("Olive Organizer")

    def close(self) -> None:
        self.session.close()
        close_app(self.app)

    # --- talking to it ---------------------------------------------------------------------

    def transport(self) -> httpx.WSGITransport:
        return httpx.WSGITransport(app=self.app)

    def client(self, **kwargs: object) -> httpx.Client:
        """Real HTTP to the real app, in this process (no sockets)."""
        return httpx.Client(transport=self.transport(), base_url=BASE_URL, **kwargs)  # type: ignore[arg-type]

    # --- data --------------------------------------------------------------------------------

    def event(self, *, tickets: int = 0, name: str = "Spring Fling",
              ) -> tuple[Event, TicketType, list[TicketInstance]]:
        """A published event whose only day started an hour ago, and ``tickets`` sold."""
        start = datetime.now(UTC) - timedelta(hours=1)
        user = self.organizer.user
        event = create_event(self.session, organizer=user, values={
            "name": name, "event_type": "TICKETED_EVENT", "starts_at": start,
            "ends_at": start + timedelta(hours=8), "timezone": "America/Chicago",
            "city": "Chicago"})
        add_day(self.session, event, user=user, values={
            "starts_at": start, "ends_at": start + timedelta(hours=8)})
        publish_event(self.session, event, user=user)
        tier = add_ticket_type(self.session, event, user=user, values={
            "name": "Weekend pass", "price_cents": 2500, "quantity_total": 50_000})
        self.session.commit()
        sold = self.sell(event, tier, tickets) if tickets else []
        return event, tier, sold

    def sell(self, event: Event, tier: TicketType, count: int,
             name: str = "Guest") -> list[TicketInstance]:
        return sell(self.session, event, tier, count, name=name)

    def bulk_sell(self, event: Event, tier: TicketType, count: int) -> list[str]:
        """``count`` tickets inserted in bulk (as bench/door_sync.py does: the issuing service
        flushes per ticket, far too slow for tens of thousands); returns their tokens."""
        version = active_key_version(self.session, event.id).version
        key = event_key(MASTER_SECRET, event.id, version)
        order = Order(order_number=f"SL-BULK-{event.id}-{count}", event_id=event.id,
                      buyer_name="Bulk Buyer", buyer_email="bulk@example.com",
                      payment_method=PaymentMethod.STRIPE,
                      payment_status=PaymentStatus.COMPLETED)
        self.session.add(order)
        self.session.flush()
        first = int(self.session.scalar(
            sa.select(sa.func.coalesce(sa.func.max(TicketInstance.id), 0))) or 0) + 1
        change = next_change(self.session, event.id)
        day_ids = [day.id for day in event.days]
        rows, links, tokens = [], [], []
        for i in range(count):
            ticket_id = first + i
            token = sign(TicketClaims(event.id, ticket_id, version), key)
            tokens.append(token)
            rows.append({"id": ticket_id, "event_id": event.id, "order_id": order.id,
                         "ticket_type_id": tier.id, "ticket_number": f"BULK-{ticket_id:08d}",
                         "holder_name": f"Bulk Guest {i}", "holder_email": f"bulk{i}@example.com",
                         "status": TicketStatus.VALID, "key_version": version, "token": token,
                         "door_change": change, "manual_checkin": False})
            links += [{"ticket_instance_id": ticket_id, "event_day_id": d} for d in day_ids]
        self.session.execute(sa.insert(table_of(TicketInstance)), rows)
        self.session.execute(sa.insert(ticket_instance_days), links)
        self.session.commit()
        return tokens

    def pairing_code(self, *events: Event, name: str = "North") -> str:
        code, _ = create_pairing_code(self.session, by=self.organizer.user, events=list(events),
                                      device_name=name)
        self.session.commit()
        return code

    def device(self, name: str) -> Device:
        self.session.expire_all()
        return self.session.scalars(sa.select(Device).where(Device.name == name)).one()

    def revoke(self, name: str) -> None:
        revoke_device(self.session, self.device(name), by=self.organizer.user)
        self.session.commit()

    def unassign(self, name: str) -> None:
        """The organizer takes every event away from the device ``name``."""
        self.device(name).events = []
        self.session.commit()

    def ticket(self, ticket_id: int) -> TicketInstance:
        self.session.expire_all()
        row = self.session.get(TicketInstance, ticket_id)
        assert row is not None
        return row

    def door_scans(self) -> list[DoorScan]:
        """Every scan upload the server stored, in arrival order."""
        self.session.expire_all()
        return list(self.session.scalars(sa.select(DoorScan).order_by(DoorScan.id)))

    def stored_scan_ids(self) -> list[str]:
        return [str(row.scan_id) for row in self.door_scans()]


def real_app(folder: Path) -> Flask:
    """The real app on a freshly migrated SQLite file under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'sync-server.db'}"
    reset_to_head(url)
    return create_app(server_config(url, folder / "instance"))


@pytest.fixture
def real_server(tmp_path: Path) -> Iterator[RealServer]:
    server = RealServer(real_app(tmp_path / "server"))
    yield server
    server.close()


class LiveServer:
    """The real app served over a real socket by werkzeug in a thread; it can go away and come
    back on the same port (the database stays)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.port = free_port()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert self._server is None
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        assert self._thread is not None
        self._thread.join(10)
        self._server = self._thread = None
