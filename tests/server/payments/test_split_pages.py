"""Split payments as pages and e-mail: the buyer checks out with SPLIT on the buy page, names the
payers on the split form; each payer gets their link by e-mail (a real SMTP server), opens it,
pays on the stand-in Checkout page; the tickets are issued when the last share is paid. Bad
input is refused next to its field, a bad link is a 404 page, a timed-out split mails the buyer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from sync_server.db import utcnow
from sync_server.jobs.registry import JobContext, send_mail
from sync_server.mail.models import MailKind, MailStatus, OutboxMessage
from sync_server.mail.outbox import deliver_due
from sync_server.mail.smtp import SmtpSettings
from sync_server.payments.models import ShareStatus, SplitPayment, SplitShare
from tests.fake_stripe.server import FakeStripe
from tests.server.conftest import Person, World
from tests.server.organizer.conftest import csrf, web_as
from tests.server.payments.conftest import Shop, order_state
from tests.server.payments.test_split_payments import time_out
from tests.server.purchase.conftest import Mailbox, mailbox

__all__ = ["mailbox"]  # a fixture, imported for pytest
PUBLIC = "https://tickets.example.test"
TOTAL = 5450  # 2 x ($25.00 + 5 % + $1.00)
_LINK = re.compile(re.escape(PUBLIC) + r"/split/([A-Za-z0-9_-]{40,64})")


@pytest.fixture
def public(app: Flask, mailbox: Mailbox) -> Iterator[Mailbox]:
    """Mail goes to the local SMTP server; links are made on the public address."""
    config = app.extensions["sync_config"]
    app.extensions["sync_config"] = config.model_copy(update={"public_url": PUBLIC})
    try:
        yield mailbox
    finally:
        app.extensions["sync_config"] = config


def split_checkout(web: httpx.Client, shop: Shop, quantity: int = 2) -> int:
    """The buy page with "split the payment": the order id (sent on to the split form)."""
    page = web.get(f"/events/{shop.event.id}/buy")
    assert "Split the payment with friends" in page.text
    placed = web.post(f"/events/{shop.event.id}/buy", data={
        "csrf_token": csrf(page.text), f"tt-{shop.tier.id}": str(quantity),
        "payment_method": "SPLIT"})
    assert placed.status_code == 302, placed.text
    found = re.fullmatch(r"/my/orders/(\d+)/split", placed.headers["location"])
    assert found, placed.headers["location"]
    return int(found[1])


def payers(*rows: tuple[str, str, str]) -> dict[str, str]:
    form = {}
    for index, (name, email, amount) in enumerate(rows):
        form |= {f"payers-{index}-payer_name": name, f"payers-{index}-payer_email": email,
                 f"payers-{index}-amount": amount}
    return form


def send_split(web: httpx.Client, order_id: int, form: dict[str, str]) -> httpx.Response:
    url = f"/my/orders/{order_id}/split"
    return web.post(url, data={"csrf_token": csrf(web.get(url).text), **form})


def links(mails: list[EmailMessage]) -> dict[str, str]:
    """Each payer's address -> the token of the link mailed to them."""
    found = {}
    for mail in mails:
        if "asked you to pay your share" in mail["Subject"]:
            match = _LINK.search(mail.get_content())
            assert match, mail.get_content()
            found[mail["To"]] = match[1]
    return found


def pay_by_link(app: Flask, fake: FakeStripe, token: str) -> str:
    """A payer (no account, their own browser) opens the link, presses Pay, pays on Stripe's
    page and comes back: the share page's text."""
    payer = web_as(app, None)
    page = payer.get(f"/split/{token}")
    assert page.status_code == 200, page.text
    opened = payer.post(f"/split/{token}/pay", data={"csrf_token": csrf(page.text)})
    assert opened.status_code == 302 and opened.headers["location"].startswith(fake.api_base)
    checkout_id = opened.headers["location"].rstrip("/").split("/")[-1]
    fake.pay(checkout_id)
    fake.wait_for_webhooks()
    return payer.get(f"/split/{token}?paid=1").text


