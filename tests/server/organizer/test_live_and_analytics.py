"""The door's live figures and the analytics: the numbers after real uploads, the same on the
page, in the JSON API and in the CSV downloads."""

from __future__ import annotations

import csv
import io

import httpx
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from shared import protocol as p
from sync_server.orders.models import Order
from tests.server.conftest import World
from tests.server.door.conftest import scan, upload
from tests.server.organizer.conftest import Night, web_as


def _door_night(api: httpx.Client, night: Night) -> None:
    t = night.tickets
    upload(api, night.north, [scan(night.event, t[0], minutes=0),
                              scan(night.event, t[1], minutes=1),
                              scan(night.event, t[2], minutes=1, verdict="forged"),
                              scan(night.event, None, minutes=2, verdict="malformed")])
    upload(api, night.south, [scan(night.event, t[3], minutes=2, door="South"),
                              # the same ticket again at the other door, later: a double entry
                              scan(night.event, t[0], minutes=3, door="South"),
                              scan(night.event, t[3], minutes=20, door="South", verdict="exit",
                                   direction=p.Direction.EXIT)])


def test_live_figures_after_uploads(app: Flask, api: httpx.Client, night: Night) -> None:
    _door_night(api, night)
    live = api.get(f"/events/{night.event.id}/door/live", headers=night.organizer.headers)
    assert live.status_code == 200, live.text
    figures = live.json()
    assert (figures["entries"], figures["exits"], figures["inside"]) == (4, 1, 3)
    assert {r["verdict"]: r["count"] for r in figures["refused"]} == {"forged": 1,
                                                                      "malformed": 1}
    doors = {d["door"]: sum(d["counts"]) for d in figures["entries_per_minute"]}
    assert doors == {"North": 2, "South": 2}
    assert figures["double_entries"]["count"] == 1
    double = figures["double_entries"]["latest"][0]
    assert (double["ticket_number"], double["first_door"], double["door"]) == (
        night.tickets[0].ticket_number, "North", "South")
    assert {d["name"]: d["scans"] for d in figures["devices"]} == {"North": 4, "South": 3}
    assert api.get(f"/events/{night.event.id}/door/live",
                   headers=night.staff.headers).status_code == 200
    assert api.get(f"/events/{night.event.id}/door/live",
                   headers=night.seller.headers).status_code == 403
    page = web_as(app, night.staff).get(night.url("/live"))
    assert page.status_code == 200
    assert 'data-figure="inside">3<' in page.text and "Forged code" in page.text
    assert 'role="img"' in page.text and "Entries per minute at North" in page.text
    assert "Analytics" not in page.text  # staff get no organizer tabs
    assert "Analytics" in web_as(app, night.organizer).get(night.url("/live")).text
    fragment = web_as(app, night.organizer).get(night.url("/live/figures"))
    assert fragment.text.lstrip().startswith("<div data-as-of=")
    assert "<html" not in fragment.text


def test_live_page_with_nothing_scanned(app: Flask, night: Night) -> None:
    page = web_as(app, night.organizer).get(night.url("/live"))
    assert page.status_code == 200 and "No one has come in yet." in page.text


def test_analytics_numbers_page_api_and_csv(app: Flask, api: httpx.Client, night: Night,
                                            session: Session) -> None:
    for order in session.scalars(sa.select(Order).where(Order.event_id == night.event.id)):
        # Ada: 3 x $25 + a $2 fee; Grace: 2 x $25 + a $2 fee
        order.total_cents = 7700 if order.buyer_name.startswith("Ada") else 5200
        order.subtotal_cents = order.total_cents - 200
        order.fees_cents = 200
        order.completed_at = order.created_at
    session.commit()
    _door_night(api, night)
    found = api.get(f"/events/{night.event.id}/analytics", headers=night.organizer.headers)
    assert found.status_code == 200, found.text
    body = found.json()
    revenue = {r["figure"]: r["cents_or_count"] for r in body["revenue"]}
    assert revenue["gross_cents"] == 7700 + 5200 and revenue["fees_cents"] == 400
    assert revenue["net_cents"] == 12500 and revenue["orders"] == 2
    assert sum(s["orders"] for s in body["sales"]) == 2
    assert body["check-ins"][-1]["entries_so_far"] == 3, body["check-ins"]  # not the double entry
    assert api.get(f"/events/{night.event.id}/analytics",
                   headers=night.staff.headers).status_code == 403
    web = web_as(app, night.organizer)
    page = web.get(night.url("/analytics"))
    assert page.status_code == 200
    assert "$129.00" in page.text and "$125.00" in page.text
    assert page.text.count('role="img"') == 3  # sales, ticket types, check-ins
    rows = list(csv.reader(io.StringIO(web.get(night.url("/analytics/revenue.csv")).text)))
    assert ["net_cents", "12500"] in rows
    assert web.get(night.url("/analytics/nothing.csv")).status_code == 404
    assert web.get(night.url("/analytics/check-ins.csv")).text.startswith(
        "slice_start,entries,entries_so_far")


def test_analytics_of_an_event_with_no_sales(app: Flask, night: Night, world: World) -> None:
    empty = world.event(night.organizer)
    page = web_as(app, night.organizer).get(f"/organize/events/{empty.id}/analytics")
    assert page.status_code == 200 and "No sales yet." in page.text
