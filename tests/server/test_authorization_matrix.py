"""Every /api/v1 route against every kind of caller: only the allowed pass; refusals are exact.

The routes come from the app itself (its URL map, cross-checked with the route registry), so a
new route cannot be left out: it is probed here by the access rule it was declared with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from sync_server import api_routes
from sync_server.api import API_PREFIX, ApiRoute
from sync_server.auth.access import Access
from sync_server.devices.services import revoke_device
from sync_server.events.catalog import add_bundle
from sync_server.models import Base
from sync_server.orders.discounts import create_discount_code
from sync_server.orders.models import DiscountType
from sync_server.staff.models import AuthorizedSeller, EventStaff
from tests.server.conftest import World, bearer, error_code
from tests.server.door.conftest import sell

PASS = "pass"


@dataclass(frozen=True)
class Caller:
    name: str
    headers: dict[str, str]


def expected(access: Access, caller: str) -> tuple[int, str] | str:
    """What ``caller`` gets from a route with ``access`` on the (draft) target event.

    Callers: anonymous; a buyer (no role anywhere); the organizer of another event; a scanner of
    another event; a revoked device of this event; staff of this event whose access expired;
    and the allowed kinds: this event's seller, unexpired staff, organizer and paired device.
    """
    if caller == "revoked_device":
        return (401, "device_revoked")
    if access is Access.PUBLIC:
        return PASS
    if caller == "anonymous":
        return (401, "auth_required")
    is_device = caller == "device"
    if access is Access.USER:
        return (403, "forbidden") if is_device else PASS
    if access is Access.DEVICE:
        return PASS if is_device else (403, "forbidden")
    if caller == "organizer":
        device_only = {Access.EVENT_DEVICE, Access.BOX_OFFICE_DEVICE}
        return PASS if access not in device_only else (403, "forbidden")
    if caller == "seller":
        seller_ok = {Access.EVENT_READ, Access.EVENT_SELLER, Access.EVENT_BOX_OFFICE}
        return PASS if access in seller_ok else (403, "forbidden")
    if caller == "staff":
        return PASS if access in {Access.EVENT_READ, Access.EVENT_DOOR} else (403, "forbidden")
    if is_device:
        device_ok = {Access.EVENT_READ, Access.EVENT_DOOR, Access.EVENT_DEVICE}
        return PASS if access in device_ok else (403, "forbidden")
    staff_counts = {Access.EVENT_READ, Access.EVENT_DOOR}
    if caller == "expired_staff" and access in staff_counts:
        return (403, "access_expired")
    return (403, "forbidden")


def registered_api_routes(app: Flask) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(API_PREFIX):
            for method in rule.methods or ():
                if method not in {"HEAD", "OPTIONS"}:
                    found.add((rule.rule[len(API_PREFIX):], method))
    return found


def table_counts(session: Session) -> dict[str, int]:
    session.expire_all()
    return {
        name: session.scalar(sa.select(sa.func.count()).select_from(table)) or 0
        for name, table in Base.metadata.tables.items()
        if name != "rate_limits"  # counting attempts is the point of that table
    }


@pytest.mark.slow  # every route times every kind of caller
def test_every_route_refuses_exactly_who_it_should(
    app: Flask, api: httpx.Client, world: World, session: Session
) -> None:
    organizer = world.person("Olive Organizer")
    buyer = world.person("Bo Buyer")
    other_organizer = world.person("Otto Other")
    other_scanner = world.person("Sid Scanner")
    expired = world.person("Ex Staff")
    seller = world.person("Sel Seller")
    door_staff = world.person("Dot Door")

    event = world.event(organizer, published=False)
    other_event = world.event(other_organizer)
    day = event.days[0]
    ticket_type = world.ticket_type(event, organizer, day=day)
    bundle = add_bundle(session, event, user=organizer.user, values={
        "name": "Both days", "price_cents": 5000, "quantity_total": 10,
        "event_day_ids": [d.id for d in event.days]})
    session.commit()
    world.staff(other_event, other_organizer, other_scanner)
    world.staff(event, organizer, expired, expires_at=datetime.now(UTC) - timedelta(minutes=1))
    world.seller(event, organizer, seller)
    world.staff(event, organizer, door_staff)
    device_token, device = world.device(organizer, event, name="Door A")
    revoked_token, revoked = world.device(organizer, event, name="Door B")
    revoke_device(session, revoked, by=organizer.user)
    code = create_discount_code(session, event, user=organizer.user, code="MATRIX",
                                discount_type=DiscountType.PERCENTAGE, value=10,
                                valid_from=datetime.now(UTC),
                                valid_until=datetime.now(UTC) + timedelta(days=1))
    session.commit()

    ids = {
        "code_id": code.id,
        "event_id": event.id, "day_id": day.id, "ticket_type_id": ticket_type.id,
        "bundle_id": bundle.id, "device_id": device.id, "sale_id": 987654,
        "order_id": sell(session, event, ticket_type, 1)[0].order_id,
        "staff_id": session.scalars(sa.select(EventStaff.id).where(
            EventStaff.event_id == event.id, EventStaff.user_id == expired.user.id)).one(),
        "seller_id": session.scalars(sa.select(AuthorizedSeller.id).where(
            AuthorizedSeller.event_id == event.id)).one(),
    }
    callers = [
        Caller("anonymous", {}),
        Caller("buyer", buyer.headers),
        Caller("other_organizer", other_organizer.headers),
        Caller("other_scanner", other_scanner.headers),
        Caller("revoked_device", bearer(revoked_token)),
        Caller("expired_staff", expired.headers),
        Caller("seller", seller.headers),
        Caller("staff", door_staff.headers),
        Caller("organizer", organizer.headers),
        Caller("device", bearer(device_token)),
    ]

    # The registry is the app's URL map: nothing registered outside it, nothing missing.
    routes = api_routes()
    assert registered_api_routes(app) == {(r.rule, r.method) for r in routes}
    assert len(routes) >= 35

    def url(route: ApiRoute) -> str:
        path = re.sub(r"<id:([a-z_]+)>", lambda m: str(ids[m.group(1)]), route.rule)
        assert "<" not in path, f"no id for {route.rule}"
        return path

    def call(route: ApiRoute, caller: Caller) -> httpx.Response:
        body: dict[str, object] | None = {} if route.body is not None else None
        return api.request(route.method, url(route), headers=caller.headers, json=body)

    before = table_counts(session)
    refusals = 0
    for route in routes:
        for caller in callers:
            want = expected(route.access, caller.name)
            if want == PASS:
                continue
            response = call(route, caller)
            assert (response.status_code, error_code(response)) == want, (
                f"{route.method} {route.rule} as {caller.name}: {response.text}")
            refusals += 1
    assert refusals > 150
    assert table_counts(session) == before, "a refused request wrote something"

    # Now the allowed callers: never 401/403 (nor 500). Devices first (the organizer may revoke
    # the device), destructive calls last, signing out at the very end.
    # Signing out everywhere revokes the caller's token before its own sign-out could run: it
    # is refused to anonymous callers above and tested on its own (tests/server/test_accounts*).
    probes = [(route, caller) for route in routes for caller in callers
              if expected(route.access, caller.name) == PASS
              and not route.rule.endswith("/sign-out-everywhere")]

    def order(probe: tuple[ApiRoute, Caller]) -> tuple[int, int, int]:
        route, caller = probe
        destructive = route.method == "DELETE" or route.rule.endswith(("/revoke", "/cancel"))
        return (caller.name != "device", route.rule.endswith("/sign-out"), destructive)

    for route, caller in sorted(probes, key=order):
        response = call(route, caller)
        assert response.status_code not in {401, 403, 500}, (
            f"{route.method} {route.rule} as {caller.name}: {response.text}")


def test_published_event_reads_are_public_and_staff_reads_drafts(
    api: httpx.Client, world: World
) -> None:
    organizer, scanner, buyer = world.person(), world.person(), world.person()
    published = world.event(organizer)
    draft = world.event(organizer, published=False)
    world.staff(draft, organizer, scanner)
    for path in ("", "/days", "/ticket-types", "/bundles"):
        assert api.get(f"/events/{published.id}{path}").status_code == 200
        assert api.get(f"/events/{draft.id}{path}", headers=scanner.headers).status_code == 200
        refused = api.get(f"/events/{draft.id}{path}", headers=buyer.headers)
        assert (refused.status_code, error_code(refused)) == (403, "forbidden")
    door = api.get(f"/events/{draft.id}/door", headers=scanner.headers)
    assert door.status_code == 200
    assert door.json()["event"]["id"] == draft.id


def test_admin_acts_as_organizer_of_every_event(api: httpx.Client, world: World) -> None:
    organizer = world.person()
    admin = world.person(is_admin=True)
    event = world.event(organizer, published=False)
    response = api.patch(f"/events/{event.id}", headers=admin.headers, json={"city": "Detroit"})
    assert response.status_code == 200, response.text
    assert response.json()["event"]["city"] == "Detroit"


def test_bad_bearer_tokens_are_refused_everywhere(api: httpx.Client, world: World) -> None:
    for header in ("Bearer slu_nope", "Bearer sld_nope", "Bearer x", "Basic abc", "Bearer ",
                   "Bearer " + "a" * 500):
        response = api.get("/events", headers={"Authorization": header})
        assert (response.status_code, error_code(response)) == (401, "invalid_token"), header
        assert response.headers["WWW-Authenticate"] == "Bearer"