def test_a_buyer_splits_by_page_each_payer_is_mailed_and_pays_by_link(
        app: Flask, world: World, shop: Shop, fake_stripe: FakeStripe, session: Session,
        public: Mailbox) -> None:
    buyer = world.person("Bea Buyer")
    web = web_as(app, buyer)
    order_id = split_checkout(web, shop)
    form = web.get(f"/my/orders/{order_id}/split")
    assert "Split the payment" in form.text and "$54.50" in form.text

    rows = payers(("Ann Able", "ann@example.test", "30"), ("Bob Baker", "Bob@Example.test",
                                                           "$24.50"))
    done = send_split(web, order_id, rows)
    assert (done.status_code, done.headers["location"]) == (302, f"/my/orders/{order_id}/split")
    again = web.post(f"/my/orders/{order_id}/split", data={"csrf_token": csrf(form.text), **rows})
    assert again.status_code == 302  # a second submit: the one split, shown
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count()).select_from(SplitPayment)) == 1

    status = web.get(f"/my/orders/{order_id}/split").text
    assert "Ann Able" in status and "$30.00" in status and "$24.50" in status
    assert status.count("Not paid yet") == 2
    tokens = links(public.messages)
    assert sorted(tokens) == ["ann@example.test", "bob@example.test"]  # once each
    shares = {s.payer_email: s for s in session.scalars(sa.select(SplitShare))}
    assert {email: shares[email].token for email in tokens} == tokens
    ann_mail = next(m for m in public.messages if m["To"] == "ann@example.test")
    assert "Bea Buyer asked you" in ann_mail["Subject"] and "$30.00" in ann_mail.get_content()

    share_page = web_as(app, None).get(f"/split/{tokens['ann@example.test']}").text
    assert "Bea Buyer" in share_page and shop.event.name in share_page
    assert "Pay $30.00" in share_page and "Ann Able" in share_page
    assert "bob@example.test" not in share_page  # one payer does not see another's address

    first = pay_by_link(app, fake_stripe, tokens["ann@example.test"])
    assert "Paid. Thank you" in first and "1 of 2 shares paid" in first
    assert order_state(session, order_id) == ("PENDING", 0)
    last = pay_by_link(app, fake_stripe, tokens["bob@example.test"])
    assert "Every share is paid" in last
    assert order_state(session, order_id) == ("COMPLETED", 2)
    order_page = web.get(f"/my/orders/{order_id}").text
    assert order_page.count("QR code of ticket") == 2 and "Who pays what" in order_page
    assert any(m["To"] == buyer.user.email and "Your tickets" in m["Subject"]
               for m in public.messages)
    assert sorted(c["amount"] for c in fake_stripe.ledger()["charges"]) == [2450, 3000]


def test_the_split_form_refuses_bad_input_next_to_its_fields(
        app: Flask, world: World, shop: Shop, session: Session, public: Mailbox) -> None:
    buyer = world.person("Bea Buyer")
    web = web_as(app, buyer)
    order_id = split_checkout(web, shop)

    short = send_split(web, order_id, payers(("Ann", "ann@example.test", "30"),
                                             ("Bob", "bob@example.test", "20")))
    assert short.status_code == 422
    assert "The amounts add up to $50.00; they must add up to the order" in short.text
    assert 'value="Ann"' in short.text and 'value="bob@example.test"' in short.text  # kept
    assert 'aria-invalid="true"' in short.text

    one = send_split(web, order_id, payers(("Ann", "ann@example.test", "54.50")))
    assert one.status_code == 422 and "Name at least two payers" in one.text
    bad = send_split(web, order_id, payers(("", "not-an-address", "ten"),
                                           ("Bob", "bob@example.test", "0.10")))
    assert bad.status_code == 422
    for words in ("Give the payer", "Enter an e-mail address", "Give an amount in dollars",
                  "Each share is at least $0.50"):
        assert words in bad.text, words
    wide = send_split(web, order_id, payers(("Ann", "ann@example.test", "9" * 500),
                                            ("B" * 5000, "bob@example.test", "1")))
    assert wide.status_code == 422  # never a 500

    more = send_split(web, order_id, {"more": "y",
                                      **payers(("Ann", "ann@example.test", "30"))})
    assert more.status_code == 200 and 'id="payers-3-payer_name"' in more.text
    assert 'value="ann@example.test"' in more.text
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count()).select_from(SplitPayment)) == 0
    assert public.messages == []

    stranger = web_as(app, world.person())
    assert stranger.get(f"/my/orders/{order_id}/split").status_code == 404
    assert send_split(web, 999999, {}).status_code == 404
    signed_out = web_as(app, None).get(f"/my/orders/{order_id}/split")
    assert signed_out.status_code == 302 and "/sign-in" in signed_out.headers["location"]


