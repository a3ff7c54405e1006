"""The jobs worker: every job runs and is recorded; a failing job never stops the others; a
lapsed hold reaches the waiting list on the next tick; exclusive jobs run in one worker."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from sync_server.db import utcnow
from sync_server.jobs import registry
from sync_server.jobs.cli import jobs_command
from sync_server.jobs.models import JobRun
from sync_server.jobs.registry import Job, JobContext
from sync_server.jobs.runner import run_all_once, run_job
from sync_server.orders.models import InventoryHold
from sync_server.queue.models import WaitingListEntry, WaitingStatus
from tests.server.conftest import World
from tests.server.queue.conftest import buy, join


def _ctx(app: Flask) -> JobContext:
    return JobContext(app=app, config=app.extensions["sync_config"],
                      factory=app.extensions["sync_db_sessionmaker"])


def test_every_job_runs_and_is_recorded(app: Flask, session: Session) -> None:
    result = run_all_once(_ctx(app))
    assert set(result) >= {"queue", "mail", "holds-tidy", "rate-limit-prune"}
    rows = {r.name: r for r in session.scalars(sa.select(JobRun))}
    assert set(rows) >= {"worker", "queue", "mail", "holds-tidy", "rate-limit-prune"}
    assert all(r.last_ok_at is not None and r.last_error is None for r in rows.values())
    out = app.test_cli_runner().invoke(jobs_command, ["--once"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["queue"] == {"expired": 0, "offered": 0}


def test_a_failing_job_is_recorded_and_never_stops_the_others(
        app: Flask, session: Session) -> None:
    def boom(_ctx: JobContext) -> None:
        raise RuntimeError("the disk is full")

    registry.register_job(Job("boom", 5, boom))
    try:
        result = run_all_once(_ctx(app))
    finally:
        registry._registered.pop("boom")
    assert result["boom"] is None and result["mail"] is not None
    row = session.get(JobRun, "boom")
    assert row is not None and row.failures == 1 and row.last_ok_at is None
    assert row.last_error == "RuntimeError: the disk is full"
    assert session.get(JobRun, "mail").last_error is None  # type: ignore[union-attr]


def test_a_lapsed_hold_reaches_the_line_on_the_next_tick(
        app: Flask, api: httpx.Client, world: World, session: Session) -> None:
    organizer = world.person()
    event = world.event(organizer, allow_waitlist=True)
    tier = world.ticket_type(event, organizer, price_cents=2500, quantity=1)
    held = buy(api, world.person(), event, tier)  # CASH: PENDING, its hold reserves the unit
    assert held.status_code == 201 and held.json()["order"]["payment_status"] == "PENDING"
    waiter = world.person()
    assert join(api, waiter, event, tier).status_code == 201
    assert run_all_once(_ctx(app))["queue"] == {"expired": 0, "offered": 0}
    session.execute(sa.update(InventoryHold).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()  # the hold lapses: nobody writes anything
    assert run_all_once(_ctx(app))["queue"] == {"expired": 0, "offered": 1}
    entry = session.scalars(sa.select(WaitingListEntry)).one()
    assert entry.status is WaitingStatus.OFFERED and entry.order_id is not None
    assert run_all_once(_ctx(app))["queue"] == {"expired": 0, "offered": 0}  # idempotent


def test_an_exclusive_job_runs_in_one_worker_at_a_time(app: Flask, session: Session) -> None:
    engine = app.extensions["sync_db_engine"]
    if engine.dialect.name != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's (SQLite: one machine)")
    ran: list[int] = []
    job = Job("holds-tidy-probe", 60, lambda ctx: ran.append(1))
    from sync_server.jobs.runner import _exclusive

    with _exclusive(app.extensions["sync_db_sessionmaker"], job.name) as mine:
        assert mine
        assert run_job(job, _ctx(app)) is None and ran == []  # the other worker skips it
    run_job(job, _ctx(app))
    assert ran == [1]
