"""Control characters and line breaks in request texts: a field message, never a 500 (issue #13).

Single-line fields (names, titles, phone, e-mail) refuse control characters and line breaks;
multi-line ones (descriptions, reasons) keep line breaks but refuse NUL and the other controls.
"""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session

from sync_server.events.models import Event
from sync_server.orders.models import Order
from tests.server.conftest import World, error_code

HOSTILE = ["a\u0000b", "a\r\nb", "a\nb", "a\u0085b", "a\tb", "a\u2028b", "a\u0007b"]


def _refused(response: httpx.Response, field: str) -> bool:
    return (response.status_code == 422 and error_code(response) == "validation_failed"
            and field in response.json()["error"]["fields"])


def test_checkout_refuses_control_characters_in_buyer_fields(
    api: httpx.Client, world: World, session: Session
) -> None:
    organizer, buyer = world.person(), world.person()
    event = world.event(organizer)
    tier = world.ticket_type(event, organizer, price_cents=0)  # free: no payment step
    body: dict[str, Any] = {"event_id": event.id,
                            "items": [{"ticket_type_id": tier.id, "quantity": 1}]}
    for field in ("buyer_phone", "buyer_name", "buyer_email"):
        for text in HOSTILE:
            response = api.post("/checkout", headers=buyer.headers, json={**body, field: text})
            assert _refused(response, field), (field, text, response.text)
    assert session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0
    fine = api.post("/checkout", headers=buyer.headers,
                    json={**body, "buyer_phone": " +1 312 555 0100 "})
    assert fine.status_code == 201, fine.text


def test_single_line_event_fields_refuse_line_breaks_and_descriptions_keep_them(
    api: httpx.Client, world: World, session: Session
) -> None:
    organizer = world.person()
    good = {"name": "Spring Set", "event_type": "TICKETED_EVENT",
            "starts_at": "2030-04-01T23:00:00Z", "timezone": "America/Chicago"}
    for field in ("name", "venue_name", "city"):
        for text in HOSTILE:
            response = api.post("/events", headers=organizer.headers, json={**good, field: text})
            assert _refused(response, field), (field, text, response.text)
    for text in ("a\u0000b", "a\u0085b", "a\u0007b"):
        response = api.post("/events", headers=organizer.headers,
                            json={**good, "description": text})
        assert _refused(response, "description"), (text, response.text)
    assert session.scalar(sa.select(sa.func.count()).select_from(Event)) == 0
    created = api.post("/events", headers=organizer.headers,
                       json={**good, "description": "Doors at 8.\r\n\tLessons at 9.\n"})
    assert created.status_code == 201, created.text
    assert created.json()["event"]["description"] == "Doors at 8.\r\n\tLessons at 9."
    renamed = api.patch(f"/events/{created.json()['event']['id']}", headers=organizer.headers,
                        json={"name": "Spring\nSet"})
    assert _refused(renamed, "name"), renamed.text


def test_cancel_reasons_and_pairing_codes_refuse_nul(api: httpx.Client, world: World) -> None:
    organizer = world.person()
    event = world.event(organizer)
    response = api.post(f"/events/{event.id}/sales/cancel", headers=organizer.headers,
                        json={"reason": "rain\u0000"})
    assert _refused(response, "reason"), response.text
    response = api.post("/devices/pair", json={"code": "ABC\u0000DEF"})
    assert _refused(response, "code"), response.text
    response = api.post("/door/pair", json={"code": "ABC\u0000DEF"})
    assert _refused(response, "code"), response.text
