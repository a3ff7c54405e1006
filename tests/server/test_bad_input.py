"""Bad input gets a clear 4xx with field messages, never a 500, and nothing is written."""

from __future__ import annotations

from typing import Any

import httpx
from flask import Flask
from sqlalchemy.orm import Session

from tests.server.conftest import World, error_code
from tests.server.test_authorization_matrix import table_counts

GOOD_EVENT: dict[str, Any] = {
    "name": "Spring Set", "event_type": "TICKETED_EVENT", "starts_at": "2030-04-01T23:00:00Z",
    "timezone": "America/Chicago",
}

# (what, path template, body, the field that must be named)
CASES: list[tuple[str, str, Any, str]] = [
    ("missing name", "/events", {k: v for k, v in GOOD_EVENT.items() if k != "name"}, "name"),
    ("number as name", "/events", {**GOOD_EVENT, "name": 12}, "name"),
    ("empty name", "/events", {**GOOD_EVENT, "name": "   "}, "name"),
    ("huge name", "/events", {**GOOD_EVENT, "name": "x" * 100_000}, "name"),
    ("NUL in name", "/events", {**GOOD_EVENT, "name": "a\u0000b"}, "name"),
    ("unknown type", "/events", {**GOOD_EVENT, "event_type": "RAVE"}, "event_type"),
    ("naive time", "/events", {**GOOD_EVENT, "starts_at": "2030-04-01T23:00:00"}, "starts_at"),
    ("not a time", "/events", {**GOOD_EVENT, "starts_at": "tomorrow"}, "starts_at"),
    ("bad zone", "/events", {**GOOD_EVENT, "timezone": "Mars/Olympus"}, "timezone"),
    ("ends before start", "/events", {**GOOD_EVENT, "ends_at": "2030-03-01T00:00:00Z"},
     "ends_at"),
    ("min over max", "/events",
     {**GOOD_EVENT, "min_tickets_per_order": 5, "max_tickets_per_order": 2},
     "max_tickets_per_order"),
    ("string bool", "/events", {**GOOD_EVENT, "allow_waitlist": "yes"}, "allow_waitlist"),
    ("unknown field", "/events", {**GOOD_EVENT, "is_admin": True}, "is_admin"),
    ("too many categories", "/events", {**GOOD_EVENT, "categories": ["c"] * 11}, "categories"),
    ("latitude out of range", "/events", {**GOOD_EVENT, "latitude": 91.0}, "latitude"),
    ("negative price", "/events/{event}/ticket-types",
     {"name": "GA", "price_cents": -1, "quantity_total": 10}, "price_cents"),
    ("float price", "/events/{event}/ticket-types",
     {"name": "GA", "price_cents": 10.5, "quantity_total": 10}, "price_cents"),
    ("string price", "/events/{event}/ticket-types",
     {"name": "GA", "price_cents": "10", "quantity_total": 10}, "price_cents"),
    ("negative quantity", "/events/{event}/ticket-types",
     {"name": "GA", "price_cents": 100, "quantity_total": -5}, "quantity_total"),
    ("overflowing quantity", "/events/{event}/ticket-types",
     {"name": "GA", "price_cents": 100, "quantity_total": 2**40}, "quantity_total"),
    ("unknown day", "/events/{event}/ticket-types",
     {"name": "GA", "price_cents": 100, "quantity_total": 5, "event_day_id": 999_999},
     "event_day_id"),
    ("day id too big", "/events/{event}/ticket-types",
     {"name": "GA", "price_cents": 100, "quantity_total": 5, "event_day_id": 2**40},
     "event_day_id"),
    ("sales window backwards", "/events/{event}/ticket-types",
     {"name": "GA", "price_cents": 100, "quantity_total": 5,
      "sales_start": "2030-02-01T00:00:00Z", "sales_end": "2030-01-01T00:00:00Z"}, "sales_end"),
    ("zero per order", "/events/{event}/ticket-types",
     {"name": "GA", "price_cents": 100, "quantity_total": 5, "min_per_order": 0},
     "min_per_order"),
    ("day ends before it starts", "/events/{event}/days",
     {"starts_at": "2030-04-02T23:00:00Z", "ends_at": "2030-04-02T22:00:00Z"}, "ends_at"),
    ("bundle of no days", "/events/{event}/bundles",
     {"name": "All", "price_cents": 100, "quantity_total": 5, "event_day_ids": []},
     "event_day_ids"),
    ("bundle of another event's day", "/events/{event}/bundles",
     {"name": "All", "price_cents": 100, "quantity_total": 5, "event_day_ids": [999_999]},
     "event_day_ids"),
    ("bundle discount over 100", "/events/{event}/bundles",
     {"name": "All", "price_cents": 100, "quantity_total": 5, "event_day_ids": [1],
      "discount_percentage": 150}, "discount_percentage"),
    ("staff without account", "/events/{event}/staff",
     {"email": "nobody@example.test", "access_expires_at": "2040-01-01T00:00:00Z"}, "email"),
    ("staff expiring in the past", "/events/{event}/staff",
     {"email": "nobody@example.test", "access_expires_at": "2000-01-01T00:00:00Z"},
     "access_expires_at"),
    ("not an e-mail", "/events/{event}/sellers", {"email": "nobody"}, "email"),
    ("commission over 100%", "/events/{event}/sellers",
     {"email": "a@b.cd", "commission_rate_bp": 10_001}, "commission_rate_bp"),
    ("pairing for unknown kind", "/events/{event}/pairing-codes",
     {"name": "Door", "kind": "TOASTER"}, "kind"),
    ("body is a list", "/events", [GOOD_EVENT], "body"),
]


