"""The box office against the real sync server (no fake of our own server).

``BoxWorld`` makes, through the server's own services, an event open now with two ticket types,
a seller with an allocation, and a device paired as BOX_OFFICE; the desk (``core/desk.Desk``)
talks to the real Flask app in process (``httpx.WSGITransport``) or over a real socket
(``LiveServer``, for the window and for going offline).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from scanner_app.core.box_api import HttpBoxApi, event_path
from scanner_app.core.desk import Desk
from scanner_app.core.door import Door
from scanner_app.core.sync import SyncEngine, pair
from scanner_app.storage.store import DoorStore
from sync_server.devices.models import DeviceKind
from sync_server.devices.services import create_pairing_code
from sync_server.events.catalog import add_ticket_type
from sync_server.events.models import Event, TicketType
from sync_server.staff.models import AuthorizedSeller
from tests.scanner_core.real_server import LiveServer, RealServer, real_app
from tests.server.conftest import Person, bearer

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
SELLER_EMAIL_NAME = "Sam Seller"


@pytest.fixture(autouse=True)
def _no_os_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEPPERSLIFE_DOOR_NO_KEYRING", "1")


@dataclass
class BoxWorld:
    server: RealServer
    event: Event
    general: TicketType
    vip: TicketType
    seller: Person
    seller_row: AuthorizedSeller

    @property
    def email(self) -> str:
        return self.seller.user.email

    def code(self) -> str:
        """The seller's code of the day, as the organizer reads it (``GET E/codes``)."""
        with self.server.client() as client:
            answer = client.get(event_path(self.event.id, "codes"),
                                headers=bearer(self.server.organizer.token))
        assert answer.status_code == 200, answer.text
        [row] = [c for c in answer.json()["codes"] if c["seller_id"] == self.seller_row.id]
        return str(row["code"])

    def wrong_code(self) -> str:
        return f"{(int(self.code()) + 1) % 10_000:04d}"

    def pairing_code(self, name: str, kind: DeviceKind = DeviceKind.BOX_OFFICE) -> str:
        code, _ = create_pairing_code(self.server.session, by=self.server.organizer.user,
                                      events=[self.event], device_name=name, kind=kind)
        self.server.session.commit()
        return code

    def pair(self, data_dir: Path, client: httpx.Client, name: str = "Front desk",
             kind: DeviceKind = DeviceKind.BOX_OFFICE) -> None:
        """Pair a device and run its first door sync (the desk learns its events from it)."""
        pair(client, data_dir, self.pairing_code(name, kind))
        store = DoorStore.open_active(data_dir)
        try:
            SyncEngine(store, client).sync_once()
        finally:
            store.close()

    def seller_view(self) -> AuthorizedSeller:
        self.server.session.expire_all()
        row = self.server.session.get(AuthorizedSeller, self.seller_row.id)
        assert row is not None
        return row

    def server_sales(self) -> list[dict[str, object]]:
        """Every box-office sale the server stored, as its API answers for the organizer."""
        with self.server.client() as client:
            answer = client.get(event_path(self.event.id, "sales"),
                                params={"seller_id": self.seller_row.id},
                                headers=bearer(self.server.organizer.token))
        assert answer.status_code == 200, answer.text
        return list(answer.json()["sales"])

    def report(self) -> dict[str, object]:
        with self.server.client() as client:
            answer = client.get(event_path(self.event.id, "report"),
                                params={"seller_id": self.seller_row.id},
                                headers=bearer(self.server.organizer.token))
        assert answer.status_code == 200, answer.text
        [row] = [s for s in answer.json()["sellers"] if s["seller_id"] == self.seller_row.id]
        return dict(row)


def make_world(server: RealServer) -> BoxWorld:
    event, general, _ = server.event(name="Friday Night Steppers")
    vip = add_ticket_type(server.session, event, user=server.organizer.user, values={
        "name": "VIP", "price_cents": 6000, "quantity_total": 100})
    server.session.commit()
    seller = server.world.person(SELLER_EMAIL_NAME)
    server.world.seller(event, server.organizer, seller, allocated=60)
    row = server.session.scalars(sa.select(AuthorizedSeller).where(
        AuthorizedSeller.event_id == event.id)).one()
    return BoxWorld(server, event, general, vip, seller, row)


@pytest.fixture
def box_server(tmp_path: Path) -> Iterator[RealServer]:
    server = RealServer(real_app(tmp_path / "server"))
    yield server
    server.close()


@pytest.fixture
def world(box_server: RealServer) -> BoxWorld:
    return make_world(box_server)


@pytest.fixture
def live(box_server: RealServer) -> Iterator[LiveServer]:
    server = LiveServer(box_server.app)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "desk"


def open_desk_on(data_dir: Path, client: httpx.Client) -> Desk:
    store = DoorStore.open_active(data_dir)
    return Desk(store, HttpBoxApi(client, store.device_token()))


@pytest.fixture
def desk(world: BoxWorld, data_dir: Path) -> Iterator[Desk]:
    """A desk paired as BOX_OFFICE with the real app in process, the seller signed in."""
    client = world.server.client()
    world.pair(data_dir, client)
    desk = open_desk_on(data_dir, client)
    desk.sign_in(world.event.id, world.email, world.code())
    desk.refresh()
    yield desk
    desk.close()
    client.close()


def door_on(data_dir: Path) -> Door:
    return Door.open(data_dir)


class Network(httpx.BaseTransport):
    """The real app behind a switch: ``up = False`` is a venue without internet (every request
    fails to connect); ``lose_answer_to`` makes the server do one matching request and the
    desk never hear the answer (the cable pulled, or the app killed, mid-request)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.up = True
        self.lose_answer_to: str | None = None  # a path fragment, e.g. "/confirm"
        self.requests: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(f"{request.method} {request.url.path}")
        if not self.up:
            raise httpx.ConnectError("the venue's network is down", request=request)
        response = self.inner.handle_request(request)
        if self.lose_answer_to and self.lose_answer_to in request.url.path:
            self.lose_answer_to = None
            response.read()
            raise httpx.ReadError("connection lost before the answer", request=request)
        return response


@pytest.fixture
def network(box_server: RealServer) -> Network:
    return Network(box_server.transport())


@pytest.fixture
def net_desk(world: BoxWorld, data_dir: Path, network: Network) -> Iterator[Desk]:
    """Like ``desk``, through the switchable ``network``."""
    client = httpx.Client(transport=network, base_url="http://testserver")
    world.pair(data_dir, client)
    desk = open_desk_on(data_dir, client)
    desk.sign_in(world.event.id, world.email, world.code())
    desk.refresh()
    yield desk
    desk.close()
    client.close()
