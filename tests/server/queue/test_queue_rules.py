"""Every rule of the waiting list, over the JSON API, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session

from sync_server.db import utcnow
from sync_server.events.models import TicketType
from sync_server.mail.models import MailKind, OutboxMessage
from sync_server.orders.models import InventoryHold, Order, PaymentStatus
from sync_server.queue.models import WaitingListEntry, WaitingStatus
from sync_server.queue.services import expire_offers
from tests.server.conftest import World, error_code
from tests.server.queue.conftest import SoldOut, buy, join


def _cancel(api: httpx.Client, s: SoldOut, order_id: int) -> None:
    reply = api.post(f"/events/{s.event.id}/orders/cancel", headers=s.organizer.headers,
                     json={"order_id": order_id, "reason": "changed plans"})
    assert reply.status_code == 200, reply.text


def _mine(api: httpx.Client, person) -> list[dict]:  # type: ignore[no-untyped-def]
    reply = api.get("/me/queue", headers=person.headers)
    assert reply.status_code == 200, reply.text
    return list(reply.json()["entries"])


def test_join_only_when_sold_out_once_and_positions_follow_joining(
        api: httpx.Client, world: World, sold_out: SoldOut) -> None:
    s = sold_out
    people = [world.person() for _ in range(3)]
    entries = [join(api, p, s.event, s.tier) for p in people]
    assert [e.status_code for e in entries] == [201, 201, 201]
    assert [e.json()["entry"]["position"] for e in entries] == [1, 2, 3]
    assert [e.json()["entry"]["waiting"] for e in entries] == [1, 2, 3]
    again = join(api, people[0], s.event, s.tier)
    assert again.status_code == 409 and error_code(again) == "already_waiting"
    # The first leaves: the others move up (computed, not stored).
    left = api.post("/queue/leave", headers=people[0].headers,
                    json={"entry_id": entries[0].json()["entry"]["id"]})
    assert left.status_code == 200 and left.json()["entry"]["status"] == "CANCELLED"
    assert _mine(api, people[2])[0]["position"] == 2
    # Not sold out: no line to join.
    roomy = world.ticket_type(s.event, s.organizer, price_cents=0, quantity=5)
    refused = join(api, people[1], s.event, roomy)
    assert refused.status_code == 409 and error_code(refused) == "not_sold_out"
    # Someone else's entry is not found.
    other = api.post("/queue/leave", headers=people[1].headers,
                     json={"entry_id": entries[2].json()["entry"]["id"]})
    assert other.status_code == 404


def test_three_joins_an_hour(api: httpx.Client, world: World, sold_out: SoldOut) -> None:
    s = sold_out
    person = world.person()
    for _ in range(3):
        entry = join(api, person, s.event, s.tier)
        assert entry.status_code == 201
        api.post("/queue/leave", headers=person.headers,
                 json={"entry_id": entry.json()["entry"]["id"]})
    fourth = join(api, person, s.event, s.tier)
    assert fourth.status_code == 429 and error_code(fourth) == "rate_limited"
    assert "Retry-After" in fourth.headers
    assert _mine(api, person)[0]["status"] == "CANCELLED"  # the refused join wrote nothing


def test_a_refused_join_is_not_counted(api: httpx.Client, world: World,
                                       sold_out: SoldOut) -> None:
    s = sold_out
    person = world.person()
    entry = join(api, person, s.event, s.tier)
    for _ in range(4):  # second joins: refused with words, never counted
        assert error_code(join(api, person, s.event, s.tier)) == "already_waiting"
    api.post("/queue/leave", headers=person.headers, json={"entry_id": entry.json()["entry"]["id"]})
    assert join(api, person, s.event, s.tier).status_code == 201


def test_cancelled_order_offers_the_next_person_who_accepts(
        api: httpx.Client, world: World, session: Session, sold_out: SoldOut) -> None:
    s = sold_out
    first, second = world.person(), world.person()
    join(api, first, s.event, s.tier)
    join(api, second, s.event, s.tier)
    _cancel(api, s, s.order_ids[0])
    mine = _mine(api, first)[0]
    assert mine["status"] == "OFFERED" and mine["position"] is None
    assert mine["offer"]["total_cents"] == 0
    assert _mine(api, second)[0]["position"] == 1
    # The offered ticket is reserved: nobody else can buy it.
    stranger = world.person()
    assert buy(api, stranger, s.event, s.tier).status_code == 409
    # Told by e-mail (the outbox).
    mail = session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.kind == MailKind.QUEUE_OFFER)).all()
    assert [m.to_email for m in mail] == [first.user.email]
    # Someone else cannot use it.
    theirs = api.post("/queue/accept", headers=second.headers, json={"entry_id": mine["id"]})
    assert theirs.status_code == 404
    accepted = api.post("/queue/accept", headers=first.headers, json={"entry_id": mine["id"]})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["order_status"] == "COMPLETED"
    assert accepted.json()["entry"]["status"] == "PURCHASED"
    # A replayed offer link does nothing.
    replay = api.post("/queue/accept", headers=first.headers, json={"entry_id": mine["id"]})
    assert replay.status_code == 409 and error_code(replay) == "offer_used"
    session.expire_all()
    tier = session.get(TicketType, s.tier.id)
    assert tier is not None and tier.quantity_sold == 2 and tier.quantity_reserved == 0


def test_decline_passes_the_ticket_on_at_once(
        api: httpx.Client, world: World, sold_out: SoldOut) -> None:
    s = sold_out
    first, second = world.person(), world.person()
    join(api, first, s.event, s.tier)
    join(api, second, s.event, s.tier)
    _cancel(api, s, s.order_ids[1])
    offer = _mine(api, first)[0]
    assert api.post("/queue/decline", headers=first.headers,
                    json={"entry_id": offer["id"]}).status_code == 200
    assert _mine(api, second)[0]["status"] == "OFFERED"
    late = api.post("/queue/accept", headers=first.headers, json={"entry_id": offer["id"]})
    assert late.status_code == 409 and error_code(late) == "offer_expired"
    waiting = world.person()
    join(api, waiting, s.event, s.tier)
    still = api.post("/queue/accept", headers=waiting.headers,
                     json={"entry_id": _mine(api, waiting)[0]["id"]})
    assert still.status_code == 409 and error_code(still) == "no_offer"


def test_expired_offer_goes_to_the_next_and_its_hold_is_released(
        api: httpx.Client, world: World, session: Session, sold_out: SoldOut) -> None:
    s = sold_out
    first, second = world.person(), world.person()
    join(api, first, s.event, s.tier)
    join(api, second, s.event, s.tier)
    _cancel(api, s, s.order_ids[0])
    assert expire_offers(session, now=utcnow()) == 0  # not yet
    later = utcnow() + timedelta(minutes=5, seconds=1)
    assert expire_offers(session, now=later) == 1
    session.commit()
    entries = session.scalars(sa.select(WaitingListEntry).order_by(WaitingListEntry.id)).all()
    assert [e.status for e in entries] == [WaitingStatus.EXPIRED, WaitingStatus.OFFERED]
    first_order = session.get(Order, entries[0].order_id)
    assert first_order is not None and first_order.payment_status is PaymentStatus.FAILED
    live = session.scalars(sa.select(InventoryHold).where(
        InventoryHold.released_at.is_(None))).all()
    assert [h.order_id for h in live] == [entries[1].order_id]
    expired = api.post("/queue/accept", headers=first.headers, json={"entry_id": entries[0].id})
    assert expired.status_code == 409 and error_code(expired) == "offer_expired"


def test_more_quantity_goes_to_the_line_first(
        api: httpx.Client, world: World, sold_out: SoldOut) -> None:
    s = sold_out
    people = [world.person() for _ in range(3)]
    for p in people:
        join(api, p, s.event, s.tier)
    reply = api.patch(f"/events/{s.event.id}/ticket-types/{s.tier.id}",
                      headers=s.organizer.headers, json={"quantity_total": 4})
    assert reply.status_code == 200, reply.text
    assert [_mine(api, p)[0]["status"] for p in people] == ["OFFERED", "OFFERED", "WAITING"]
    assert _mine(api, people[2])[0]["position"] == 1
