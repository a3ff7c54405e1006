"""The waiting list on the buyer's event page in Debian's Chromium (issue #17): a tier sells
out, a second person joins the line in a second browser, the first order is cancelled, and the
offer arrives live on the open page (the test never reloads it); they buy within it. Also: a
second join and a replayed offer are refused in words; a stranger is asked to sign in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Browser, Locator, Page, expect

from sync_server.events.models import Event, TicketType
from sync_server.queue.models import WaitingListEntry
from sync_server.tickets.models import TicketInstance
from tests.browser.look import look
from tests.server.conftest import PASSWORD, Person, World

OFFER_ARRIVES_MS = 20_000  # the stream polls every 0.5 s; a loaded machine is slow


@pytest.fixture
def world(live_app: tuple[Flask, str]) -> Iterator[World]:
    app, _ = live_app
    with app.app_context(), app.extensions["sync_db_sessionmaker"]() as session:
        yield World(app, session)


def _sign_in(page: Page, base: str, person: Person) -> None:
    page.goto(f"{base}/sign-in")
    page.get_by_label("E-mail").fill(person.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def _sold_out_event(world: World, organizer: Person) -> tuple[Event, TicketType]:
    event = world.event(organizer, name="Sold Out Saturday Set")
    event.allow_waitlist = True
    tier = world.ticket_type(event, organizer, quantity=1, price_cents=0)
    world.session.commit()
    return event, tier


def test_a_ticket_comes_back_live_to_the_first_in_line(
    live_app: tuple[Flask, str], world: World, browser: Browser, phone: Page
) -> None:
    _, base = live_app
    organizer, first, waiter = world.person("Org"), world.person("First"), world.person("Wade")
    event, tier = _sold_out_event(world, organizer)
    event_url = f"{base}/events/{event.id}"
    with httpx.Client(base_url=f"{base}/api/v1", timeout=10) as api:
        sold = api.post("/checkout", headers=first.headers, json={
            "event_id": event.id, "payment_method": "CASH",
            "items": [{"ticket_type_id": tier.id, "quantity": 1}]})
        assert sold.status_code == 201, sold.text

        # A stranger sees the tier sold out and is asked to sign in to wait.
        stranger_context = browser.new_context(viewport={"width": 390, "height": 844})
        try:
            stranger = stranger_context.new_page()
            stranger.goto(event_url)
            expect(stranger.locator(f'tr[data-ticket-type-id="{tier.id}"]')
                   .get_by_text("Sold out")).to_be_visible()
            prompt = stranger.get_by_role("link", name="Sign in to join the waiting list")
            expect(prompt).to_have_attribute("href", f"/sign-in?next=/events/{event.id}")
            expect(stranger.get_by_role("button", name="Join the waiting list")).to_have_count(0)
            look(stranger, "buyer-waiting-list-stranger-phone")
        finally:
            stranger_context.close()

        # The second person, in a second browser, joins the line.
        _sign_in(phone, base, waiter)
        phone.goto(event_url)
        join_form = "form[action$='/waiting-list/join']"
        join_csrf = phone.locator(f"{join_form} input[name=csrf_token]").input_value()
        phone.get_by_role("button", name="Join the waiting list").click()
        expect(phone.get_by_text("You are number 1 in line")).to_be_visible()
        look(phone, "buyer-waiting-list-in-line-phone")

        # A second join (another tab's form) is refused in words, nothing added.
        reply = phone.request.post(f"{event_url}/waiting-list/join", max_redirects=0,
                                   form={"csrf_token": join_csrf, "ticket_type_id": str(tier.id)})
        assert reply.status == 302
        phone.goto(event_url)
        expect(phone.get_by_text("You are already in line for this ticket type.")).to_be_visible()
        expect(phone.get_by_text("You are number 1 in line")).to_be_visible()
        look(phone, "buyer-waiting-list-second-join-phone")

        # The first order is cancelled: the ticket is offered to the line, live on the open page.
        cancelled = api.post(f"/events/{event.id}/orders/cancel", headers=organizer.headers,
                             json={"order_id": sold.json()["order"]["id"], "reason": "ill"})
        assert cancelled.status_code == 200, cancelled.text
    expect(phone.get_by_text("A ticket is held for you until")).to_be_visible(
        timeout=OFFER_ARRIVES_MS)
    look(phone, "buyer-waiting-list-offer-phone")

    entry_id = phone.locator("form[action$='/waiting-list/accept'] input[name=entry_id]") \
        .input_value()
    replay = {"entry_id": entry_id}
    accept_csrf = phone.locator("form[action$='/waiting-list/accept'] input[name=csrf_token]") \
        .input_value()
    phone.get_by_role("button", name="Buy it").click()
    expect(phone.get_by_text("The ticket is yours.")).to_be_visible()
    expect(phone.get_by_text("COMPLETED")).to_be_visible()
    look(phone, "buyer-waiting-list-bought-phone")
    tickets = world.session.scalars(sa.select(TicketInstance).where(
        TicketInstance.event_id == event.id,
        TicketInstance.current_owner_id == waiter.user.id)).all()
    assert len(tickets) == 1

    # The offer replayed after buying does nothing, and says so.
    reply = phone.request.post(f"{event_url}/waiting-list/accept", max_redirects=0,
                               form={"csrf_token": accept_csrf, **replay})
    assert reply.status == 302
    phone.goto(event_url)
    expect(phone.get_by_text("This offer was used: the ticket is yours already.")).to_be_visible()
    look(phone, "buyer-waiting-list-replayed-offer-phone")
    world.session.expire_all()
    assert len(world.session.scalars(sa.select(TicketInstance).where(
        TicketInstance.event_id == event.id,
        TicketInstance.current_owner_id == waiter.user.id)).all()) == 1


def test_refusals_leaving_declining_and_an_ended_offer_are_said_in_words(
    live_app: tuple[Flask, str], world: World, phone: Page
) -> None:
    _, base = live_app
    organizer, first, waiter = world.person("Org"), world.person("First"), world.person("Wade")
    event = world.event(organizer, name="Four Tiers Night")
    event.allow_waitlist = True
    tiers = [world.ticket_type(event, organizer, quantity=1, price_cents=0) for _ in range(4)]
    world.session.commit()
    event_url = f"{base}/events/{event.id}"
    with httpx.Client(base_url=f"{base}/api/v1", timeout=10) as api:
        sold = api.post("/checkout", headers=first.headers, json={
            "event_id": event.id, "payment_method": "CASH",
            "items": [{"ticket_type_id": t.id, "quantity": 1} for t in tiers]})
        assert sold.status_code == 201, sold.text

        def box(tier: TicketType) -> Locator:
            return phone.locator(f'[data-queue-ticket-type-id="{tier.id}"]')

        _sign_in(phone, base, waiter)
        phone.goto(event_url)
        for tier in tiers[:3]:
            box(tier).get_by_role("button", name="Join the waiting list").click()
            expect(phone.get_by_text(f"You are in line for {tier.name}: number 1.")).to_be_visible()
            expect(box(tier).get_by_text("You are number 1 in line")).to_be_visible()
        # The seed's rule: at most 3 joins an hour.
        box(tiers[3]).get_by_role("button", name="Join the waiting list").click()
        expect(phone.get_by_text("You joined waiting lists too often this hour.")).to_be_visible()
        expect(box(tiers[3]).get_by_role("button", name="Join the waiting list")).to_be_visible()
        look(phone, "buyer-waiting-list-too-many-joins-phone")

        box(tiers[2]).get_by_role("button", name="Leave the waiting list").click()
        expect(phone.get_by_text("You left the waiting list.")).to_be_visible()
        expect(box(tiers[2]).get_by_role("button", name="Join the waiting list")).to_be_visible()

        cancelled = api.post(f"/events/{event.id}/orders/cancel", headers=organizer.headers,
                             json={"order_id": sold.json()["order"]["id"], "reason": "ill"})
        assert cancelled.status_code == 200, cancelled.text
    # Two offers arrive live; the other two tickets are on sale again (the line was empty).
    expect(phone.get_by_text("A ticket is held for you until")).to_have_count(
        2, timeout=OFFER_ARRIVES_MS)
    expect(phone.locator(f'tr[data-ticket-type-id="{tiers[3].id}"]')
           .get_by_text("1 left")).to_be_visible()
    look(phone, "buyer-waiting-list-two-offers-phone")

    box(tiers[0]).get_by_role("button", name="No thanks").click()
    expect(phone.get_by_text("You gave the ticket up")).to_be_visible()
    expect(box(tiers[0])).to_have_count(0)  # not sold out any more: nobody else was waiting

    # An offer that ended while the page was open cannot be used.
    world.session.execute(sa.update(WaitingListEntry).where(
        WaitingListEntry.ticket_type_id == tiers[1].id).values(
        offer_expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    world.session.commit()
    box(tiers[1]).get_by_role("button", name="Buy it").click()
    expect(phone.get_by_text("This offer has ended; join the line again.")).to_be_visible()
    look(phone, "buyer-waiting-list-ended-offer-phone")
    assert world.session.scalars(sa.select(TicketInstance).where(
        TicketInstance.current_owner_id == waiter.user.id)).all() == []


def test_what_is_left_and_people_buying_change_live_without_a_reload(
    live_app: tuple[Flask, str], world: World, browser: Browser, phone: Page
) -> None:
    _, base = live_app
    organizer, buyer = world.person("Org"), world.person("Bo")
    event = world.event(organizer, name="Live Counts Night")
    tier = world.ticket_type(event, organizer, quantity=2, price_cents=2500)
    row = phone.locator(f'tr[data-ticket-type-id="{tier.id}"]')
    phone.goto(f"{base}/events/{event.id}")
    expect(row.get_by_text("2 left")).to_be_visible()
    phone.evaluate("window.notReloaded = true")
    with httpx.Client(base_url=f"{base}/api/v1", timeout=10) as api:
        held = api.post("/checkout", headers=buyer.headers, json={
            "event_id": event.id, "payment_method": "CASH",
            "items": [{"ticket_type_id": tier.id, "quantity": 2}]})
        assert held.status_code == 201, held.text
    expect(row.get_by_text("Sold out")).to_be_visible(timeout=OFFER_ARRIVES_MS)
    assert held.json()["order"]["payment_status"] == "PENDING"  # unpaid: held, not sold
    expect(row.get_by_text("2 people buying now")).to_be_visible()
    assert phone.evaluate("window.notReloaded === true")
    look(phone, "buyer-event-live-sold-out-phone")
