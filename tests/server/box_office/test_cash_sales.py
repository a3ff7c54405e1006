"""Cash sales at the desk: hold, confirm with the code of the day, refunds, bad input."""

from __future__ import annotations

from datetime import timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session

from sync_server.audit.models import AuditEntry
from sync_server.box_office.models import BoxOfficeSale
from sync_server.events.models import TicketType
from sync_server.events.services import cancel_event
from sync_server.keys.models import RevokedToken
from sync_server.staff.models import AuthorizedSeller
from sync_server.tickets.models import TicketInstance, TicketStatus
from tests.server.box_office.conftest import Desk, hold, new_id
from tests.server.conftest import error_code


def seller_row(session: Session, desk: Desk) -> AuthorizedSeller:
    session.expire_all()
    row = session.get(AuthorizedSeller, desk.seller_id)
    assert row is not None
    return row


def test_sign_in_hold_confirm_issue_tickets(api: httpx.Client, desk: Desk,
                                            session: Session) -> None:
    signed = api.post(desk.base + "/sign-in", headers=desk.device,
                      json={"email": desk.seller.user.email, "code": desk.code()})
    assert signed.status_code == 200, signed.text
    assert signed.json()["seller"]["remaining_tickets"] == 10
    assert [t["ticket_type_id"] for t in signed.json()["tiers"]] == [desk.tier.id]

    placed = hold(api, desk, 2, buyer_name="Ann Buyer")
    assert placed.status_code == 201, placed.text
    sale = placed.json()["sale"]
    assert sale["status"] == "HELD" and sale["total_cents"] == 5000 and sale["tickets"] == []

    done = api.post(f"{desk.base}/holds/{sale['sale_id']}/confirm", headers=desk.device,
                    json={"code": desk.code(), "seller_id": desk.seller_id})
    assert done.status_code == 200, done.text
    body = done.json()["sale"]
    assert body["status"] == "COMPLETED" and len(body["tickets"]) == 2
    assert all(t["token"] and t["holder_name"] == "Ann Buyer" for t in body["tickets"])
    assert body["commission_cents"] == 500  # 10 % of $50

    again = api.post(f"{desk.base}/holds/{sale['sale_id']}/confirm", headers=desk.device,
                     json={"code": desk.code(), "seller_id": desk.seller_id})
    assert again.status_code == 200 and len(again.json()["sale"]["tickets"]) == 2
    row = seller_row(session, desk)
    assert (row.sold_tickets, row.commission_earned_cents) == (2, 500)
    report = api.get(desk.base + "/report", headers=desk.organizer.headers).json()
    assert report["totals"]["cash_owed_cents"] == 5000
    assert report["sellers"][0]["remaining_tickets"] == 8


def test_the_same_client_sale_id_holds_once(api: httpx.Client, desk: Desk) -> None:
    sale_id = new_id()
    body = {"client_sale_id": sale_id, "seller_id": desk.seller_id,
            "items": [{"ticket_type_id": desk.tier.id, "quantity": 3}]}
    first = api.post(desk.base + "/holds", json=body, headers=desk.device)
    second = api.post(desk.base + "/holds", json=body, headers=desk.device)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["sale"]["sale_id"] == second.json()["sale"]["sale_id"]
    me = api.get(desk.base + "/me", params={"seller_id": desk.seller_id}, headers=desk.device)
    assert me.json()["seller"]["held_tickets"] == 3


def test_beyond_allocation_is_refused_with_words(api: httpx.Client, desk: Desk) -> None:
    assert hold(api, desk, 8).status_code == 201
    refused = hold(api, desk, 3)
    assert (refused.status_code, error_code(refused)) == (409, "allocation_exceeded")
    assert "2 tickets left" in refused.json()["error"]["message"]


def test_wrong_code_is_refused_audited_and_rate_limited(api: httpx.Client, desk: Desk,
                                                        session: Session) -> None:
    sale = hold(api, desk, 1).json()["sale"]
    url = f"{desk.base}/holds/{sale['sale_id']}/confirm"
    wrong = {"code": desk.wrong_code(), "seller_id": desk.seller_id}
    for _ in range(5):
        refused = api.post(url, json=wrong, headers=desk.device)
        assert (refused.status_code, error_code(refused)) == (403, "wrong_seller_code")
    limited = api.post(url, json={"code": desk.code(), "seller_id": desk.seller_id},
                       headers=desk.device)
    assert (limited.status_code, error_code(limited)) == (429, "rate_limited")
    audited = session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "box_office.wrong_code", AuditEntry.entity_id == desk.seller_id))
    assert audited == 5
    # The real seller signed in on their own account is another caller: not locked out.
    mine = api.post(url, json={"code": desk.code()}, headers=desk.seller.headers)
    assert mine.status_code == 200, mine.text