def test_bad_bodies_get_field_messages_and_write_nothing(
    api: httpx.Client, world: World, session: Session
) -> None:
    # One database for all cases (each case is independent: nothing may be written).
    organizer = world.person()
    event = world.event(organizer)
    before = table_counts(session)
    for what, template, body, field in CASES:
        response = api.post(template.format(event=event.id), json=body,
                            headers=organizer.headers)
        assert response.status_code == 422, (what, response.text)
        assert error_code(response) == "validation_failed", what
        fields = response.json()["error"]["fields"]
        assert field in fields, (what, fields)
        assert all(isinstance(m, str) and m for m in fields[field]), what
        assert table_counts(session) == before, what


def test_patch_refuses_null_and_order_violations_without_writing(
    api: httpx.Client, world: World, session: Session
) -> None:
    organizer = world.person()
    event = world.event(organizer)
    tier = world.ticket_type(event, organizer, quantity=10)
    tier.quantity_sold = 6
    session.commit()
    before = table_counts(session)
    for path, body, field in [
        (f"/events/{event.id}", {"name": None}, "name"),
        (f"/events/{event.id}", {"ends_at": "2000-01-01T00:00:00Z"}, "ends_at"),
        (f"/events/{event.id}/ticket-types/{tier.id}", {"quantity_total": 5}, "quantity_total"),
        (f"/events/{event.id}/ticket-types/{tier.id}", {"price_cents": None}, "price_cents"),
        (f"/events/{event.id}/days/{event.days[0].id}", {"ends_at": "2000-01-01T00:00:00Z"},
         "ends_at"),
    ]:
        response = api.patch(path, json=body, headers=organizer.headers)
        assert response.status_code == 422, (path, body, response.text)
        assert field in response.json()["error"]["fields"]
    assert table_counts(session) == before
    session.expire_all()
    assert tier.quantity_total == 10


def test_malformed_and_oversized_requests_are_envelopes(app: Flask, api: httpx.Client,
                                                         world: World) -> None:
    organizer = world.person()
    bad_json = api.post("/events", content=b'{"name": ', headers={
        **organizer.headers, "Content-Type": "application/json"})
    assert (bad_json.status_code, error_code(bad_json)) == (400, "malformed_json")
    huge = api.post("/events", content=b"x" * (2 * 1024 * 1024), headers=organizer.headers)
    assert (huge.status_code, error_code(huge)) == (413, "payload_too_large")
    missing = api.get("/nowhere")
    assert (missing.status_code, error_code(missing)) == (404, "not_found")
    wrong_method = api.put("/events")
    assert (wrong_method.status_code, error_code(wrong_method)) == (405, "method_not_allowed")
    for event_path in ("/events/0", "/events/99999999999999999999", "/events/123456",
                       "/events/-1", "/events/abc"):
        response = api.get(event_path)
        assert (response.status_code, error_code(response)) == (404, "not_found"), event_path
    bad_query = api.get("/events", params={"page": "zero"})
    assert (bad_query.status_code, error_code(bad_query)) == (422, "validation_failed")
    assert "page" in bad_query.json()["error"]["fields"]
    backwards = api.get("/events", params={"date_from": "2030-02-01T00:00:00Z",
                                           "date_to": "2030-01-01T00:00:00Z"})
    assert backwards.status_code == 422
    assert "date_to" in backwards.json()["error"]["fields"]
    for params in ({"q": "a\u0000b"}, {"city": "x" * 5000}, {"category": "\u0001"},
                   {"date_from": "2030-01-01T00:00:00"}, {"per_page": "1000"}, {"sort": "x"}):
        response = api.get("/events", params=params)
        assert (response.status_code, error_code(response)) == (422, "validation_failed"), params
    nan = api.post("/events", content=b'{"name": "x", "latitude": NaN}',
                   headers={**organizer.headers, "Content-Type": "application/json"})
    assert nan.status_code in {400, 422}


def test_unknown_sub_resources_are_404(api: httpx.Client, world: World) -> None:
    organizer = world.person()
    event = world.event(organizer)
    other = world.event(organizer)
    foreign_day = other.days[0].id
    for method, path in [
        ("PATCH", f"/events/{event.id}/days/{foreign_day}"),
        ("DELETE", f"/events/{event.id}/days/999999"),
        ("DELETE", f"/events/{event.id}/ticket-types/999999"),
        ("DELETE", f"/events/{event.id}/bundles/999999"),
        ("DELETE", f"/events/{event.id}/staff/999999"),
        ("DELETE", f"/events/{event.id}/sellers/999999"),
        ("POST", f"/events/{event.id}/devices/999999/revoke"),
    ]:
        response = api.request(method, path, json={} if method == "PATCH" else None,
                               headers=organizer.headers)
        assert (response.status_code, error_code(response)) == (404, "not_found"), path
