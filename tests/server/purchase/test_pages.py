"""The buyer's HTML pages: pick tickets, check out (CSRF), see the order with its QR codes."""

from __future__ import annotations

import base64
import io
import re

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask
from PIL import Image
from pyzbar import pyzbar
from sqlalchemy.orm import Session

from sync_server.tickets.models import TicketInstance
from tests.server.conftest import PASSWORD, Person, World
from tests.server.purchase.conftest import Mailbox, Shop


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    assert match, html
    return match.group(1)


@pytest.fixture
def web(app: Flask) -> httpx.Client:
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://testserver",
                        follow_redirects=False)


def sign_in(web: httpx.Client, person: Person) -> None:
    page = web.get("/sign-in")
    done = web.post("/sign-in", data={"email": person.user.email, "password": PASSWORD,
                                      "csrf_token": csrf(page.text)})
    assert done.status_code == 302, done.text


def test_a_buyer_checks_out_on_the_page_and_sees_the_qr_codes(
    app: Flask, web: httpx.Client, world: World, shop: Shop, session: Session
) -> None:
    signed_out = web.get(f"/events/{shop.event.id}/buy")
    assert signed_out.status_code == 200 and "Check out as a guest" in signed_out.text
    free = world.ticket_type(shop.event, shop.organizer, price_cents=0, quantity=3)
    buyer = world.person("Paige Page")
    sign_in(web, buyer)
    page = web.get(f"/events/{shop.event.id}/buy")
    assert page.status_code == 200 and shop.bundle.name in page.text and "$50.00" in page.text
    forged = web.post(f"/events/{shop.event.id}/buy", data={f"tt-{free.id}": "2"})
    assert forged.status_code == 400  # no CSRF token
    bought = web.post(f"/events/{shop.event.id}/buy",
                      data={f"tt-{free.id}": "2", "csrf_token": csrf(page.text)})
    assert bought.status_code == 302, bought.text
    order_page = web.get(bought.headers["location"])
    assert order_page.status_code == 200 and "COMPLETED" in order_page.text
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', order_page.text)
    decoded = sorted(d.data.decode() for png in images
                     for d in pyzbar.decode(Image.open(io.BytesIO(base64.b64decode(png)))))
    tokens = sorted(t or "" for t in session.scalars(sa.select(TicketInstance.token)))
    assert decoded == tokens and len(tokens) == 2
    too_many = web.post(f"/events/{shop.event.id}/buy",
                        data={f"tt-{free.id}": "2", "csrf_token": csrf(page.text)})
    assert too_many.status_code == 409 and "only 1 left" in too_many.text
    stranger = world.person()
    other = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://testserver")
    sign_in(other, stranger)
    assert other.get(bought.headers["location"]).status_code == 404


def test_a_draft_events_buy_page_is_404_for_a_stranger_and_open_to_its_organizer(
    app: Flask, web: httpx.Client, world: World
) -> None:
    organizer = world.person("Olive Owner")
    draft = world.event(organizer, published=False)
    world.ticket_type(draft, organizer, price_cents=0, quantity=3)
    stranger = world.person("Sam Stranger")
    sign_in(web, stranger)
    page = web.get(f"/events/{draft.id}/buy")
    assert page.status_code == 404 and draft.name not in page.text
    assert web.post(f"/events/{draft.id}/buy", data={}).status_code in (400, 404)
    owner = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://testserver")
    sign_in(owner, organizer)
    assert owner.get(f"/events/{draft.id}/buy").status_code == 200  # to check it before publishing


def _guest_checkout(web: httpx.Client, shop: Shop, ticket_type_id: int,
                    **fields: str) -> httpx.Response:
    page = web.get(f"/events/{shop.event.id}/buy")
    return web.post(f"/events/{shop.event.id}/buy", data={
        f"tt-{ticket_type_id}": "1", "csrf_token": csrf(page.text), **fields})


def test_a_guest_buys_with_an_e_mail_address_and_gets_a_private_link_that_can_be_replaced(
    app: Flask, web: httpx.Client, world: World, shop: Shop, session: Session, mailbox: Mailbox
) -> None:
    config = app.extensions["sync_config"]
    app.extensions["sync_config"] = config.model_copy(update={"public_url": "https://t.example"})
    free = world.ticket_type(shop.event, shop.organizer, price_cents=0, quantity=3)
    bought = _guest_checkout(web, shop, free.id, guest_name="Gwen Guest",
                             guest_email="Gwen@Example.test")
    assert bought.status_code == 302, bought.text
    link = bought.headers["location"]
    number, token = link.split("/")[-2:]
    assert link == f"/orders/{number}/{token}" and len(token) >= 43

    page = web.get(link)
    assert page.status_code == 200 and "Gwen Guest" in page.text and "COMPLETED" in page.text
    (message,) = mailbox.messages
    assert message["To"] == "gwen@example.test"
    assert f"https://t.example{link}" in message.get_body(("plain",)).get_content()

    assert web.get(f"/orders/{number}/{token[:-1]}x").status_code == 404  # a guessed link
    assert web.get(f"/orders/{number}/{'a' * 500}").status_code == 404
    replaced = web.post(f"{link}/revoke", data={"csrf_token": csrf(page.text)})
    assert replaced.status_code == 302
    assert web.get(link).status_code == 404  # the old link is dead
    assert web.get(replaced.headers["location"]).status_code == 200
    assert len(mailbox.messages) == 2  # the tickets again, with the new link
    assert replaced.headers["location"] in mailbox.messages[1].get_body(("plain",)).get_content()
    app.extensions["sync_config"] = config


def test_a_guest_without_a_name_or_address_is_told_and_nothing_is_sold(
    web: httpx.Client, world: World, shop: Shop, session: Session
) -> None:
    free = world.ticket_type(shop.event, shop.organizer, price_cents=0, quantity=3)
    refused = _guest_checkout(web, shop, free.id, guest_name="\x00", guest_email="not-mail")
    assert refused.status_code == 422
    assert "Give your name" in refused.text and "Give an e-mail address" in refused.text
    assert 'value="not-mail"' in refused.text  # what was typed is kept
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count()).select_from(TicketInstance)) == 0
