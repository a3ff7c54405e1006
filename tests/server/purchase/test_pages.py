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
from tests.server.purchase.conftest import Shop


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
    assert web.get(f"/events/{shop.event.id}/buy").status_code == 302  # sign in first
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
