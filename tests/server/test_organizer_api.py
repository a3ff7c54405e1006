"""The API side of what the organizer pages do: a stale edit of an event, a day, a ticket type or
a bundle refused when the client says which version it read, and discount codes edited and
deactivated."""

from __future__ import annotations

import httpx
import pytest
from flask import Flask

from tests.server.conftest import World


def test_the_api_edits_and_deactivates_a_code_too(
    app: Flask, world: World, api: httpx.Client
) -> None:
    organizer, other = world.person("Olive"), world.person("Other")
    event = world.event(organizer)
    made = api.post(f"/events/{event.id}/discount-codes", headers=organizer.headers, json={
        "code": "vip", "discount_type": "FIXED_AMOUNT", "value": 500,
        "valid_from": "2030-01-01T00:00:00Z", "valid_until": "2030-06-01T00:00:00Z"})
    assert made.status_code == 201
    url = f"/events/{event.id}/discount-codes/{made.json()['discount_code']['id']}"
    assert api.patch(url, headers=other.headers, json={"active": False}).status_code == 403
    changed = api.patch(url, headers=organizer.headers, json={"active": False, "value": 700})
    assert changed.status_code == 200
    assert (changed.json()["discount_code"]["active"], changed.json()["discount_code"]["value"]
            ) == (False, 700)
    refused = api.patch(url, headers=organizer.headers,
                        json={"valid_until": "2029-01-01T00:00:00Z"})
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"] == {"valid_until": ["must be after valid_from"]}
    assert api.patch(url, headers=organizer.headers, json={"active": None}).status_code == 422
    missing = f"/events/{event.id}/discount-codes/999999"
    assert api.patch(missing, headers=organizer.headers, json={}).status_code == 404


def test_the_api_refuses_a_stale_edit_when_told_the_version_it_read(
    world: World, api: httpx.Client
) -> None:
    organizer = world.person("Olive")
    event = world.event(organizer, published=False)
    url = f"/events/{event.id}"
    read = api.get(url, headers=organizer.headers).json()["event"]["version"]
    first = api.patch(url, headers=organizer.headers,
                      json={"name": "First", "expected_version": read})
    assert first.status_code == 200 and first.json()["event"]["version"] == read + 1
    stale = api.patch(url, headers=organizer.headers,
                      json={"name": "Second", "expected_version": read})
    assert stale.status_code == 409
    assert stale.json()["error"]["fields"] == {"version": ["changed by someone else"]}
    assert api.get(url, headers=organizer.headers).json()["event"]["name"] == "First"
    blind = api.patch(url, headers=organizer.headers, json={"name": "Third"})  # no check asked
    assert blind.status_code == 200 and blind.json()["event"]["version"] == read + 2
    assert api.patch(url, headers=organizer.headers,
                     json={"expected_version": 0}).status_code == 422


@pytest.mark.parametrize(("collection", "key", "change"), [
    ("days", "day", {"city_override": "Evanston"}),
    ("ticket-types", "ticket_type", {"name": "Door price", "price_cents": 3000}),
    ("bundles", "bundle", {"name": "Both nights", "discount_percentage": 15}),
])
def test_days_ticket_types_and_bundles_refuse_a_stale_edit_too(
    world: World, api: httpx.Client, collection: str, key: str, change: dict[str, object]
) -> None:
    organizer, other = world.person("Olive"), world.person("Other")
    event = world.event(organizer, published=False)
    tier = world.ticket_type(event, organizer)
    made = api.post(f"/events/{event.id}/bundles", headers=organizer.headers, json={
        "name": "Weekend", "price_cents": 4000, "quantity_total": 10,
        "event_day_ids": [d.id for d in event.days]}).json()["bundle"]
    row_id = {"days": event.days[0].id, "ticket-types": tier.id, "bundles": made["id"]}[collection]
    url = f"/events/{event.id}/{collection}/{row_id}"
    read = api.get(f"/events/{event.id}/{collection}", headers=organizer.headers).json()
    version = next(r for r in read[f"{key}s"] if r["id"] == row_id)["version"]
    assert version == 1
    first = api.patch(url, headers=organizer.headers, json={**change, "expected_version": 1})
    assert first.status_code == 200, first.text
    assert first.json()[key]["version"] == 2
    assert {k: first.json()[key][k] for k in change} == change
    stale = api.patch(url, headers=organizer.headers, json={**change, "expected_version": 1})
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "conflict"
    assert stale.json()["error"]["fields"] == {"version": ["changed by someone else"]}
    assert "since you opened it" in stale.json()["error"]["message"]
    blind = api.patch(url, headers=organizer.headers, json=change)  # no check asked: saved
    assert blind.status_code == 200 and blind.json()[key]["version"] == 3
    assert api.patch(url, headers=other.headers,
                     json={"expected_version": 3}).status_code == 403
    assert api.patch(url, headers=organizer.headers,
                     json={"expected_version": 0}).status_code == 422