def test_bad_links_are_404_pages_and_a_timed_out_split_mails_the_buyer(
        app: Flask, world: World, shop: Shop, fake_stripe: FakeStripe, session: Session,
        public: Mailbox) -> None:
    visitor = web_as(app, None)
    for token in ("nonsense", "x" * 65, "A" * 43, "%00abc", "a%20b", "a.b"):
        page = visitor.get(f"/split/{token}")
        assert page.status_code == 404 and "There is no such page" in page.text
        assert visitor.post(f"/split/{token}/pay", data={}).status_code in (400, 404)

    buyer = world.person("Bea Buyer")
    web = web_as(app, buyer)
    order_id = split_checkout(web, shop)
    assert send_split(web, order_id, payers(("Ann", "ann@example.test", "30"),
                                            ("Bob", "bob@example.test", "24.50"))).is_redirect
    tokens = links(public.messages)
    paid_first = pay_by_link(app, fake_stripe, tokens["ann@example.test"])
    assert "Paid. Thank you" in paid_first
    public.messages.clear()

    later = utcnow() + timedelta(hours=25)
    result = time_out(app, later)  # the jobs worker, a day on
    assert (result.timed_out, result.refunded) == (1, 1)
    assert order_state(session, order_id) == ("FAILED", 0)
    sent = deliver_due(app.extensions["sync_db_sessionmaker"],
                       SmtpSettings.from_config(app.extensions["sync_config"]), now=later)
    assert sent.sent == 1
    [cancelled] = public.messages
    assert cancelled["To"] == buyer.user.email and "was cancelled" in cancelled["Subject"]
    assert "still due: Bob" in cancelled.get_content()

    ann = visitor.get(f"/split/{tokens['ann@example.test']}").text
    assert "This order was cancelled" in ann and "is refunded in full" in ann
    bob = visitor.get(f"/split/{tokens['bob@example.test']}")
    assert "You have nothing to pay" in bob.text and "Pay $24.50" not in bob.text
    assert "cancelled" in web.get(f"/my/orders/{order_id}/split").text

    # A week after it closed, the links are dead: the same 404 as a made-up one.
    session.execute(sa.update(SplitPayment).values(settled_at=utcnow() - timedelta(days=8)))
    session.commit()
    assert visitor.get(f"/split/{tokens['bob@example.test']}").status_code == 404


def test_a_link_mail_is_not_sent_for_a_share_paid_before_it_went(
        app: Flask, world: World, shop: Shop, session: Session, public: Mailbox) -> None:
    """SMTP down when the order is split: the links wait in the outbox; by the time the jobs
    worker sends them, one share is paid, and its mail is dropped, not sent."""
    buyer: Person = world.person()
    web = web_as(app, buyer)
    order_id = split_checkout(web, shop)
    config = app.extensions["sync_config"]
    app.extensions["sync_config"] = config.model_copy(update={"smtp_host": ""})
    try:
        assert send_split(web, order_id, payers(("Ann", "ann@example.test", "30"),
                                                ("Bob", "bob@example.test", "24.50"))).is_redirect
    finally:
        app.extensions["sync_config"] = config
    assert public.messages == []
    session.expire_all()
    session.execute(sa.update(SplitShare).where(SplitShare.payer_email == "ann@example.test")
                    .values(status=ShareStatus.PAID))
    session.commit()
    sent = send_mail(JobContext(app=app, config=config,
                                factory=app.extensions["sync_db_sessionmaker"]))
    assert (sent["sent"], sent["failed"]) == (1, 1)
    assert [m["To"] for m in public.messages] == ["bob@example.test"]
    session.expire_all()
    ann = session.scalars(sa.select(OutboxMessage)
                          .where(OutboxMessage.kind == MailKind.SPLIT_SHARE_LINK,
                                 OutboxMessage.to_email == "ann@example.test")).one()
    assert (ann.status, ann.last_error) == (MailStatus.FAILED, "the share is paid already")
