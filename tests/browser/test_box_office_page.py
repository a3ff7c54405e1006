"""The organizer's box-office page in a real browser: sellers' totals, today's codes, the CSV and
PDF downloads; a seller and a stranger are refused."""

from __future__ import annotations

from flask import Flask
from playwright.sync_api import Page, expect

from sync_server.accounts.services import create_user
from sync_server.box_office.codes import code_of_the_day
from sync_server.box_office.services import BoxOfficeSettings, confirm_sale, place_hold
from sync_server.events.models import Event
from sync_server.orders.services import PurchaseSettings, WantedLine
from sync_server.staff.models import AuthorizedSeller
from sync_server.staff.services import add_seller
from tests.browser.look import look
from tests.server.conftest import MASTER_SECRET, World

PASSWORD = "step-in-time-2026"


def _people(app: Flask) -> tuple[int, str]:
    """An organizer with an event and a seller; returns (event id, the seller's code today)."""
    with app.extensions["sync_db_sessionmaker"]() as session:
        hasher = app.extensions["sync_hasher"]
        organizer = create_user(session, email="olive@example.com", password=PASSWORD,
                                name="Olive Organizer", hasher=hasher, email_verified=True)
        create_user(session, email="sam@example.com", password=PASSWORD, name="Sam Seller",
                    hasher=hasher, email_verified=True)
        create_user(session, email="stan@example.com", password=PASSWORD, name="Stan Stranger",
                    hasher=hasher, email_verified=True)
        session.commit()
        world = World(app, session)
        from tests.server.conftest import Person

        event = world.event(Person(organizer, ""), name="Winter Steppers Ball")
        tier = world.ticket_type(event, Person(organizer, ""), price_cents=2500)
        add_seller(session, event, by=organizer, email="sam@example.com", allocated_tickets=20,
                   commission_rate_bp=1000)
        session.commit()
        seller = session.query(AuthorizedSeller).one()
        the_event = session.get(Event, event.id)
        assert the_event is not None
        code = code_of_the_day(session, seller, the_event, master_secret=MASTER_SECRET)
        settings = BoxOfficeSettings(purchase=PurchaseSettings(master_secret=MASTER_SECRET))
        sale, _ = place_hold(session, event=the_event, seller=seller, device_id=None,
                             client_sale_id="sale-0001", wanted=[WantedLine(tier.id, None, 2)],
                             buyer_name="Ann", buyer_email="", buyer_phone=None,
                             settings=settings)
        session.commit()
        confirm_sale(session, sale=sale, seller=seller, settings=settings)
        session.commit()
        return event.id, code


def _sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/sign-in")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as")).to_be_visible()


def test_organizer_sees_sellers_codes_and_downloads(live_app: tuple[Flask, str],
                                                    screen: Page) -> None:
    app, base = live_app
    event_id, code = _people(app)
    _sign_in(screen, base, "olive@example.com")
    screen.goto(f"{base}/organize/events/{event_id}/box-office")
    expect(screen.get_by_role("heading", name="Box office")).to_be_visible()
    row = screen.get_by_role("row", name="Sam Seller")
    expect(row).to_contain_text(code)
    expect(row).to_contain_text("$50.00")  # two $25 tickets in cash
    expect(row).to_contain_text("$5.00")  # 10 % commission
    look(screen, f"web-box-office-{screen.screen_name}")  # type: ignore[attr-defined]
    csv = screen.request.get(f"{base}/organize/events/{event_id}/box-office/report.csv")
    assert csv.status == 200 and csv.text().splitlines()[1].split(",")[1] == "Sam Seller"
    pdf = screen.request.get(f"{base}/organize/events/{event_id}/box-office/report.pdf")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")


def test_seller_and_stranger_are_refused(live_app: tuple[Flask, str], laptop: Page) -> None:
    app, base = live_app
    event_id, _ = _people(app)
    url = f"{base}/organize/events/{event_id}/box-office"
    signed_out = laptop.goto(url)
    assert signed_out is not None and "/sign-in" in laptop.url
    for email in ("sam@example.com", "stan@example.com"):
        _sign_in(laptop, base, email)
        response = laptop.goto(url)
        assert response is not None and response.status == 403
        look(laptop, f"web-box-office-refused-{email.split('@')[0]}")
        assert laptop.request.get(url + "/report.csv").status == 403
        laptop.context.clear_cookies()
    missing = laptop.goto(f"{base}/organize/events/999999/box-office")
    assert (missing is not None and missing.status in (302, 404)) or "/sign-in" in laptop.url
