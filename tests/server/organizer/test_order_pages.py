"""The organizer's order desk pages: who may see them, search, order detail with its history,
cancel, comp, resend, CSV downloads, bad input answered with words (never a 500)."""

from __future__ import annotations

import csv
import io
import re

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from sync_server.orders import search
from sync_server.orders.models import Order, PaymentStatus
from tests.server.conftest import World
from tests.server.organizer.conftest import Night, csrf, web_as

PAGES = ["/orders", "/live", "/analytics", "/orders.csv", "/attendees.csv",
         "/analytics/sales.csv", "/live/figures"]


@pytest.mark.parametrize("tail", PAGES)
def test_each_role_gets_what_the_api_gives(app: Flask, night: Night, world: World,
                                           tail: str) -> None:
    door_page = tail.startswith("/live")
    assert web_as(app, night.organizer).get(night.url(tail)).status_code == 200
    assert web_as(app, night.staff).get(night.url(tail)).status_code == (
        200 if door_page else 403)
    assert web_as(app, night.seller).get(night.url(tail)).status_code == 403
    assert web_as(app, night.stranger).get(night.url(tail)).status_code == 403
    signed_out = web_as(app, None).get(night.url(tail))
    assert signed_out.status_code == 302 and "/sign-in" in signed_out.headers["location"]
    assert web_as(app, night.organizer).get(
        f"/organize/events/999999{tail}").status_code == 404


def _numbers(html: str) -> set[str]:
    return set(re.findall(r">(SL-[0-9A-Za-z-]+)<", html))


def test_search_by_name_email_order_and_ticket_number(app: Flask, night: Night,
                                                      session: Session) -> None:
    web = web_as(app, night.organizer)
    orders = {o.buyer_name: o for o in session.scalars(
        sa.select(Order).where(Order.event_id == night.event.id))}
    ada, grace = orders["Ada Lovelace"], orders["Grace Hopper"]
    grace.order_number = "SL-ABCDE-23456"  # as orders.services numbers them
    session.commit()
    assert _numbers(web.get(night.url("/orders")).text) == {ada.order_number, grace.order_number}
    assert _numbers(web.get(night.url("/orders"), params={"q": "lovelace"}).text) == {
        ada.order_number}
    assert _numbers(web.get(night.url("/orders"),
                            params={"q": grace.order_number.lower()}).text) == {
        grace.order_number}
    ticket = night.tickets[4]  # one of Grace's
    assert _numbers(web.get(night.url("/orders"), params={"q": ticket.ticket_number}).text) == {
        grace.order_number}
    assert _numbers(web.get(night.url("/orders"), params={"q": "buyer@example"}).text) == {
        ada.order_number, grace.order_number}
    nothing = web.get(night.url("/orders"), params={"q": "100%_"})  # wildcards are text
    assert nothing.status_code == 200 and _numbers(nothing.text) == set()
    assert "0 orders" in nothing.text
    api = web_as(app, None)
    found = api.get(f"/api/v1/events/{night.event.id}/orders", params={"q": "hopper"},
                    headers=night.organizer.headers).json()
    assert [o["order_number"] for o in found["orders"]] == [grace.order_number]


@pytest.mark.parametrize(("params", "words"), [
    ({"page": "0"}, "Page numbers are whole numbers from 1."),
    ({"page": "-3"}, "Page numbers are whole numbers from 1."),
    ({"page": "abc"}, "Page numbers are whole numbers from 1."),
    ({"page": "9" * 40}, "Page numbers are whole numbers from 1."),
    ({"page": "7"}, "There are only 1 pages of orders."),
    ({"q": "x" * 5000}, "at most 200 characters"),
    ({"q": "a\x00b"}, "one line of text"),
])
def test_bad_search_input_is_answered_in_words(app: Flask, night: Night, params: dict[str, str],
                                               words: str) -> None:
    page = web_as(app, night.organizer).get(night.url("/orders"), params=params)
    assert page.status_code == 400
    assert words in page.text


def test_order_page_cancel_needs_a_confirmation_then_refunds_once(
        app: Flask, night: Night, session: Session) -> None:
    web = web_as(app, night.organizer)
    order = session.scalars(sa.select(Order).where(Order.buyer_name == "Ada Lovelace")).one()
    order.payment_method = order.payment_method.CASH  # a cash order: refunded by a person
    order.total_cents = order.subtotal_cents = 7500
    session.commit()
    url = night.url(f"/orders/{order.id}")
    page = web.get(url)
    assert page.status_code == 200 and order.order_number in page.text
    assert "Cancel this order" in page.text and "History" in page.text
    token = csrf(page.text)
    refused = web.post(url + "/cancel", data={"csrf_token": token, "cancel-reason": "asked"})
    assert refused.status_code == 400 and "Tick the box to confirm." in refused.text
    no_csrf = web.post(url + "/cancel", data={"cancel-reason": "asked", "cancel-confirm": "y"})
    assert no_csrf.status_code == 400
    session.expire_all()
    assert session.get(Order, order.id).payment_status is PaymentStatus.COMPLETED  # type: ignore[union-attr]
    done = web.post(url + "/cancel", data={"csrf_token": token, "cancel-reason": "asked",
                                           "cancel-confirm": "y"})
    assert done.status_code == 302
    session.expire_all()
    assert session.get(Order, order.id).payment_status is PaymentStatus.REFUNDED  # type: ignore[union-attr]
    after = web.get(url)
    assert "order.cancel" in after.text and "order.refund_cash_due" in after.text
    assert "Cancel this order" not in after.text
    again = web.post(url + "/cancel", data={"csrf_token": token, "cancel-reason": "asked",
                                            "cancel-confirm": "y"}, follow_redirects=True)
    assert again.status_code == 200 and "already refunded" in again.text
    detail = web_as(app, None).get(f"/api/v1/events/{night.event.id}/orders/{order.id}",
                                   headers=night.organizer.headers).json()
    assert [h["action"] for h in detail["history"]][:2] == ["order.refund_cash_due",
                                                            "order.cancel"]


