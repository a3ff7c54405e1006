"""Cancelling an event refunds every paid card order through a resumable, idempotent job."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from sync_server.cli import cli
from sync_server.payments import refund_jobs
from sync_server.payments.refund_jobs import JobsResult, resume_refund_jobs
from sync_server.tickets.models import TicketInstance
from tests.fake_stripe.server import FakeStripe
from tests.server.conftest import World, error_code
from tests.server.payments.conftest import Shop, order_state, paid_order, payment


def cancel_event(api: httpx.Client, shop: Shop) -> httpx.Response:
    response = api.post(f"/events/{shop.event.id}/sales/cancel", headers=shop.organizer.headers,
                        json={"reason": "rain"})
    assert response.status_code == 200, response.text
    return response


def resume(app: Flask) -> JobsResult:
    """What the jobs worker (or ``sync-server payments run-jobs``) does."""
    with app.app_context(), app.extensions["sync_db_sessionmaker"]() as session:
        return resume_refund_jobs(session)


def progress(api: httpx.Client, shop: Shop) -> Any:
    response = api.get(f"/events/{shop.event.id}/refunds", headers=shop.organizer.headers)
    assert response.status_code == 200, response.text
    return response.json()["job"]


def refunds_per_charge(fake: FakeStripe) -> list[int]:
    fake.wait_for_webhooks()
    return sorted(c["refunds"] for c in fake.ledger()["charges"])


def test_cancelling_an_event_queues_its_refunds_and_an_outage_only_delays_them(
    app: Flask, api: httpx.Client, world: World, shop: Shop, fake_stripe: FakeStripe,
    session: Session,
) -> None:
    orders = [paid_order(api, world, shop, fake_stripe, session, n) for n in (1, 2, 3)]
    assert progress(api, shop) is None
    fake_stripe.fail_next(3, "error", path="/v1/refunds")  # the library retries twice
    assert cancel_event(api, shop).json()["orders_cancelled"] == 3
    # The cancellation itself called no one: tickets revoked now, money through the job.
    assert [order_state(session, o) for o in orders] == [("REFUNDED", n) for n in (1, 2, 3)]
    assert {payment(session, o).status.value for o in orders} == {"REFUNDING"}
    valid = session.scalar(sa.select(sa.func.count()).select_from(TicketInstance)
                           .where(TicketInstance.status == "VALID"))
    assert valid == 0
    job = progress(api, shop)
    assert (job["status"], job["total"], job["refunded"], job["pending"]) == ("RUNNING", 3, 0, 3)

    down = resume(app)  # Stripe answers 500 three times: the job stops and says why
    assert (down.refunded, down.errors) == (0, 1)
    job = progress(api, shop)
    assert (job["pending"], job["status"]) == (3, "RUNNING")
    assert "did not answer" in job["last_error"]
    assert refunds_per_charge(fake_stripe) == [0, 0, 0]

    again = resume(app)
    assert (again.refunded, again.jobs_done) == (3, 1)
    job = progress(api, shop)
    assert (job["status"], job["refunded"], job["failed"], job["pending"]) == ("DONE", 3, 0, 0)
    assert job["refunded_cents"] == sum(payment(session, o).amount_cents for o in orders)
    assert {payment(session, o).status.value for o in orders} == {"REFUNDED"}
    ledger = fake_stripe.ledger()
    assert ledger["refunded"] == ledger["charged"] > 0
    assert refunds_per_charge(fake_stripe) == [1, 1, 1]
    assert all(a["status"] == 200 for a in fake_stripe.webhooks.log)
    assert resume(app) == JobsResult()  # nothing left


def test_a_crash_midway_resumes_and_refunds_each_order_exactly_once(
    app: Flask, api: httpx.Client, world: World, shop: Shop, fake_stripe: FakeStripe,
    session: Session, monkeypatch: pytest.MonkeyPatch,
) -> None:
    orders = [paid_order(api, world, shop, fake_stripe, session, 1) for _ in range(4)]
    cancel_event(api, shop)
    real = refund_jobs._mark_refunded
    calls = {"n": 0}

    def crash_on_the_third(*args: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:  # Stripe has refunded the third order; the commit never comes
            raise RuntimeError("the worker died")
        real(*args)

    monkeypatch.setattr(refund_jobs, "_mark_refunded", crash_on_the_third)
    with pytest.raises(RuntimeError, match="the worker died"):
        resume(app)
    job = progress(api, shop)
    assert (job["refunded"], job["pending"]) == (2, 2)
    assert refunds_per_charge(fake_stripe) == [0, 1, 1, 1]  # the third is refunded at Stripe

    assert resume(app).refunded == 2
    job = progress(api, shop)
    assert (job["status"], job["refunded"], job["pending"]) == ("DONE", 4, 0)
    assert refunds_per_charge(fake_stripe) == [1, 1, 1, 1]  # never twice
    third = payment(session, orders[2]).payment_intent_id
    replays = [r for r in fake_stripe.requests if r["path"] == "/v1/refunds"
               and r["idempotency_key"] == f"order-{orders[2]}-refund-all"]
    assert third and len(replays) in (1, 2)  # the webhook may have settled it first
    assert {payment(session, o).status.value for o in orders} == {"REFUNDED"}


def test_a_disputed_payment_fails_alone_and_the_cli_shows_progress(
    app: Flask, api: httpx.Client, world: World, shop: Shop, fake_stripe: FakeStripe,
    session: Session,
) -> None:
    orders = [paid_order(api, world, shop, fake_stripe, session, 1) for _ in range(2)]
    fake_stripe.dispute(str(payment(session, orders[0]).payment_intent_id))
    fake_stripe.wait_for_webhooks()
    assert payment(session, orders[0]).status.value == "DISPUTED"
    cancel_event(api, shop)
    runner = app.test_cli_runner()
    ran = runner.invoke(cli, ["payments", "run-jobs", "--json"])
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout)["orders_refunded"] == 1
    job = progress(api, shop)
    assert (job["status"], job["refunded"], job["failed"]) == ("DONE", 1, 1)
    [failed] = [line for line in job["orders"] if line["status"] == "FAILED"]
    assert failed["order_id"] == orders[0] and "disputed" in failed["error"]
    shown = runner.invoke(cli, ["payments", "refunds", str(shop.event.id)])
    assert shown.exit_code == 0, shown.output
    assert "DONE: 1 of 2 orders refunded, 1 failed, 0 pending" in shown.output
    assert "disputed" in shown.output
    missing = runner.invoke(cli, ["payments", "refunds", "999999"])
    assert missing.exit_code == 1 and "no refund job" in missing.output


def test_only_the_organizer_sees_the_refund_progress(
    api: httpx.Client, world: World, shop: Shop, fake_stripe: FakeStripe, session: Session,
) -> None:
    buyer = world.person()
    url = f"/events/{shop.event.id}/refunds"
    assert api.get(url).status_code == 401
    refused = api.get(url, headers=buyer.headers)
    assert refused.status_code in (403, 404), refused.text
    assert error_code(refused) in ("forbidden", "not_found")
    assert api.get("/events/999999/refunds", headers=shop.organizer.headers).status_code == 404
