"""Ticket e-mail through a real SMTP server (aiosmtpd on 127.0.0.1): inline QR PNGs that decode
to the tickets' tokens, a PDF attached; a failed send keeps the order and is retried."""

from __future__ import annotations

import io
import json
import time
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from flask import Flask
from PIL import Image
from pyzbar import pyzbar
from sqlalchemy.orm import Session

from sync_server.cli import cli
from sync_server.db import utcnow
from sync_server.mail.models import MailStatus, OutboxMessage
from sync_server.mail.outbox import backoff, deliver_due
from sync_server.mail.smtp import SmtpSettings
from sync_server.orders.models import Order, PaymentMethod
from sync_server.orders.services import complete_order
from sync_server.tickets.models import TicketInstance
from tests.server.conftest import World
from tests.server.purchase.conftest import SETTINGS, Mailbox, Shop, buy, free_port


def qr_tokens(message: EmailMessage) -> list[str]:
    tokens = []
    for part in message.walk():
        if part.get_content_type() == "image/png":
            assert part["Content-ID"], "the QR image is inline (referenced by cid)"
            image = Image.open(io.BytesIO(part.get_content()))
            tokens += [d.data.decode() for d in pyzbar.decode(image)]
    return tokens


def pdfs(message: EmailMessage) -> list[bytes]:
    return [part.get_content() for part in message.iter_attachments()
            if part.get_content_type() == "application/pdf"]


def test_a_completed_order_mails_each_ticket_with_its_qr_and_a_pdf(
    api: httpx.Client, world: World, shop: Shop, mailbox: Mailbox, session: Session
) -> None:
    free = world.ticket_type(shop.event, shop.organizer, price_cents=0)
    buyer = world.person("Mae Mailed")
    order = buy(api, buyer, shop.event, ("ticket_type", free.id, 2)).json()["order"]
    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert message["To"] == buyer.user.email
    assert order["order_number"] in message["Subject"]
    assert sorted(qr_tokens(message)) == sorted(t["token"] for t in order["tickets"])
    body = message.get_body(("plain",))
    assert body is not None and order["tickets"][0]["ticket_number"] in body.get_content()
    [pdf] = pdfs(message)
    assert pdf.startswith(b"%PDF")
    assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") == 2  # a page per ticket
    row = session.scalars(sa.select(OutboxMessage)).one()
    assert (row.status, row.attempts) == (MailStatus.SENT, 1)


def _outbox_ids(session: Session, order_id: int) -> list[int]:
    return list(session.scalars(sa.select(OutboxMessage.id)
                                .where(OutboxMessage.order_id == order_id)
                                .order_by(OutboxMessage.id)))


def test_a_failed_send_keeps_the_order_and_is_retried_with_backoff(
    app: Flask, api: httpx.Client, world: World, shop: Shop, session: Session
) -> None:
    port = free_port()  # nothing listens here yet
    config = app.extensions["sync_config"]
    app.extensions["sync_config"] = config.model_copy(update=dict(
        smtp_host="127.0.0.1", smtp_port=port, smtp_timeout_seconds=2.0))
    buyer = world.person()
    created = buy(api, buyer, shop.event, ("ticket_type", shop.day1.id, 1), payment_method="CASH")
    order = session.get(Order, created.json()["order"]["id"])
    assert order is not None
    outcome = complete_order(session, order, method=PaymentMethod.CASH, settings=SETTINGS)
    session.commit()
    settings = SmtpSettings(host="127.0.0.1", port=port, sender="t@example.test",
                            timeout_seconds=2.0)
    factory = app.extensions["sync_db_sessionmaker"]
    first = deliver_due(factory, settings, ids=_outbox_ids(session, outcome.order.id))
    assert (first.sent, first.failed) == (0, 1)
    session.expire_all()
    row = session.get(OutboxMessage, _outbox_ids(session, outcome.order.id)[0])
    assert row is not None and row.status is MailStatus.PENDING and row.attempts == 1
    assert row.last_error and "Connection" in row.last_error
    assert row.next_attempt_at > utcnow() + timedelta(seconds=50)  # backoff: one minute
    assert order.payment_status.value == "COMPLETED"
    # Not due yet: nothing is tried. Once due, with the server up, it goes out.
    assert deliver_due(factory, settings).failed == 0
    box = Mailbox("127.0.0.1", port)
    controller = Controller(box, hostname=box.host, port=port)
    controller.start()
    try:
        later = deliver_due(factory, settings, now=utcnow() + timedelta(minutes=2))
    finally:
        controller.stop()
    assert (later.sent, later.failed) == (1, 0)
    assert len(qr_tokens(box.messages[0])) == 1
    session.expire_all()
    assert session.get(OutboxMessage, row.id).status is MailStatus.SENT  # type: ignore[union-attr]