def test_a_lapsed_hold_cannot_be_confirmed_and_is_released(api: httpx.Client, desk: Desk,
                                                           session: Session) -> None:
    sale = hold(api, desk, 4).json()["sale"]
    row = session.get(BoxOfficeSale, sale["sale_id"])
    assert row is not None and row.expires_at is not None
    row.expires_at -= timedelta(minutes=6)
    session.commit()
    late = api.post(f"{desk.base}/holds/{sale['sale_id']}/confirm", headers=desk.device,
                    json={"code": desk.code(), "seller_id": desk.seller_id})
    assert (late.status_code, error_code(late)) == (409, "hold_expired")
    # The allocation is free again at once; the next hold releases the lapsed one for good.
    assert hold(api, desk, 10).status_code == 201
    session.expire_all()
    assert session.get(BoxOfficeSale, sale["sale_id"]).status.value == "RELEASED"  # type: ignore[union-attr]
    tier = session.get(TicketType, desk.tier.id)
    assert tier is not None and tier.quantity_reserved == 10


def test_refund_revokes_tickets_and_corrects_cash_owed(api: httpx.Client, desk: Desk,
                                                       session: Session) -> None:
    sale = hold(api, desk, 2).json()["sale"]
    api.post(f"{desk.base}/holds/{sale['sale_id']}/confirm", headers=desk.device,
             json={"code": desk.code(), "seller_id": desk.seller_id})
    no_reason = api.post(f"{desk.base}/sales/{sale['sale_id']}/refund",
                         headers=desk.organizer.headers, json={})
    assert (no_reason.status_code, error_code(no_reason)) == (422, "validation_failed")
    done = api.post(f"{desk.base}/sales/{sale['sale_id']}/refund",
                    headers=desk.organizer.headers, json={"reason": "wrong night"})
    assert done.status_code == 200, done.text
    assert done.json()["sale"]["status"] == "REFUNDED"
    tickets = session.scalars(sa.select(TicketInstance).where(
        TicketInstance.id.in_([t["ticket_id"] for t in done.json()["sale"]["tickets"]]))).all()
    assert {t.status for t in tickets} == {TicketStatus.CANCELLED}
    revoked = session.scalar(sa.select(sa.func.count()).select_from(RevokedToken).where(
        RevokedToken.ticket_instance_id.in_([t.id for t in tickets])))
    assert revoked == 2
    report = api.get(desk.base + "/report", headers=desk.organizer.headers).json()
    assert report["totals"]["cash_owed_cents"] == 0
    assert report["totals"]["refunded_cents"] == 5000
    row = seller_row(session, desk)
    assert (row.sold_tickets, row.commission_earned_cents) == (0, 0)
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "box_office.refund")) == 1


def test_cancelled_event_refuses_sales(api: httpx.Client, desk: Desk, session: Session) -> None:
    cancel_event(session, desk.event, user=desk.organizer.user, reason="storm")
    session.commit()
    refused = hold(api, desk, 1)
    assert (refused.status_code, error_code(refused)) == (409, "event_cancelled")


def test_a_door_device_and_strangers_are_refused(api: httpx.Client, desk: Desk,
                                                 world: object) -> None:
    from tests.server.conftest import World

    assert isinstance(world, World)
    token, _ = world.device(desk.organizer, desk.event, name="Door")
    refused = api.post(
        desk.base + "/holds", headers={"Authorization": f"Bearer {token}"},
        json={"client_sale_id": new_id(), "seller_id": desk.seller_id,
              "items": [{"ticket_type_id": desk.tier.id, "quantity": 1}]})
    assert (refused.status_code, error_code(refused)) == (403, "forbidden")
    stranger = world.person("Stan Stranger")
    other = api.get(desk.base + "/report", headers=stranger.headers)
    assert other.status_code == 403


def test_the_tidy_job_releases_lapsed_cash_holds(api: httpx.Client, desk: Desk,
                                                 session: Session) -> None:
    from sync_server.orders.cancellation import tidy_expired_orders
    from sync_server.orders.models import Order, PaymentStatus

    sale = hold(api, desk, 3).json()["sale"]
    later = session.get(BoxOfficeSale, sale["sale_id"])
    assert later is not None and later.expires_at is not None
    tidy_expired_orders(session, now=later.expires_at + timedelta(seconds=1))
    session.commit()
    session.expire_all()
    row = session.get(BoxOfficeSale, sale["sale_id"])
    assert row is not None and row.status.value == "RELEASED"
    order = session.get(Order, row.order_id)
    assert order is not None and order.payment_status is PaymentStatus.FAILED
    tier = session.get(TicketType, desk.tier.id)
    assert tier is not None and tier.quantity_reserved == 0