def test_an_order_of_another_event_is_not_found(app: Flask, night: Night, world: World,
                                                session: Session) -> None:
    other = world.event(night.organizer)
    order = session.scalars(sa.select(Order).where(Order.event_id == night.event.id)).first()
    assert order is not None
    web = web_as(app, night.organizer)
    assert web.get(f"/organize/events/{other.id}/orders/{order.id}").status_code == 404
    assert web.get(night.url("/orders/99999999")).status_code == 404


def test_comp_tickets_and_bad_comp_input(app: Flask, night: Night, session: Session) -> None:
    web = web_as(app, night.organizer)
    token = csrf(web.get(night.url("/orders")).text)
    bad = web.post(night.url("/orders/complimentary"), data={
        "csrf_token": token, "comp-ticket_type": str(night.tier.id), "comp-quantity": "5000",
        "comp-holder_name": "Guest", "comp-holder_email": "not-an-address"})
    assert bad.status_code == 400
    assert "Give 1 to 50 tickets." in bad.text and "Enter an e-mail address." in bad.text
    done = web.post(night.url("/orders/complimentary"), data={
        "csrf_token": token, "comp-ticket_type": str(night.tier.id), "comp-quantity": "2",
        "comp-holder_name": "Guest Dancer", "comp-holder_email": "guest@example.com"})
    assert done.status_code == 302, done.text
    order = session.scalars(sa.select(Order).where(Order.buyer_name == "Guest Dancer")).one()
    assert order.total_cents == 0 and order.payment_status is PaymentStatus.COMPLETED
    page = web.get(done.headers["location"])
    assert "Guest Dancer" in page.text and "guest@example.com" in page.text
    assert page.text.count("badge ok") == 1 + 2  # the order and its two tickets


def test_resend_tickets_checks_the_address(app: Flask, night: Night, session: Session) -> None:
    web = web_as(app, night.organizer)
    order = session.scalars(sa.select(Order).where(Order.buyer_name == "Grace Hopper")).one()
    url = night.url(f"/orders/{order.id}")
    token = csrf(web.get(url).text)
    bad = web.post(url + "/resend", data={"csrf_token": token, "to_email": "nope"},
                   follow_redirects=True)
    assert "Enter an e-mail address" in bad.text
    good = web.post(url + "/resend", data={"csrf_token": token, "to_email": ""},
                    follow_redirects=True)
    assert "to buyer@example.com" in good.text


def test_refund_form_refuses_bad_ticket_lists(app: Flask, night: Night,
                                              session: Session) -> None:
    web = web_as(app, night.organizer)
    order = session.scalars(sa.select(Order).where(Order.buyer_name == "Grace Hopper")).one()
    url = night.url(f"/orders/{order.id}")
    page = web.get(url)
    assert "Refund ticked tickets" in page.text  # a paid card order
    token = csrf(page.text)
    for data, words in [({}, "Tick the tickets to refund."),
                        ({"ticket_ids": ["x1"]}, "Those are not tickets of this order."),
                        ({"ticket_ids": [str(night.tickets[4].id)]}, "Say why"),
                        ({"ticket_ids": [str(night.tickets[4].id)], "reason": "r"},
                         "Tick the box to confirm"),
                        ({"ticket_ids": [str(night.tickets[0].id)], "reason": "r",
                          "confirm": "y"}, "only a paid card order&#39;s tickets")]:
        answer = web.post(url + "/refund", data={"csrf_token": token, **data},
                          follow_redirects=True)
        assert answer.status_code == 200 and words in answer.text, words


def test_csv_downloads(app: Flask, night: Night) -> None:
    web = web_as(app, night.organizer)
    orders = web.get(night.url("/orders.csv"))
    assert orders.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(orders.text)))
    assert sorted(r["buyer_name"] for r in rows) == ["Ada Lovelace", "Grace Hopper"]
    assert sorted(r["tickets"] for r in rows) == ["2", "3"]
    people = list(csv.DictReader(io.StringIO(web.get(night.url("/attendees.csv")).text)))
    assert len(people) == 5 and {p["ticket_number"] for p in people} == {
        t.ticket_number for t in night.tickets}


def test_a_formula_in_a_name_is_quoted_in_the_csv(app: Flask, night: Night,
                                                  session: Session) -> None:
    order = session.scalars(sa.select(Order).where(Order.buyer_name == "Ada Lovelace")).one()
    order.buyer_name = "=HYPERLINK(\"http://evil\")"
    session.commit()
    text = web_as(app, night.organizer).get(night.url("/orders.csv")).text
    assert "'=HYPERLINK" in text


def test_a_search_counts_every_match_on_each_page_and_past_the_last(night: Night,
                                                                    session: Session) -> None:
    """A search's page and its number of matches come from one query (a window count); a page
    past the last has no row to carry the count, so it is counted apart: same number."""
    every = search.search_orders(session, night.event.id, text="example", per_page=1)
    assert every.total == 2 and len(every.orders) == 1
    pages = [search.search_orders(session, night.event.id, text="EXAMPLE", page=n, per_page=1)
             for n in (1, 2, 3)]
    assert [p.total for p in pages] == [2, 2, 2]
    assert [len(p.orders) for p in pages] == [1, 1, 0]
    assert pages[0].orders[0].id != pages[1].orders[0].id  # newest first, each once
    assert search.search_orders(session, night.event.id, text="nobody-like-this").total == 0
    assert search.search_orders(session, night.event.id, per_page=1, page=3).total == 2
