"""Organizer cancellations (an order, a whole event), buyer transfers and QR downloads."""

from __future__ import annotations

import io
from datetime import timedelta

import httpx
import sqlalchemy as sa
from PIL import Image
from pyzbar import pyzbar
from sqlalchemy.orm import Session

from sync_server.db import utcnow
from sync_server.events.models import Bundle, EventStatus, TicketType
from sync_server.keys.models import RevokedToken
from sync_server.keys.services import revoked_ticket_ids
from sync_server.orders.models import Order, PaymentMethod
from sync_server.orders.serialize import order_json
from sync_server.orders.services import complete_order
from sync_server.tickets.models import TicketInstance, TicketStatus
from tests.server.conftest import World, error_code
from tests.server.purchase.conftest import SETTINGS, Shop, buy


def completed_order(api: httpx.Client, session: Session, shop: Shop, person: object,
                    *items: tuple[str, int, int]) -> dict:  # type: ignore[type-arg]
    created = buy(api, person, shop.event, *items, payment_method="CASH")  # type: ignore[arg-type]
    assert created.status_code == 201, created.text
    order = session.get(Order, created.json()["order"]["id"])
    assert order is not None
    complete_order(session, order, method=PaymentMethod.CASH, settings=SETTINGS)
    session.commit()
    return order_json(session, order, tokens=True)


def test_organizer_cancels_a_completed_order_tickets_revoked_units_back(
    api: httpx.Client, world: World, shop: Shop, session: Session
) -> None:
    buyer = world.person()
    order = completed_order(api, session, shop, buyer, ("ticket_type", shop.day1.id, 2),
                            ("bundle", shop.bundle.id, 1))
    response = api.post(f"/events/{shop.event.id}/orders/cancel",
                        headers=shop.organizer.headers,
                        json={"order_id": order["id"], "reason": "asked for a refund"})
    assert response.status_code == 200, response.text
    cancelled = response.json()["order"]
    assert cancelled["payment_status"] == "REFUNDED"
    assert {t["status"] for t in cancelled["tickets"]} == {"CANCELLED"}
    ids = sorted(t["id"] for t in cancelled["tickets"])
    assert revoked_ticket_ids(session, shop.event.id) == ids
    session.expire_all()
    assert session.get(TicketType, shop.day1.id).quantity_sold == 0  # type: ignore[union-attr]
    assert session.get(Bundle, shop.bundle.id).quantity_sold == 0  # type: ignore[union-attr]
    again = api.post(f"/events/{shop.event.id}/orders/cancel", headers=shop.organizer.headers,
                     json={"order_id": order["id"], "reason": "twice"})
    assert again.json()["order"]["payment_status"] == "REFUNDED"
    other_event = world.event(shop.organizer)
    wrong = api.post(f"/events/{other_event.id}/orders/cancel", headers=shop.organizer.headers,
                     json={"order_id": order["id"], "reason": "x"})
    assert (wrong.status_code, error_code(wrong)) == (404, "not_found")


def test_cancelling_a_pending_order_releases_its_hold(
    api: httpx.Client, world: World, shop: Shop, session: Session
) -> None:
    buyer = world.person()
    order = buy(api, buyer, shop.event, ("bundle", shop.bundle.id, 5)).json()["order"]
    abandoned = api.post("/me/orders/abandon", headers=buyer.headers,
                         json={"order_id": order["id"]})
    assert abandoned.json()["order"]["payment_status"] == "FAILED"
    session.expire_all()
    assert session.get(Bundle, shop.bundle.id).quantity_reserved == 0  # type: ignore[union-attr]
    stranger = world.person()
    hidden = api.post("/me/orders/abandon", headers=stranger.headers,
                      json={"order_id": order["id"]})
    assert (hidden.status_code, error_code(hidden)) == (404, "not_found")


def test_cancelling_the_event_cancels_every_order(
    api: httpx.Client, world: World, shop: Shop, session: Session
) -> None:
    paid = completed_order(api, session, shop, world.person(), ("ticket_type", shop.day2.id, 3))
    pending = buy(api, world.person(), shop.event, ("bundle", shop.bundle.id, 2)).json()["order"]
    response = api.post(f"/events/{shop.event.id}/sales/cancel", headers=shop.organizer.headers,
                        json={"reason": "venue flooded"})
    assert response.status_code == 200, response.text
    assert response.json() == {"event_id": shop.event.id, "status": "CANCELLED",
                               "orders_cancelled": 2}
    session.expire_all()
    assert shop.event.status is EventStatus.CANCELLED
    statuses = {o.id: o.payment_status.value for o in session.scalars(sa.select(Order))}
    assert statuses == {paid["id"]: "REFUNDED", pending["id"]: "FAILED"}
    tickets = list(session.scalars(sa.select(TicketInstance)))
    assert {t.status for t in tickets} == {TicketStatus.CANCELLED}
    assert session.scalar(sa.select(sa.func.count()).select_from(RevokedToken)) == 3
    assert session.get(Bundle, shop.bundle.id).quantity_reserved == 0  # type: ignore[union-attr]


