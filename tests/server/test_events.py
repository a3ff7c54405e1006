"""Events, days, ticket types and bundles through the API; public search."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session

from sync_server.audit.models import AuditEntry
from sync_server.orders.models import Order, PaymentMethod
from tests.server.conftest import Person, World, error_code


def make_event(api: httpx.Client, who: Person, **extra: Any) -> dict[str, Any]:
    body = {"name": "Chicago Steppers Weekend", "event_type": "TICKETED_EVENT",
            "starts_at": "2030-06-06T23:00:00Z", "ends_at": "2030-06-08T05:00:00Z",
            "timezone": "America/Chicago", "city": "Chicago", "categories": ["Set", "Workshop"],
            **extra}
    response = api.post("/events", json=body, headers=who.headers)
    assert response.status_code == 201, response.text
    event: dict[str, Any] = response.json()["event"]
    return event


def test_organizer_builds_a_two_day_ticketed_weekend(
    api: httpx.Client, world: World, session: Session
) -> None:
    organizer = world.person("Dee")
    event = make_event(api, organizer)
    assert event["status"] == "DRAFT" and event["organizer_id"] == organizer.user.id
    eid, h = event["id"], organizer.headers
    # Friday 18:00 Chicago is 23:00 UTC; the local date is kept for "which day is today".
    d1 = api.post(f"/events/{eid}/days", headers=h, json={
        "starts_at": "2030-06-06T23:00:00Z", "ends_at": "2030-06-07T05:00:00Z"}).json()["day"]
    d2 = api.post(f"/events/{eid}/days", headers=h, json={
        "starts_at": "2030-06-07T23:00:00Z", "ends_at": "2030-06-08T05:00:00Z",
        "city_override": "Evanston"}).json()["day"]
    assert (d1["day_number"], d1["date"]) == (1, "2030-06-06")
    assert (d2["day_number"], d2["date"], d2["city_override"]) == (2, "2030-06-07", "Evanston")
    clash = api.post(f"/events/{eid}/days", headers=h, json={
        "day_number": 2, "starts_at": "2030-06-08T23:00:00Z", "ends_at": "2030-06-09T05:00:00Z"})
    assert (clash.status_code, error_code(clash)) == (409, "conflict")

    weekend = api.post(f"/events/{eid}/ticket-types", headers=h, json={
        "name": "Early Bird", "price_cents": 4500, "quantity_total": 100,
        "sales_start": "2030-01-01T00:00:00Z", "sales_end": "2030-05-01T00:00:00Z"})
    assert weekend.status_code == 201, weekend.text
    friday = api.post(f"/events/{eid}/ticket-types", headers=h, json={
        "name": "Friday only", "price_cents": 3000, "quantity_total": 50,
        "event_day_id": d1["id"], "max_per_order": 4}).json()["ticket_type"]
    assert friday["event_day_id"] == d1["id"] and friday["quantity_available"] == 50
    bundle = api.post(f"/events/{eid}/bundles", headers=h, json={
        "name": "Weekend Bundle", "price_cents": 7000, "quantity_total": 80,
        "event_day_ids": [d1["id"], d2["id"]], "discount_percentage": 10})
    assert bundle.status_code == 201, bundle.text
    assert sorted(bundle.json()["bundle"]["event_day_ids"]) == [d1["id"], d2["id"]]

    edited = api.patch(f"/events/{eid}/ticket-types/{friday['id']}", headers=h,
                       json={"price_cents": 3250, "event_day_id": None})
    assert edited.json()["ticket_type"]["price_cents"] == 3250
    assert edited.json()["ticket_type"]["event_day_id"] is None

    renamed = api.patch(f"/events/{eid}", headers=h, json={"name": "Steppers Weekend",
                                                           "categories": ["Set"]})
    assert renamed.json()["event"]["name"] == "Steppers Weekend"
    assert renamed.json()["event"]["categories"] == ["Set"]

    published = api.post(f"/events/{eid}/publish", headers=h)
    assert published.json()["event"]["status"] == "PUBLISHED"
    full = api.get(f"/events/{eid}").json()["event"]
    assert [d["day_number"] for d in full["days"]] == [1, 2]
    assert len(full["ticket_types"]) == 2 and len(full["bundles"]) == 1

    # Deleting: a published event is cancelled, not deleted.
    refused = api.delete(f"/events/{eid}", headers=h)
    assert (refused.status_code, error_code(refused)) == (409, "invalid_state")
    cancelled = api.post(f"/events/{eid}/cancel", headers=h)
    assert cancelled.json()["event"]["status"] == "CANCELLED"
    again = api.post(f"/events/{eid}/publish", headers=h)
    assert (again.status_code, error_code(again)) == (409, "invalid_state")
    edit = api.patch(f"/events/{eid}", headers=h, json={"name": "x"})
    assert (edit.status_code, error_code(edit)) == (409, "invalid_state")

    actions = set(session.scalars(sa.select(AuditEntry.action).where(AuditEntry.event_id == eid)))
    assert {"event.create", "day.create", "ticket_type.create", "bundle.create",
            "ticket_type.update", "event.update", "event.publish", "event.cancel"} <= actions


def test_delete_rules(api: httpx.Client, world: World, session: Session) -> None:
    organizer = world.person()
    event = world.event(organizer, published=False)
    tier = world.ticket_type(event, organizer, day=event.days[0])
    h = organizer.headers
    blocked_day = api.delete(f"/events/{event.id}/days/{event.days[0].id}", headers=h)
    assert (blocked_day.status_code, error_code(blocked_day)) == (409, "conflict")
    session.add(Order(order_number="T-1", event_id=event.id, buyer_name="A", buyer_email="a@b.c",
                      payment_method=PaymentMethod.CASH))
    tier.quantity_sold = 1
    session.commit()
    sold = api.delete(f"/events/{event.id}/ticket-types/{tier.id}", headers=h)
    assert (sold.status_code, error_code(sold)) == (409, "conflict")
    with_orders = api.delete(f"/events/{event.id}", headers=h)
    assert (with_orders.status_code, error_code(with_orders)) == (409, "invalid_state")

    empty = world.event(organizer, published=False)
    assert api.delete(f"/events/{empty.id}/days/{empty.days[1].id}", headers=h).status_code == 200
    assert api.delete(f"/events/{empty.id}", headers=h).status_code == 200
    assert api.get(f"/events/{empty.id}", headers=h).status_code == 404


def test_event_types_constrain_tickets(api: httpx.Client, world: World) -> None:
    organizer = world.person()
    h = organizer.headers
    save = make_event(api, organizer, event_type="SAVE_THE_DATE")
    refused = api.post(f"/events/{save['id']}/ticket-types", headers=h,
                       json={"name": "GA", "price_cents": 0, "quantity_total": 5})
    assert (refused.status_code, error_code(refused)) == (409, "invalid_state")
    free = make_event(api, organizer, event_type="FREE_EVENT", door_price_text="$10 at the door")
    assert free["door_price_text"] == "$10 at the door"
    priced = api.post(f"/events/{free['id']}/ticket-types", headers=h,
                      json={"name": "RSVP", "price_cents": 500, "quantity_total": 5})
    assert priced.status_code == 422 and "price_cents" in priced.json()["error"]["fields"]
    rsvp = api.post(f"/events/{free['id']}/ticket-types", headers=h,
                    json={"name": "RSVP", "price_cents": 0, "quantity_total": 5})
    assert rsvp.status_code == 201


def test_public_search(api: httpx.Client, world: World) -> None:
    organizer = world.person()
    h = organizer.headers
    specs = [
        ("Windy City Set", "Chicago", ["Set"], "2030-05-01T23:00:00Z"),
        ("Motor City Workshop", "Detroit", ["Workshop"], "2030-06-01T23:00:00Z"),
        ("Steppers Cruise 100%", "Miami", ["Cruise"], "2030-07-01T23:00:00Z"),
        ("Hidden draft set", "Chicago", ["Set"], "2030-05-02T23:00:00Z"),
    ]
    for name, city, cats, start in specs:
        event = make_event(api, organizer, name=name, city=city, categories=cats,
                           starts_at=start, ends_at=None)
        if "draft" not in name:
            api.post(f"/events/{event['id']}/publish", headers=h)

    def names(**params: Any) -> list[str]:
        response = api.get("/events", params=params)
        assert response.status_code == 200, response.text
        return [e["name"] for e in response.json()["events"]]

    assert names() == ["Windy City Set", "Motor City Workshop", "Steppers Cruise 100%"]
    assert names(q="city") == ["Windy City Set", "Motor City Workshop"]
    assert names(q="100%") == ["Steppers Cruise 100%"]  # % is text, not a wildcard
    assert names(q="%") == ["Steppers Cruise 100%"]
    assert names(category="set") == ["Windy City Set"]
    assert names(city="detroit") == ["Motor City Workshop"]
    assert names(date_from="2030-05-15T00:00:00Z", date_to="2030-06-15T00:00:00Z") == [
        "Motor City Workshop"]
    assert names(per_page=1, page=2) == ["Motor City Workshop"]
    assert api.get("/events", params={"per_page": 1}).json()["total"] == 3
    assert api.get("/categories").json()["categories"] == ["Cruise", "Set", "Workshop"]
    mine = api.get("/me/events", headers=h).json()["events"]
    assert len(mine) == 4  # the organizer also sees the draft
