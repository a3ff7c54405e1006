"""The organizer refunds some tickets of a paid card order from the order page; a ticket
refunded already is refused in words, never a 500."""

from __future__ import annotations

import httpx
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from sync_server.tickets.models import TicketInstance
from tests.fake_stripe.server import FakeStripe
from tests.server.conftest import World
from tests.server.organizer.conftest import csrf, web_as
from tests.server.payments.conftest import Shop, order_state, paid_order, payment


def test_refund_some_tickets_then_the_same_again_is_refused(
        app: Flask, api: httpx.Client, world: World, shop: Shop, fake_stripe: FakeStripe,
        session: Session) -> None:
    order_id = paid_order(api, world, shop, fake_stripe, session, 3)
    ids = list(session.scalars(sa.select(TicketInstance.id)
                               .where(TicketInstance.order_id == order_id)
                               .order_by(TicketInstance.id)))
    web = web_as(app, shop.organizer)
    url = f"/organize/events/{shop.event.id}/orders/{order_id}"
    page = web.get(url)
    assert "Refund ticked tickets" in page.text
    token = csrf(page.text)
    form = {"csrf_token": token, "ticket_ids": [str(ids[0])], "reason": "could not come",
            "confirm": "y"}
    done = web.post(url + "/refund", data=form, follow_redirects=True)
    assert "Refunded" in done.text and "for 1 ticket." in done.text
    assert payment(session, order_id).refunded_cents > 0
    again = web.post(url + "/refund", data=form, follow_redirects=True)
    assert again.status_code == 200
    assert "not valid tickets of this order" in again.text
    assert "order.refund_tickets" in again.text  # the history shows the first refund
    rest = {**form, "ticket_ids": [str(i) for i in ids[1:]]}
    assert "for 2 tickets." in web.post(url + "/refund", data=rest, follow_redirects=True).text
    assert order_state(session, order_id)[0] == "REFUNDED"
    assert "Refund ticked tickets" not in web.get(url).text
