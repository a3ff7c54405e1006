"""The organizer's orders, live door and analytics pages in Chromium, as each role, on a phone
and a laptop; each visit ends with ``look`` (screenshot + axe-core). The live page updates by
itself after a door uploads a scan."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from shared import protocol as p
from sync_server.orders.models import Order, OrderItem, PaymentMethod
from tests.browser.look import look
from tests.server.conftest import PASSWORD, Person, World
from tests.server.door.conftest import (
    Door,
    scan,
    sell,
    server_clock_after_the_event,  # noqa: F401 (scans in 2030)
)


@dataclass
class Night:
    base: str
    organizer: Person
    staff: Person
    seller: Person
    stranger: Person
    event_id: int
    order_id: int
    order_number: str
    north: Door
    spare_ticket_ids: list[int]

    def url(self, tail: str) -> str:
        return f"{self.base}/organize/events/{self.event_id}{tail}"


@pytest.fixture
def night(live_app: tuple[Flask, str]) -> Iterator[Night]:
    app, base = live_app
    with app.extensions["sync_db_sessionmaker"]() as session:
        world = World(app, session)
        organizer = world.person("Olive Organizer")
        staff, seller, stranger = (world.person(n) for n in ("Sam Staff", "Sue Seller", "Stan"))
        event = world.event(organizer, name="Friday Night Steppers")
        tier = world.ticket_type(event, organizer, quantity=500)
        world.staff(event, organizer, staff)
        world.seller(event, organizer, seller)
        north = Door(*world.device(organizer, event, name="North"))
        tickets = sell(session, event, tier, 3, name="Ada Lovelace")
        spare = sell(session, event, tier, 4, name="Grace Hopper")
        for sold in (tickets, spare):  # the orders' lines, as a checkout writes them
            session.add(OrderItem(order_id=sold[0].order_id, ticket_type_id=tier.id,
                                  quantity=len(sold), price_per_item_cents=2500,
                                  subtotal_cents=2500 * len(sold)))
            lined = session.get(Order, sold[0].order_id)
            assert lined is not None
            lined.units = len(sold)
        order = session.get(Order, tickets[0].order_id)
        assert order is not None
        order.total_cents = order.subtotal_cents = 7500
        order.payment_method = PaymentMethod.CASH  # paid at the box office: refunded by hand
        order.completed_at = order.created_at
        session.commit()
        upload(base, north, [scan(event, t, minutes=i) for i, t in enumerate(tickets)])
        yield Night(base, organizer, staff, seller, stranger, event.id, order.id,
                    order.order_number, north, [t.id for t in spare])


def upload(base: str, door: Door, scans: list[p.ScanRecord]) -> None:
    answer = httpx.post(f"{base}/api/v1/door/scans", headers=door.headers,
                        json=p.ScanBatch(tuple(scans), datetime.now(UTC)).to_json())
    assert answer.status_code == 200, answer.text


def sign_in(page: Page, base: str, person: Person) -> None:
    page.goto(f"{base}/sign-in")
    page.get_by_label("E-mail").fill(person.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_organizer_finds_an_order_and_cancels_it(night: Night, screen: Page) -> None:
    size = screen.screen_name  # type: ignore[attr-defined]
    sign_in(screen, night.base, night.organizer)
    screen.goto(night.url("/orders"))
    expect(screen.get_by_role("heading", name="Friday Night Steppers: orders")).to_be_visible()
    look(screen, f"org-orders-{size}")
    screen.get_by_label("Search orders").fill("lovelace")
    screen.get_by_role("button", name="Search").click()
    expect(screen.get_by_text("1 order matching")).to_be_visible()
    look(screen, f"org-orders-search-{size}")
    screen.get_by_role("link", name=night.order_number).click()
    expect(screen.get_by_role("heading", name=f"Order {night.order_number}")).to_be_visible()
    look(screen, f"org-order-{size}")
    screen.locator("summary", has_text="Cancel this order").click()
    # The browser's own checks would stop the form; the server must check too.
    screen.locator("form[action$='/cancel']").evaluate("form => { form.noValidate = true; }")
    screen.get_by_role("button", name="Cancel order").click()  # no reason, no confirmation
    expect(screen.get_by_text("Tick the box to confirm.")).to_be_visible()
    look(screen, f"org-order-cancel-refused-{size}")
    screen.get_by_label("Why is it cancelled?").fill("The buyer asked")
    screen.get_by_label("Yes: cancel the order").check()
    screen.get_by_role("button", name="Cancel order").click()
    expect(screen.get_by_text(f"Order {night.order_number} cancelled.")).to_be_visible()
    expect(screen.get_by_role("cell", name="order.cancel")).to_be_visible()
    look(screen, f"org-order-cancelled-{size}")
    screen.goto(night.url("/orders?page=zero"))
    expect(screen.get_by_text("Page numbers are whole numbers from 1.")).to_be_visible()
    look(screen, f"org-orders-bad-page-{size}")


def test_organizer_reads_analytics_and_the_live_door(night: Night, screen: Page) -> None:
    size = screen.screen_name  # type: ignore[attr-defined]
    sign_in(screen, night.base, night.organizer)
    screen.goto(night.url("/analytics"))
    expect(screen.get_by_role("img", name="Tickets sold by ticket type")).to_be_visible()
    expect(screen.get_by_role("img", name="People checked in through the night")).to_be_visible()
    look(screen, f"org-analytics-{size}")
    screen.goto(night.url("/live"))
    expect(screen.locator('[data-figure="inside"]')).to_have_text("3")
    expect(screen.get_by_role("img", name="Entries per minute at North")).to_be_visible()
    look(screen, f"org-live-{size}")


def test_staff_see_the_live_door_and_nothing_else(night: Night, screen: Page) -> None:
    size = screen.screen_name  # type: ignore[attr-defined]
    sign_in(screen, night.base, night.staff)
    screen.goto(night.url("/live"))
    expect(screen.locator('[data-figure="inside"]')).to_have_text("3")
    expect(screen.get_by_role("link", name="Analytics")).to_have_count(0)
    look(screen, f"staff-live-{size}")
    for tail in ("/orders", "/analytics", f"/orders/{night.order_id}"):
        answer = screen.goto(night.url(tail))
        assert answer is not None and answer.status == 403, tail
    look(screen, f"staff-orders-forbidden-{size}")


@pytest.mark.parametrize("who", ["seller", "stranger"])
def test_sellers_and_strangers_are_refused(night: Night, screen: Page, who: str) -> None:
    size = screen.screen_name  # type: ignore[attr-defined]
    sign_in(screen, night.base, getattr(night, who))
    for tail in ("/orders", "/live", "/analytics", "/orders.csv", "/live/figures"):
        answer = screen.goto(night.url(tail))
        assert answer is not None and answer.status == 403, tail
    look(screen, f"{who}-forbidden-{size}")


def test_signed_out_visitors_are_sent_to_sign_in(night: Night, laptop: Page) -> None:
    for tail in ("/orders", "/live", "/analytics"):
        laptop.goto(night.url(tail))
        expect(laptop.get_by_role("heading", name="Sign in")).to_be_visible()
    look(laptop, "org-pages-signed-out-laptop")


def test_the_live_page_updates_by_itself_after_a_door_uploads(night: Night,
                                                              laptop: Page) -> None:
    sign_in(laptop, night.base, night.organizer)
    laptop.goto(night.url("/live"))
    inside = laptop.locator('[data-figure="inside"]')
    expect(inside).to_have_text("3")
    upload(night.base, night.north, [
        scan(night.event_id, night.spare_ticket_ids[0], minutes=5),
        scan(night.event_id, night.spare_ticket_ids[1], minutes=6),
        scan(night.event_id, None, minutes=6, verdict="forged")])
    # No reload: live.js fetches the figures every 5 seconds.
    expect(inside).to_have_text("5", timeout=15_000)
    expect(laptop.get_by_role("cell", name="Forged code")).to_be_visible()
    expect(laptop.locator("#live-status")).to_contain_text("updates by itself")
    look(laptop, "org-live-updated-laptop")


def test_the_csv_downloads(night: Night, laptop: Page) -> None:
    sign_in(laptop, night.base, night.organizer)
    laptop.goto(night.url("/orders"))
    with laptop.expect_download() as download:
        laptop.get_by_role("link", name="Attendee list (CSV)").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.startswith("ticket_number,holder_name,holder_email")
    assert text.count("\n") == 1 + 7
    with laptop.expect_download() as download:
        laptop.get_by_role("link", name="Orders (CSV)").click()
    assert night.order_number in Path(download.value.path()).read_text(encoding="utf-8")
