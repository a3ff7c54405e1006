"""A buyer splits the payment with two friends in Debian's Chromium: check out with "split the
payment", name the payers and their amounts, and each payer opens the link e-mailed to them
(a real SMTP server) on their own phone, pays on the stand-in Stripe Checkout page and sees
their share paid; the buyer then finds the tickets' QR codes on the order page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from sync_server.events.models import Event
from tests.browser.conftest import CHROMIUM
from tests.browser.look import look
from tests.browser.test_paid_ticket import paid_event, stripe_env
from tests.fake_stripe.fixture import fake_stripe
from tests.fake_stripe.server import FakeStripe
from tests.server.conftest import PASSWORD, World
from tests.server.purchase.conftest import Mailbox, free_port

__all__ = ["fake_stripe", "paid_event", "stripe_env"]  # fixtures, imported for pytest

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no Debian chromium")


@pytest.fixture
def mail_and_links(live_app: tuple[Flask, str]) -> Iterator[Mailbox]:
    """The live app sends through a local SMTP server; its links are on its own address."""
    app, base = live_app
    box = Mailbox("127.0.0.1", free_port())
    controller = Controller(box, hostname=box.host, port=box.port)
    controller.start()
    config = app.extensions["sync_config"]
    app.extensions["sync_config"] = config.model_copy(update=dict(
        smtp_host=box.host, smtp_port=box.port, public_url=base))
    try:
        yield box
    finally:
        controller.stop()
        app.extensions["sync_config"] = config


def _link_to(messages: list[EmailMessage], email: str, base: str) -> str:
    mail = next(m for m in messages if m["To"] == email)
    found = re.search(re.escape(base) + r"/split/[A-Za-z0-9_-]+", mail.get_content())
    assert found, mail.get_content()
    return found[0]


def test_a_buyer_splits_the_payment_with_two_friends_who_pay_by_their_links(
    stripe_env: FakeStripe, live_app: tuple[Flask, str], paid_event: Event,
    mail_and_links: Mailbox, browser: Browser, phone: Page,
) -> None:  # (stripe_env first: the app reads STRIPE_* when it is created)
    app, base = live_app
    with app.extensions["sync_db_sessionmaker"]() as session:
        buyer = World(app, session).person("Bea Buyer")
        buyer_email = buyer.user.email
    phone.goto(f"{base}/sign-in")
    phone.get_by_label("E-mail").fill(buyer_email)
    phone.get_by_label("Password").fill(PASSWORD)
    phone.get_by_role("button", name="Sign in").click()
    expect(phone.get_by_role("button", name="Sign out")).to_be_visible()

    phone.goto(f"{base}/events/{paid_event.id}/buy")
    phone.get_by_role("spinbutton").first.fill("2")
    phone.get_by_label("Split the payment with friends").check()
    look(phone, "web-split-buy-phone")
    phone.get_by_role("button", name="Check out as Bea Buyer").click()

    phone.wait_for_url(re.compile(r".*/my/orders/\d+/split$"))
    order_id = int(phone.url.rsplit("/", 2)[-2])
    expect(phone.get_by_text("total $54.50")).to_be_visible()  # 2 x $27.25
    for index, (name, email, amount) in enumerate([("Ann Able", "ann@example.test", "30"),
                                                   ("Bob Baker", "bob@example.test", "24.50")]):
        phone.locator(f"#payers-{index}-payer_name").fill(name)
        phone.locator(f"#payers-{index}-payer_email").fill(email)
        phone.locator(f"#payers-{index}-amount").fill(amount)
    look(phone, "web-split-form-phone")
    phone.get_by_role("button", name="Split and e-mail each payer").click()

    expect(phone.get_by_role("heading", name="Who pays what")).to_be_visible()
    expect(phone.get_by_role("cell", name="Not paid yet")).to_have_count(2)
    look(phone, "web-split-shares-phone")

    for email, amount in (("ann@example.test", "$30.00"), ("bob@example.test", "$24.50")):
        link = _link_to(mail_and_links.messages, email, base)
        context = browser.new_context(viewport={"width": 390, "height": 844},
                                      device_scale_factor=2)  # the payer's own phone
        payer = context.new_page()
        payer.goto(link)
        expect(payer.get_by_role("heading", name=f"Your share: {amount}")).to_be_visible()
        expect(payer.get_by_text("Bea Buyer asked you")).to_be_visible()
        if email.startswith("ann"):
            look(payer, "web-split-share-phone")
        payer.get_by_role("button", name=f"Pay {amount}").click()
        payer.wait_for_url(f"{stripe_env.api_base}/**")
        payer.get_by_label("Email").fill(email)
        payer.get_by_role("button", name="Pay", exact=True).click()
        payer.wait_for_url(f"{base}/split/**")
        expect(payer.get_by_text("Paid.")).to_be_visible(timeout=15_000)  # refreshes itself
        if email.startswith("bob"):
            expect(payer.get_by_text("Every share is paid")).to_be_visible()
            look(payer, "web-split-share-paid-phone")
        context.close()

    phone.goto(f"{base}/my/orders/{order_id}")
    expect(phone.get_by_text("COMPLETED")).to_be_visible()
    expect(phone.get_by_role("img", name="QR code of ticket")).to_have_count(2)
    look(phone, "web-split-order-qr-phone")
    assert sorted(c["amount"] for c in stripe_env.ledger()["charges"]) == [2450, 3000]
