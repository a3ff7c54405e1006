"""What ``sync-server jobs`` runs: the built-in jobs, and a registration point for the others.

Each job is a function of a :class:`JobContext`, idempotent (running it twice, or in two
workers at once, does no harm), run every ``every_seconds``. ``exclusive`` jobs take a
PostgreSQL advisory lock (``pg_try_advisory_lock``) for the run: a second worker skips that run
instead of doing the same work; the others (queue, mail) are safe in parallel by their row claims.

**Registration point** (the payments domain: split-payment timeouts, event-cancel refund
resumption): ``register_job(Job("payments-split-timeouts", 60, fn))`` at import or app set-up,
before ``sync-server jobs`` starts. The worker runs what is registered; with nothing
registered it runs the built-in jobs alone (no-op safe).

Seller codes need no job: the box office computes each day's code from a secret and the date.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from sync_server.config import Config
from sync_server.db import utcnow
from sync_server.mail.outbox import deliver_due
from sync_server.mail.smtp import SmtpSettings
from sync_server.orders.cancellation import tidy_expired_orders
from sync_server.queue.offers import advance, tiers_to_advance
from sync_server.queue.services import QueueSettings, expire_offers
from sync_server.ratelimit.models import RateLimit
from sync_server.ratelimit.services import KEEP_WINDOWS_FOR

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobContext:
    app: Flask
    config: Config
    factory: sessionmaker[Session]


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: float
    run: Callable[[JobContext], Any]
    exclusive: bool = True  # one worker at a time (PostgreSQL advisory lock)


_registered: dict[str, Job] = {}
OFFER_BATCH = 50  # offers made per transaction by the queue job


def register_job(job: Job) -> None:
    """Add ``job`` to what ``sync-server jobs`` runs (a later job of the same name replaces it)."""
    _registered[job.name] = job


def advance_queues(ctx: JobContext) -> dict[str, int]:
    """End lapsed offers (their tickets go to the next people) and offer units freed with
    nobody writing (lapsed holds). Parallel-safe: offers end by conditional UPDATEs; a ticket
    type is advanced under its inventory row lock, skipped if another worker holds it."""
    settings = QueueSettings.from_config(ctx.config)
    with ctx.factory() as session:
        expired = expire_offers(session, now=utcnow())
        session.commit()
        offered = 0
        for ticket_type_id in tiers_to_advance(session, now=utcnow()):
            session.rollback()
            while True:  # batches in short transactions: the first offers go out at once
                batch = advance(session, ticket_type_id, settings=settings, now=utcnow(),
                                skip_locked=True, limit=OFFER_BATCH)
                session.commit()
                offered += len(batch)
                if len(batch) < OFFER_BATCH:
                    break
    return {"expired": expired, "offered": offered}


def send_mail(ctx: JobContext) -> dict[str, int]:
    result = deliver_due(ctx.factory, SmtpSettings.from_config(ctx.config),
                         max_attempts=ctx.config.mail_max_attempts, limit=200)
    return {"sent": result.sent, "failed": result.failed}


def tidy_holds(ctx: JobContext) -> dict[str, int]:
    with ctx.factory() as session:
        lapsed = tidy_expired_orders(session)
        session.commit()
    return {"orders_lapsed": lapsed}


def prune_rate_limits(ctx: JobContext) -> dict[str, int]:
    with ctx.factory() as session:
        gone = session.execute(sa.delete(RateLimit).where(
            RateLimit.window_start < utcnow() - KEEP_WINDOWS_FOR - timedelta(hours=1)))
        session.commit()
    return {"deleted": int(getattr(gone, "rowcount", 0) or 0)}


def all_jobs(config: Config) -> list[Job]:
    """The built-in jobs, then the registered ones."""
    builtin = [
        Job("queue", config.jobs_queue_seconds, advance_queues, exclusive=False),
        Job("mail", 10, send_mail, exclusive=False),
        Job("holds-tidy", 60, tidy_holds),
        Job("rate-limit-prune", 3600, prune_rate_limits),
    ]
    names = {job.name for job in builtin}
    return builtin + [job for name, job in _registered.items() if name not in names]
