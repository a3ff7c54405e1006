"""The server speaks the shared vocabulary: its error codes extend the shared ones, and every
route writes times in the one wire format."""

from __future__ import annotations

import re

import httpx

from shared.vocabulary import ErrorCode, parse_time
from sync_server.errors import Code
from tests.server.conftest import World, bearer

WIRE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def _codes(cls: type) -> dict[str, str]:
    return {k: v for k, v in vars(cls).items() if k.isupper() and isinstance(v, str)}


def test_server_codes_extend_the_shared_ones_without_copying() -> None:
    shared, own = _codes(ErrorCode), _codes(Code)
    assert issubclass(Code, ErrorCode)
    assert not set(own.values()) & set(shared.values())
    assert all(getattr(Code, name) == value for name, value in shared.items())


def test_every_route_writes_the_one_time_format(api: httpx.Client, world: World) -> None:
    organizer = world.person()
    event = world.event(organizer)
    body = api.get(f"/events/{event.id}", headers=bearer(organizer.token)).json()["event"]
    for key in ("starts_at", "ends_at", "published_at"):
        assert WIRE_TIME.fullmatch(body[key]), (key, body[key])
        assert parse_time(body[key]) == getattr(event, key)
