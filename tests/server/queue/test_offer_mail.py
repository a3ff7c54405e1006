"""The offer e-mail: sent through a real SMTP server once the offer is made; not sent once the
offer has ended (nobody is told about a ticket that is no longer theirs)."""

from __future__ import annotations

import httpx
from flask import Flask
from sqlalchemy.orm import Session

from sync_server.jobs.registry import JobContext, send_mail
from sync_server.mail.models import MailKind, MailStatus, OutboxMessage
from sync_server.queue.models import WaitingListEntry
from tests.server.conftest import World
from tests.server.purchase.conftest import Mailbox, mailbox  # noqa: F401  (the fixture)
from tests.server.queue.conftest import SoldOut, join


def _ctx(app: Flask) -> JobContext:
    return JobContext(app=app, config=app.extensions["sync_config"],
                      factory=app.extensions["sync_db_sessionmaker"])


def test_the_offer_is_mailed_and_an_ended_one_is_not(
        app: Flask, api: httpx.Client, world: World, session: Session, sold_out: SoldOut,
        mailbox: Mailbox) -> None:  # noqa: F811
    s = sold_out
    first, second = world.person(), world.person()
    join(api, first, s.event, s.tier)
    join(api, second, s.event, s.tier)
    # The SMTP server is down for a moment: the offers wait in the outbox (once committed they
    # would go at once), and the second offer ends before its mail can go.
    config = app.extensions["sync_config"]
    app.extensions["sync_config"] = config.model_copy(update={"smtp_host": ""})
    try:
        for order_id in s.order_ids:  # two tickets back: both offered
            api.post(f"/events/{s.event.id}/orders/cancel", headers=s.organizer.headers,
                     json={"order_id": order_id, "reason": "refund"})
        entry = session.query(WaitingListEntry).filter_by(user_id=second.user.id).one()
        assert api.post("/queue/decline", headers=second.headers,
                        json={"entry_id": entry.id}).status_code == 200
    finally:
        app.extensions["sync_config"] = config
    assert mailbox.messages == []
    result = send_mail(_ctx(app))
    offers = [m for m in mailbox.messages if "is yours until" in m["Subject"]]
    assert [m["To"] for m in offers] == [first.user.email]
    body = offers[0].get_content()
    assert s.event.name in body and "decline" in body
    assert result["sent"] >= 1
    session.expire_all()
    declined = session.query(OutboxMessage).filter_by(kind=MailKind.QUEUE_OFFER,
                                                      to_email=second.user.email).one()
    assert declined.status is MailStatus.FAILED and declined.last_error == "the offer has ended"