def test_backoff_grows_and_gives_up_after_the_last_attempt(
    app: Flask, world: World, shop: Shop, session: Session
) -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 8, 20)] == [
        60, 120, 240, 3600, 3600]
    free = world.ticket_type(shop.event, shop.organizer, price_cents=0)
    from sync_server.orders.services import WantedLine, checkout

    outcome = checkout(session, event=shop.event, buyer=None,
                       wanted=[WantedLine(free.id, None, 1)], buyer_name="N",
                       buyer_email="n@example.test", settings=SETTINGS)
    session.commit()
    dead = SmtpSettings(host="127.0.0.1", port=free_port(), timeout_seconds=2.0)
    factory = app.extensions["sync_db_sessionmaker"]
    moment = utcnow()
    for _ in range(3):
        deliver_due(factory, dead, max_attempts=3, now=moment)
        moment += timedelta(hours=2)
    session.expire_all()
    row = session.get(OutboxMessage, _outbox_ids(session, outcome.order.id)[0])
    assert row is not None and (row.status, row.attempts) == (MailStatus.FAILED, 3)


def test_buyer_and_organizer_can_resend_and_a_transfer_mails_the_new_holder(
    api: httpx.Client, world: World, shop: Shop, mailbox: Mailbox, session: Session
) -> None:
    free = world.ticket_type(shop.event, shop.organizer, price_cents=0)
    buyer = world.person()
    order = buy(api, buyer, shop.event, ("ticket_type", free.id, 2)).json()["order"]
    mine = api.post("/me/orders/resend-email", headers=buyer.headers,
                    json={"order_id": order["id"]})
    assert (mine.status_code, mine.json()["sent"]) == (202, True)
    theirs = api.post(f"/events/{shop.event.id}/orders/resend-email",
                      headers=shop.organizer.headers,
                      json={"order_id": order["id"], "to_email": "desk@example.test"})
    assert theirs.status_code == 202
    assert [m["To"] for m in mailbox.messages] == [buyer.user.email] * 2 + ["desk@example.test"]
    stranger = world.person()
    hidden = api.post("/me/orders/resend-email", headers=stranger.headers,
                      json={"order_id": order["id"]})
    assert hidden.status_code == 404
    moved = api.post("/me/tickets/transfer", headers=buyer.headers, json={
        "ticket_id": order["tickets"][0]["id"], "to_email": "pal@example.test",
        "to_name": "Pal"}).json()
    last = mailbox.messages[-1]
    assert last["To"] == "pal@example.test"
    new = session.get(TicketInstance, moved["to"]["id"])
    assert new is not None and qr_tokens(last) == [new.token]
    # The buyer's re-send carries only the ticket they still hold, not the one given away.
    api.post("/me/orders/resend-email", headers=buyer.headers, json={"order_id": order["id"]})
    assert qr_tokens(mailbox.messages[-1]) == [order["tickets"][1]["token"]]


def test_send_mail_command_sends_what_is_due(
    app: Flask, world: World, shop: Shop, session: Session, mailbox: Mailbox,
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    free = world.ticket_type(shop.event, shop.organizer, price_cents=0)
    from sync_server.orders.services import WantedLine, checkout

    checkout(session, event=shop.event, buyer=None, wanted=[WantedLine(free.id, None, 1)],
             buyer_name="Cron", buyer_email="cron@example.test", settings=SETTINGS)
    session.commit()
    monkeypatch.setenv("SYNC_DATABASE_URL", database_url)
    monkeypatch.setenv("SYNC_MASTER_SECRET", "00" * 32)
    monkeypatch.setenv("SYNC_SMTP_HOST", mailbox.host)
    monkeypatch.setenv("SYNC_SMTP_PORT", str(mailbox.port))
    result = CliRunner().invoke(cli, ["--instance", str(tmp_path / "cli"), "send-mail", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["sent"] == 1 and summary["failed"] == 0
    assert [m["To"] for m in mailbox.messages] == ["cron@example.test"]


def test_outside_tests_mail_goes_out_on_a_background_thread(
    app: Flask, api: httpx.Client, world: World, shop: Shop, mailbox: Mailbox, session: Session
) -> None:
    app.extensions["sync_config"] = app.extensions["sync_config"].model_copy(update=dict(
        testing=False))
    free = world.ticket_type(shop.event, shop.organizer, price_cents=0)
    buyer = world.person()
    order = buy(api, buyer, shop.event, ("ticket_type", free.id, 1)).json()["order"]
    assert order["payment_status"] == "COMPLETED"  # answered without waiting for SMTP
    deadline = time.monotonic() + 30
    while not mailbox.messages and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [qr_tokens(m) for m in mailbox.messages] == [[order["tickets"][0]["token"]]]
    # ... and the thread records it (wait for that too, so it is done before teardown).
    while time.monotonic() < deadline:
        session.expire_all()
        if session.scalars(sa.select(OutboxMessage.status)).one() is MailStatus.SENT:
            break
        time.sleep(0.05)
    assert session.scalars(sa.select(OutboxMessage.status)).one() is MailStatus.SENT
