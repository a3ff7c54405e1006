"""Running the jobs: each run recorded in ``job_runs`` (the heartbeat), failures logged and
retried on the next tick, never stopping the others; APScheduler's thread pool runs them.

The ``worker`` row is the process's own heartbeat (every ``HEARTBEAT_SECONDS``):
``sync-server doctor`` fails when it is older than ``jobs_heartbeat_stale_seconds``.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from types import FrameType
from typing import Any

import sqlalchemy as sa
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from sync_server.db import utcnow
from sync_server.jobs.models import JobRun
from sync_server.jobs.registry import Job, JobContext, all_jobs

logger = logging.getLogger(__name__)

WORKER = "worker"
HEARTBEAT_SECONDS = 10.0
ADVISORY_NAMESPACE = 0x17017  # high half of the advisory lock key: "jobs of issue 17"


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def _record(factory: sessionmaker[Session], name: str, *, started: datetime,
            error: str | None) -> None:
    """Upsert the job's row (two workers may create it at once: the loser updates)."""
    for _ in range(2):
        with factory() as session:
            row = session.get(JobRun, name)
            if row is None:
                row = JobRun(name=name, runs=0, failures=0)
                session.add(row)
            row.last_started_at, row.last_finished_at = started, utcnow()
            row.runs += 1
            row.worker = worker_name()
            if error is None:
                row.last_ok_at, row.last_error = row.last_finished_at, None
            else:
                row.failures += 1
                row.last_error = error[:500]
            try:
                session.commit()
                return
            except IntegrityError:
                session.rollback()
    logger.warning("job %s: its run could not be recorded", name)


@contextmanager
def _exclusive(factory: sessionmaker[Session], name: str) -> Iterator[bool]:
    """PostgreSQL: hold the job's advisory lock for the run (False: another worker holds it).
    SQLite: always True (one machine; the jobs are idempotent)."""
    engine = factory.kw["bind"]
    if engine.dialect.name != "postgresql":
        yield True
        return
    key = (ADVISORY_NAMESPACE << 32) | zlib.crc32(name.encode())
    with engine.connect() as connection:
        got = bool(connection.scalar(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}))
        connection.commit()
        try:
            yield got
        finally:
            if got:
                connection.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                connection.commit()


def run_job(job: Job, ctx: JobContext) -> Any:
    """Run ``job`` once: skipped if exclusive and running elsewhere; a failure is logged and
    recorded, never raised (the next tick retries)."""
    started = utcnow()
    with _exclusive(ctx.factory, job.name) if job.exclusive else _always() as mine:
        if not mine:
            logger.debug("job %s runs in another worker: skipped", job.name)
            return None
        try:
            with ctx.app.app_context():
                result = job.run(ctx)
        except Exception as error:
            logger.exception("job %s failed (retried in %.0f s)", job.name, job.every_seconds)
            _record(ctx.factory, job.name, started=started,
                    error=f"{type(error).__name__}: {error}")
            return None
    _record(ctx.factory, job.name, started=started, error=None)
    if result:
        logger.debug("job %s: %s", job.name, result)
    return result


@contextmanager
def _always() -> Iterator[bool]:
    yield True


def heartbeat(ctx: JobContext) -> None:
    _record(ctx.factory, WORKER, started=utcnow(), error=None)


def run_all_once(ctx: JobContext) -> dict[str, Any]:
    heartbeat(ctx)
    return {job.name: run_job(job, ctx) for job in all_jobs(ctx.config)}


def serve(ctx: JobContext, *, threads: int = 4) -> None:
    """Run every job on its interval until SIGTERM/SIGINT (a job's runs never overlap)."""
    scheduler = BlockingScheduler(executors={"default": ThreadPoolExecutor(threads)},
                                  job_defaults={"coalesce": True, "max_instances": 1,
                                                "misfire_grace_time": 30})
    scheduler.add_job(heartbeat, "interval", seconds=HEARTBEAT_SECONDS, args=[ctx],
                      id=WORKER, next_run_time=utcnow())
    for job in all_jobs(ctx.config):
        scheduler.add_job(run_job, "interval", seconds=job.every_seconds, args=[job, ctx],
                          id=job.name, next_run_time=utcnow())
        logger.info("job %s every %s s%s", job.name, job.every_seconds,
                    " (exclusive)" if job.exclusive else "")

    def stop(signum: int, _frame: FrameType | None) -> None:
        logger.info("signal %s: stopping after the running jobs", signum)
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    scheduler.start()