def test_the_plain_event_cancel_also_cancels_its_tickets(
    api: httpx.Client, world: World, shop: Shop, session: Session
) -> None:
    # An organizer who presses "cancel event" must not leave tickets that still admit.
    completed_order(api, session, shop, world.person(), ("ticket_type", shop.day1.id, 2))
    response = api.post(f"/events/{shop.event.id}/cancel", headers=shop.organizer.headers)
    assert response.status_code == 200, response.text
    assert response.json()["event"]["status"] == "CANCELLED"
    session.expire_all()
    tickets = list(session.scalars(sa.select(TicketInstance)))
    assert len(tickets) == 2 and {t.status for t in tickets} == {TicketStatus.CANCELLED}
    assert sorted(revoked_ticket_ids(session, shop.event.id)) == sorted(t.id for t in tickets)
    again = api.post(f"/events/{shop.event.id}/cancel", headers=shop.organizer.headers)
    assert again.status_code == 200


def test_transfer_issues_a_new_ticket_revokes_the_old_and_keeps_history(
    api: httpx.Client, world: World, shop: Shop, session: Session
) -> None:
    giver, friend = world.person("Gia Giver"), world.person("Fred Friend")
    order = completed_order(api, session, shop, giver, ("ticket_type", shop.day1.id, 1))
    old = order["tickets"][0]
    response = api.post("/me/tickets/transfer", headers=giver.headers, json={
        "ticket_id": old["id"], "to_email": friend.user.email, "to_name": "Fred Friend"})
    assert response.status_code == 200, response.text
    moved = response.json()
    assert moved["from"]["status"] == "TRANSFERRED"
    assert moved["from"]["transferred_to_id"] == moved["to"]["id"]
    assert revoked_ticket_ids(session, shop.event.id) == [old["id"]]
    theirs = api.get("/me/tickets", headers=friend.headers).json()["tickets"]
    assert [t["id"] for t in theirs] == [moved["to"]["id"]]
    assert theirs[0]["token"] and theirs[0]["token"] != old["token"]
    history = api.get("/me/tickets", headers=giver.headers).json()["tickets"]
    assert [(t["id"], t["status"], t["token"]) for t in history] == [
        (old["id"], "TRANSFERRED", None), (moved["to"]["id"], "VALID", None)]
    again = api.post("/me/tickets/transfer", headers=giver.headers, json={
        "ticket_id": old["id"], "to_email": "x@example.test", "to_name": "X"})
    assert (again.status_code, error_code(again)) == (409, "invalid_state")
    # The friend's QR decodes to the new token.
    png = api.get("/me/tickets/qr", params={"ticket_id": moved["to"]["id"]},
                  headers=friend.headers)
    assert png.headers["content-type"] == "image/png"
    decoded = pyzbar.decode(Image.open(io.BytesIO(png.content)))
    assert [d.data.decode() for d in decoded] == [theirs[0]["token"]]
    gone = api.get("/me/tickets/qr", params={"ticket_id": old["id"]}, headers=giver.headers)
    assert (gone.status_code, error_code(gone)) == (409, "invalid_state")


def test_transfer_is_refused_when_the_event_does_not_allow_it(
    api: httpx.Client, world: World, shop: Shop, session: Session
) -> None:
    giver = world.person()
    order = completed_order(api, session, shop, giver, ("ticket_type", shop.day1.id, 1))
    shop.event.allow_transfers = False
    session.commit()
    refused = api.post("/me/tickets/transfer", headers=giver.headers, json={
        "ticket_id": order["tickets"][0]["id"], "to_email": "pal@example.test", "to_name": "Pal"})
    assert (refused.status_code, error_code(refused)) == (409, "invalid_state")
    assert revoked_ticket_ids(session, shop.event.id) == []


def test_transfers_close_when_the_events_first_day_starts(
    api: httpx.Client, world: World, shop: Shop, session: Session
) -> None:
    giver = world.person()
    order = completed_order(api, session, shop, giver, ("ticket_type", shop.day1.id, 1))
    started = utcnow() - timedelta(minutes=1)
    first = min(shop.event.days, key=lambda day: day.starts_at)
    first.starts_at, first.ends_at = started, started + timedelta(hours=6)
    session.commit()
    refused = api.post("/me/tickets/transfer", headers=giver.headers, json={
        "ticket_id": order["tickets"][0]["id"], "to_email": "pal@example.test", "to_name": "Pal"})
    assert (refused.status_code, error_code(refused)) == (409, "transfer_closed")
    assert revoked_ticket_ids(session, shop.event.id) == []
    assert session.get(TicketInstance, order["tickets"][0]["id"]).status is TicketStatus.VALID


def test_tickets_sent_to_an_address_are_claimed_only_by_its_verified_owner(
    api: httpx.Client, world: World, shop: Shop, session: Session
) -> None:
    guest = world.person("Gus Guest")
    guest.user.email_verified = False  # signed up, address not confirmed yet
    session.commit()
    comp = api.post(f"/events/{shop.event.id}/complimentary", headers=shop.organizer.headers,
                    json={"items": [{"ticket_type_id": shop.day1.id, "quantity": 1}],
                          "holder_name": "Gus Guest", "holder_email": guest.user.email})
    assert comp.status_code == 201
    assert api.get("/me/tickets", headers=guest.headers).json()["tickets"] == []
    guest.user.email_verified = True
    session.commit()
    mine = api.get("/me/tickets", headers=guest.headers).json()["tickets"]
    assert [t["id"] for t in mine] == [comp.json()["order"]["tickets"][0]["id"]]
    assert mine[0]["token"]
