"""The API side of what the organizer pages do: a stale event edit refused when the client says
which version it read, and discount codes edited and deactivated."""

from __future__ import annotations

import httpx
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
