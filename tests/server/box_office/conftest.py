"""Fixtures for the box office: an event with a tier, a seller, a BOX_OFFICE device."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from sync_server.box_office.codes import code_of_the_day
from sync_server.devices.models import DeviceKind
from sync_server.devices.services import create_pairing_code, pair_device
from sync_server.events.models import Event, TicketType
from sync_server.staff.models import AuthorizedSeller
from tests.server.conftest import MASTER_SECRET, Person, World, bearer


@dataclass
class Desk:
    organizer: Person
    seller: Person
    event: Event
    tier: TicketType  # $25, 100 left
    seller_id: int
    device_token: str
    device_id: int
    session: Session

    @property
    def device(self) -> dict[str, str]:
        return bearer(self.device_token)

    @property
    def base(self) -> str:
        return f"/events/{self.event.id}/box-office"

    def code(self, seller_id: int | None = None) -> str:
        seller = self.session.get(AuthorizedSeller, seller_id or self.seller_id)
        assert seller is not None
        code = code_of_the_day(self.session, seller, self.event, master_secret=MASTER_SECRET)
        self.session.commit()
        return code

    def wrong_code(self) -> str:
        return f"{(int(self.code()) + 1) % 10_000:04d}"


def new_id() -> str:
    return str(uuid.uuid4())


def box_office_device(world: World, organizer: Person, event: Event,
                      name: str = "Desk 1") -> tuple[str, int]:
    code, _ = create_pairing_code(world.session, by=organizer.user, events=[event],
                                  device_name=name, kind=DeviceKind.BOX_OFFICE)
    token, device = pair_device(world.session, code=code)
    world.session.commit()
    return token, device.id


@pytest.fixture
def desk(world: World, session: Session) -> Desk:
    organizer = world.person("Olive Organizer")
    seller = world.person("Sam Seller")
    event = world.event(organizer)
    tier = world.ticket_type(event, organizer, price_cents=2500, quantity=100)
    world.seller(event, organizer, seller, allocated=10)
    seller_id = session.scalars(sa.select(AuthorizedSeller.id).where(
        AuthorizedSeller.event_id == event.id)).one()
    token, device_id = box_office_device(world, organizer, event)
    return Desk(organizer, seller, event, tier, seller_id, token, device_id, session)


def hold(api: httpx.Client, desk: Desk, quantity: int = 2, **extra: Any) -> httpx.Response:
    body = {"client_sale_id": new_id(), "seller_id": desk.seller_id,
            "items": [{"ticket_type_id": desk.tier.id, "quantity": quantity}], **extra}
    return api.post(desk.base + "/holds", json=body, headers=desk.device)
