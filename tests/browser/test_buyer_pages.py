"""The buyer's pages in Debian's Chromium: find an event, see what is left, get a ticket and use
it (QR on screen, PDF, calendar file), give it away; and what strangers may not see."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from PIL import Image
from playwright.sync_api import Page, expect
from pyzbar.pyzbar import decode

from sync_server.events.models import Event, EventStatus
from sync_server.tickets.models import TicketInstance
from tests.browser.look import capture, look
from tests.server.conftest import PASSWORD, Person, World


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


def test_a_stranger_finds_an_event_and_sees_what_is_left(
    live_app: tuple[Flask, str], world: World, screen: Page
) -> None:
    _, base = live_app
    organizer = world.person("Org")
    shown = world.event(organizer, name="Windy City Steppers Ball")
    world.ticket_type(shown, organizer, quantity=12, price_cents=3500)
    world.event(organizer, name="Secret draft party", published=False)
    other = world.event(organizer, name="Detroit Sunday Set")
    other.city = "Detroit"
    world.session.commit()
    name = screen.screen_name  # type: ignore[attr-defined]

    screen.goto(f"{base}/events")
    expect(screen.get_by_role("link", name="Windy City Steppers Ball")).to_be_visible()
    expect(screen.get_by_text("Secret draft party")).to_have_count(0)
    look(screen, f"buyer-events-{name}")

    screen.get_by_label("City").fill("detroit")
    screen.get_by_role("button", name="Search").click()
    expect(screen.get_by_role("heading", name="1 event")).to_be_visible()
    expect(screen.get_by_role("link", name="Detroit Sunday Set")).to_be_visible()

    screen.goto(f"{base}/events")
    screen.get_by_role("link", name="Windy City Steppers Ball").click()
    expect(screen.get_by_role("heading", name="Windy City Steppers Ball")).to_be_visible()
    expect(screen.get_by_text("12 left")).to_be_visible()
    expect(screen.get_by_text("$35.00")).to_be_visible()
    look(screen, f"buyer-event-{name}")


def test_bad_search_input_is_answered_in_words(
    live_app: tuple[Flask, str], world: World, phone: Page
) -> None:
    _, base = live_app
    response = phone.goto(f"{base}/events?date_from=2030-06-10&date_to=2030-06-01")
    assert response is not None and response.status == 422
    expect(phone.get_by_text("must not be before date_from")).to_be_visible()
    response = phone.goto(f"{base}/events?date_from=yesterday&page=-3&q=%00")
    assert response is not None and response.status == 422
    expect(phone.get_by_text("Not a valid date value.")).to_be_visible()
    expect(phone.get_by_text("Remove the invisible control characters.")).to_be_visible()
    look(phone, "buyer-events-bad-input-phone")


def test_a_draft_is_no_such_page_to_strangers_and_buyers(
    live_app: tuple[Flask, str], world: World, phone: Page
) -> None:
    _, base = live_app
    organizer = world.person("Org")
    draft = world.event(organizer, published=False)
    response = phone.goto(f"{base}/events/{draft.id}")
    assert response is not None and response.status == 404
    look(phone, "buyer-draft-404-phone")
    _sign_in(phone, base, world.person("Buyer"))
    response = phone.goto(f"{base}/events/{draft.id}")
    assert response is not None and response.status == 404
    _sign_in(phone, base, organizer)
    response = phone.goto(f"{base}/events/{draft.id}")
    assert response is not None and response.status == 200


def test_a_buyer_gets_a_ticket_shows_its_qr_downloads_it_and_gives_it_away(
    live_app: tuple[Flask, str], world: World, phone: Page
) -> None:
    _, base = live_app
    organizer = world.person("Org")
    event = world.event(organizer, name="Free Friday Practice")
    world.ticket_type(event, organizer, quantity=5, price_cents=0)
    buyer = world.person("Bea Buyer")
    _sign_in(phone, base, buyer)

    phone.goto(f"{base}/events/{event.id}")
    phone.get_by_role("link", name="Get tickets").click()
    phone.locator("input[type=number]").first.fill("1")
    phone.get_by_role("button", name="Check out").click()
    expect(phone.get_by_text("COMPLETED")).to_be_visible()

    phone.get_by_role("link", name="My tickets").click()
    phone.get_by_role("link", name="Free Friday Practice").click()
    qr = phone.get_by_role("img", name="QR code of ticket")
    expect(qr).to_be_visible()
    look(phone, "buyer-ticket-phone")
    with world.session.begin():
        ticket = world.session.scalars(sa.select(TicketInstance)
                                       .where(TicketInstance.event_id == event.id)).one()
        token = ticket.token
    decoded = decode(Image.open(io.BytesIO(capture(qr))))
    assert [d.data.decode() for d in decoded] == [token]

    with phone.expect_download() as pdf:
        phone.get_by_role("link", name="Download PDF").click()
    assert pdf.value.path().read_bytes().startswith(b"%PDF")
    calendar = phone.request.get(f"{base}/events/{event.id}/calendar.ics")
    assert calendar.status == 200 and "text/calendar" in calendar.headers["content-type"]
    assert "SUMMARY:Free Friday Practice" in calendar.text()

    phone.get_by_label("Their e-mail").fill(buyer.user.email)
    phone.get_by_label("Their name").fill("Me Again")
    phone.get_by_role("button", name="Give ticket").click()
    expect(phone.get_by_text("give another person's address")).to_be_visible()
    look(phone, "buyer-transfer-refused-phone")
    phone.get_by_label("Their e-mail").fill("friend@example.test")
    phone.get_by_role("button", name="Give ticket").click()
    expect(phone.get_by_text("They get it by e-mail")).to_be_visible()
    world.session.expire_all()  # the page changed them in another session
    with world.session.begin():
        statuses = sorted(t.status for t in world.session.scalars(
            sa.select(TicketInstance).where(TicketInstance.event_id == event.id)))
    assert [s.value for s in statuses] == ["TRANSFERRED", "VALID"]
    look(phone, "buyer-my-tickets-phone")


def test_my_tickets_need_a_sign_in_and_others_tickets_are_not_found(
    live_app: tuple[Flask, str], world: World, phone: Page
) -> None:
    _, base = live_app
    phone.goto(f"{base}/my/tickets")
    expect(phone.get_by_role("heading", name="Sign in")).to_be_visible()
    assert "next=/my/tickets" in phone.url
    organizer = world.person("Org")
    event = world.event(organizer)
    assert world.session.get(Event, event.id).status is EventStatus.PUBLISHED
    _sign_in(phone, base, world.person("Nosy"))
    response = phone.goto(f"{base}/my/tickets/1")
    assert response is not None and response.status == 404


def test_a_stranger_checks_out_as_a_guest(
    live_app: tuple[Flask, str], world: World, phone: Page
) -> None:
    _, base = live_app
    organizer = world.person("Org")
    event = world.event(organizer, name="Guest Night")
    world.ticket_type(event, organizer, quantity=5, price_cents=0)
    phone.goto(f"{base}/events/{event.id}/buy")
    phone.locator("input[type=number]").first.fill("2")
    # The browser's own checks would stop the form; the server must check too.
    phone.locator("form").last.evaluate("form => { form.noValidate = true; }")
    phone.get_by_role("button", name="Check out as a guest").click()
    expect(phone.get_by_text("Give your name")).to_be_visible()
    look(phone, "buyer-guest-checkout-errors-phone")
    phone.get_by_label("Name on the tickets").fill("Gwen Guest")
    phone.get_by_label("E-mail").fill("gwen@example.test")
    phone.get_by_role("button", name="Check out as a guest").click()
    expect(phone.get_by_role("img", name="QR code of ticket")).to_have_count(2)
    expect(phone.get_by_text("private link")).to_be_visible()
    look(phone, "buyer-guest-order-phone")
