"""The waiting list's rules live in ``queue.services``, so the JSON API and the buyer's page get
the same answers: an event without a waiting list, a second join, the hourly limit, someone
else's entry, an ended offer and a replayed one. On SQLite and PostgreSQL (``database_url``)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from sync_server.db import utcnow
from sync_server.errors import ApiError
from sync_server.events.models import Event, TicketType
from sync_server.queue import offers, services
from sync_server.queue.models import WaitingListEntry, WaitingStatus
from sync_server.ratelimit.models import RateLimit
from tests.server.conftest import World, error_code
from tests.server.queue.conftest import SETTINGS, SoldOut, buy, join


def _rows(session: Session) -> list[tuple[int, WaitingStatus]]:
    session.expire_all()
    return [(e.user_id, e.status) for e in session.scalars(
        sa.select(WaitingListEntry).order_by(WaitingListEntry.id))]


def _no_waiting_list(world: World, api: httpx.Client) -> tuple[Event, TicketType]:
    organizer = world.person()
    event = world.event(organizer)  # allow_waitlist stays off (the organizer's choice)
    tier = world.ticket_type(event, organizer, price_cents=0, quantity=1)
    assert buy(api, world.person(), event, tier).status_code == 201
    return event, tier


def test_the_api_refuses_a_line_where_the_event_takes_none(
        api: httpx.Client, world: World, session: Session) -> None:
    event, tier = _no_waiting_list(world, api)
    person = world.person()
    for _ in range(4):  # refused with words, and never counted against the hourly limit
        refused = join(api, person, event, tier)
        assert refused.status_code == 409 and error_code(refused) == "no_waiting_list"
        assert "does not take a waiting list" in refused.json()["error"]["message"]
    assert _rows(session) == []
    assert session.scalar(sa.select(sa.func.count()).select_from(RateLimit)
                          .where(RateLimit.action == services.JOIN_ACTION)) == 0
    event.allow_waitlist = True  # the organizer turns it on: the same person may join now
    session.commit()
    assert join(api, person, event, tier).status_code == 201
    assert _rows(session) == [(person.user.id, WaitingStatus.WAITING)]


def test_the_service_itself_refuses_each_rule(
        app: Flask, world: World, session: Session, api: httpx.Client,
        sold_out: SoldOut) -> None:
    """No shell in between: what the API and the page both call."""
    s = sold_out
    person, other = world.person(), world.person()
    closed_event, closed_tier = _no_waiting_list(world, api)
    with app.app_context():
        with pytest.raises(ApiError) as refused:
            services.join(session, user=person.user, event=closed_event,
                          ticket_type=closed_tier, joins_per_hour=3)
        assert (refused.value.status, refused.value.code) == (409, "no_waiting_list")
        session.rollback()
        for n in range(3):
            entry = services.join(session, user=person.user, event=s.event, ticket_type=s.tier,
                                  joins_per_hour=3)
            session.commit()
            if n == 0:  # a second join while in line: refused with words, not counted
                with pytest.raises(ApiError) as again:
                    services.join(session, user=person.user, event=s.event,
                                  ticket_type=s.tier, joins_per_hour=3)
                assert (again.value.code, again.value.message) == (
                    "already_waiting", "you are already in line for this ticket type")
                session.rollback()
            # Someone else cannot touch this entry: "not found", as a made-up id.
            for entry_id, user in ((entry.id, other.user), (10**9, person.user)):
                with pytest.raises(ApiError) as hidden:
                    services.own_entry(session, user, entry_id)
                assert (hidden.value.status, hidden.value.code) == (404, "not_found")
            services.leave(session, services.own_entry(session, person.user, entry.id))
            session.commit()
        with pytest.raises(ApiError) as limited:  # the fourth join this hour
            services.join(session, user=person.user, event=s.event, ticket_type=s.tier,
                          joins_per_hour=3)
        assert (limited.value.status, limited.value.code) == (429, "rate_limited")
        assert "Retry-After" in limited.value.headers
        session.rollback()
    assert [status for user, status in _rows(session) if user == person.user.id] == \
        [WaitingStatus.CANCELLED] * 3


def test_an_ended_or_used_offer_does_nothing(
        app: Flask, world: World, session: Session, api: httpx.Client,
        sold_out: SoldOut) -> None:
    s = sold_out
    first = world.person()
    with app.app_context():
        entry = services.join(session, user=first.user, event=s.event, ticket_type=s.tier)
        session.commit()
        with pytest.raises(ApiError) as waiting:
            services.accept(session, entry, settings=SETTINGS)
        assert waiting.value.code == "no_offer"
        s.tier.quantity_total += 1  # a unit back on sale: offered to the line
        session.flush()
        assert offers.advance(session, s.tier.id, settings=SETTINGS) == [entry]
        session.commit()
        assert entry.status is WaitingStatus.OFFERED
        # Lapsed (the job has not ended it yet): cannot be used.
        late = entry.offer_expires_at + timedelta(seconds=1)  # type: ignore[operator]
        with pytest.raises(ApiError) as lapsed:
            services.accept(session, entry, settings=SETTINGS, now=late)
        assert lapsed.value.code == "offer_expired"
        session.rollback()
        outcome = services.accept(session, entry, settings=SETTINGS, now=utcnow())
        session.commit()
        assert outcome.completed_now and len(outcome.issued) == 1
        session.refresh(entry)
        assert entry.status is WaitingStatus.PURCHASED
        with pytest.raises(ApiError) as replayed:  # the offer's link again: nothing twice
            services.accept(session, entry, settings=SETTINGS)
        assert replayed.value.code == "offer_used"
        with pytest.raises(ApiError) as given_up:
            services.decline(session, entry)
        assert given_up.value.code == "offer_used"
        session.rollback()
    session.expire_all()
    tier = session.get(TicketType, s.tier.id)
    assert tier is not None and tier.quantity_sold == 3 and tier.quantity_reserved == 0


def test_a_batch_skips_who_left_and_falls_back_to_one_at_a_time_when_refused(
        app: Flask, world: World, session: Session, sold_out: SoldOut) -> None:
    """Three in line; the second leaves: one advance offers the first and the third (one batch).
    Then a per-order minimum of two refuses the batch as a whole: it is rolled back and each
    person is tried alone, their entry cancelled (a ticket they cannot buy), nothing held."""
    s = sold_out
    people = [world.person() for _ in range(5)]
    with app.app_context():
        entries = [services.join(session, user=p.user, event=s.event, ticket_type=s.tier)
                   for p in people]
        session.commit()
        services.leave(session, entries[1])
        session.commit()
        s.tier.quantity_total += 2
        session.flush()
        offered = offers.advance(session, s.tier.id, settings=SETTINGS)
        session.commit()
        assert offered == [entries[0], entries[2]]
        assert [e.status for e in offered] == [WaitingStatus.OFFERED] * 2
        assert len({e.order_id for e in offered}) == 2 and None not in {e.order_id for e in offered}
        s.tier.min_per_order, s.tier.max_per_order = 2, 10
        s.tier.quantity_total += 2
        session.flush()
        assert offers.advance(session, s.tier.id, settings=SETTINGS) == []
        session.commit()
    session.expire_all()
    assert [status for _user, status in _rows(session)] == [
        WaitingStatus.OFFERED, WaitingStatus.CANCELLED, WaitingStatus.OFFERED,
        WaitingStatus.CANCELLED, WaitingStatus.CANCELLED]
    tier = session.get(TicketType, s.tier.id)
    assert tier is not None and tier.quantity_reserved == 2  # the two offers' holds only
