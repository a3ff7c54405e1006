"""Offline stock: download, the doors see it, offline sales uploaded exactly once, returns,
revocation of a stolen device's stock, and the event cancelled under it."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared import protocol as p
from sync_server.box_office.models import StockStatus, StockTicket
from sync_server.events.models import TicketType
from sync_server.events.services import cancel_event
from sync_server.staff.models import AuthorizedSeller
from tests.server.box_office.conftest import Desk, hold, new_id
from tests.server.conftest import World, bearer, error_code


def get_stock(api: httpx.Client, desk: Desk, quantity: int,
              batch: str | None = None) -> httpx.Response:
    return api.post(desk.base + "/stock", headers=desk.device, json={
        "code": desk.code(), "seller_id": desk.seller_id, "client_batch_id": batch or new_id(),
        "items": [{"ticket_type_id": desk.tier.id, "quantity": quantity}]})


def door_records(api: httpx.Client, world: World, desk: Desk) -> dict[int, p.TicketRecord]:
    token, _ = world.device(desk.organizer, desk.event, name="North door")
    response = api.get(f"/door/events/{desk.event.id}/data", headers=bearer(token))
    assert response.status_code == 200, response.text
    return {t.ticket_id: t for t in p.DoorDataPage.from_json(response.json()).tickets}


def offline_sale(desk: Desk, ticket_ids: list[int], sale_id: str | None = None,
                 total: int = 5000) -> dict[str, object]:
    return {"client_sale_id": sale_id or new_id(), "seller_id": desk.seller_id,
            "sold_at": datetime.now(UTC).isoformat(), "ticket_ids": ticket_ids,
            "total_cents": total, "buyer_name": "Otto Offline"}


def test_stock_is_issued_from_the_allocation_and_doors_know_it(
        api: httpx.Client, desk: Desk, world: World, session: Session) -> None:
    got = get_stock(api, desk, 4)
    assert got.status_code == 201, got.text
    stock = got.json()["stock"]
    assert len(stock) == 4 and all(t["token"] and t["holder_name"] == "" for t in stock)
    me = api.get(desk.base + "/me", params={"seller_id": desk.seller_id}, headers=desk.device)
    assert me.json()["seller"]["stock_out_tickets"] == 4
    assert me.json()["seller"]["remaining_tickets"] == 6
    session.expire_all()
    tier = session.get(TicketType, desk.tier.id)
    assert tier is not None and tier.quantity_sold == 4  # no online buyer can take them
    records = door_records(api, world, desk)
    assert all(records[t["ticket_id"]].box_office_stock is True for t in stock)
    assert all(records[t["ticket_id"]].holder_name == "" for t in stock)
    # Beyond the allocation, or beyond the per-device cap: refused with words.
    over = get_stock(api, desk, 7)
    assert (over.status_code, error_code(over)) == (409, "allocation_exceeded")


def test_the_same_batch_downloads_once_and_the_cap_holds(api: httpx.Client, desk: Desk,
                                                         world: World, session: Session) -> None:
    batch = new_id()
    first, again = get_stock(api, desk, 3, batch), get_stock(api, desk, 3, batch)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["stock"] == again.json()["stock"]
    row = session.get(AuthorizedSeller, desk.seller_id)
    assert row is not None
    row.allocated_tickets = 100
    session.commit()
    capped = get_stock(api, desk, 18)  # 3 + 18 > 20 per device and seller
    assert (capped.status_code, error_code(capped)) == (409, "stock_limit")


def test_offline_sales_upload_exactly_once(api: httpx.Client, desk: Desk, world: World,
                                           session: Session) -> None:
    stock = [t["ticket_id"] for t in get_stock(api, desk, 5).json()["stock"]]
    sale = offline_sale(desk, stock[:2])
    other = offline_sale(desk, stock[2:3], total=2000)
    bad = offline_sale(desk, [stock[0]])  # already sold in this very batch
    body = {"sales": [sale, other, bad]}
    first = api.post(desk.base + "/offline-sales", headers=desk.device, json=body)
    assert first.status_code == 200, first.text
    outcomes = [(r["outcome"], r["error"]) for r in first.json()["results"]]
    assert outcomes == [("recorded", None), ("recorded", None), ("rejected", "stock_not_out")]
    second = api.post(desk.base + "/offline-sales", headers=desk.device, json=body)
    assert [r["outcome"] for r in second.json()["results"]] == [
        "duplicate", "duplicate", "rejected"]
    assert second.json()["results"][0]["sale_id"] == first.json()["results"][0]["sale_id"]
    report = api.get(desk.base + "/report", headers=desk.organizer.headers).json()
    mine = report["sellers"][0]
    assert (mine["sold_tickets"], mine["stock_out_tickets"], mine["cash_owed_cents"]) == (
        3, 2, 7000)
    assert mine["commission_cents"] == 700
    records = door_records(api, world, desk)
    assert records[stock[0]].holder_name == "Otto Offline"
    assert records[stock[0]].box_office_stock is None
    assert records[stock[4]].box_office_stock is True


def test_returned_and_revoked_stock_is_refused_by_doors(api: httpx.Client, desk: Desk,
                                                        world: World, session: Session) -> None:
    stock = [t["ticket_id"] for t in get_stock(api, desk, 4).json()["stock"]]
    returned = api.post(desk.base + "/stock/return", headers=desk.device,
                        json={"seller_id": desk.seller_id, "ticket_ids": stock[:2]})
    assert returned.status_code == 200 and returned.json()["returned"] == 2
    assert len(returned.json()["stock"]) == 2
    stolen = api.post(desk.base + "/stock/revoke", headers=desk.organizer.headers,
                      json={"device_id": desk.device_id})
    assert stolen.status_code == 200 and stolen.json()["revoked"] == 2
    token, _ = world.device(desk.organizer, desk.event, name="South door")
    page = p.DoorDataPage.from_json(api.get(f"/door/events/{desk.event.id}/data",
                                            headers=bearer(token)).json())
    assert {r.ticket_id for r in page.revocations} >= set(stock)
    # A late upload of a revoked ticket is refused, not counted.
    late = api.post(desk.base + "/offline-sales", headers=desk.device,
                    json={"sales": [offline_sale(desk, [stock[3]])]})
    assert late.json()["results"][0]["error"] == "stock_revoked"
    session.expire_all()
    tier = session.get(TicketType, desk.tier.id)
    assert tier is not None and tier.quantity_sold == 0
    me = api.get(desk.base + "/me", params={"seller_id": desk.seller_id}, headers=desk.device)
    assert me.json()["seller"]["remaining_tickets"] == 10


def test_refund_of_an_offline_sale_and_a_cancelled_event(api: httpx.Client, desk: Desk,
                                                         session: Session) -> None:
    stock = [t["ticket_id"] for t in get_stock(api, desk, 3).json()["stock"]]
    result = api.post(desk.base + "/offline-sales", headers=desk.device,
                      json={"sales": [offline_sale(desk, stock[:1], total=2500)]}).json()
    sale_id = result["results"][0]["sale_id"]
    refunded = api.post(f"{desk.base}/sales/{sale_id}/refund", headers=desk.device,
                        json={"reason": "changed mind", "code": desk.code()})
    assert refunded.status_code == 200, refunded.text
    assert refunded.json()["sale"]["tickets"][0]["status"] == "CANCELLED"
    placed = hold(api, desk, 1).json()["sale"]
    api.post(f"{desk.base}/holds/{placed['sale_id']}/confirm", headers=desk.device,
             json={"code": desk.code(), "seller_id": desk.seller_id})
    cancel_event(session, desk.event, user=desk.organizer.user, reason="storm")
    session.commit()
    report = api.get(desk.base + "/report", headers=desk.organizer.headers).json()
    mine = report["sellers"][0]
    assert (mine["sold_tickets"], mine["cash_owed_cents"], mine["stock_out_tickets"]) == (0, 0, 0)
    assert mine["refunded_cents"] == 5000
    statuses = set(session.scalars(sa.select(StockTicket.status)))
    assert statuses == {StockStatus.SOLD, StockStatus.REVOKED}


def test_a_ticket_listed_twice_in_one_sale_is_refused(api: httpx.Client, desk: Desk) -> None:
    stock = [t["ticket_id"] for t in get_stock(api, desk, 2).json()["stock"]]
    twice = api.post(desk.base + "/offline-sales", headers=desk.device,
                     json={"sales": [offline_sale(desk, [stock[0], stock[0]])]})
    assert twice.json()["results"][0] == {"client_sale_id": twice.json()["results"][0][
        "client_sale_id"], "outcome": "rejected", "sale_id": None, "error": "validation_failed"}
