"""``sync-server doctor``: one line per check, each problem named in words.

Checks: the database answers, its migrations are at head, the master secret is present and long
and random enough, the SMTP server accepts a connection (when one is set), a Stripe secret key
has the right form (when set; nothing is sent to Stripe), and the database's clock agrees with
this machine's, and the jobs worker (``sync-server jobs``) beat recently.
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from sync_server.config import Config
from sync_server.jobs.models import JobRun
from sync_server.ops.health import database_problems
from sync_server.ops.secrets import master_secret_problems

logger = logging.getLogger(__name__)

MAX_CLOCK_SKEW_SECONDS = 5.0
STRIPE_KEY = re.compile(r"(sk|rk)_(live|test)_[0-9A-Za-z]{10,}")
STRIPE_VARIABLE = "STRIPE_SECRET_KEY"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"


def check_database(engine: Engine) -> list[Check]:
    problems = database_problems(engine)
    reachable = not problems or not problems[0].startswith("database unreachable")
    checks = [Check("database", reachable,
                    "reachable" if reachable else problems[0])]
    if reachable:
        checks.append(Check("migrations", not problems,
                            problems[0] if problems else "at head"))
    else:
        checks.append(Check("migrations", False, "unknown: the database is unreachable"))
    return checks


def check_master_secret(config: Config) -> Check:
    problems = master_secret_problems(config)
    if problems:
        return Check("master secret", False, "; ".join(problems))
    return Check("master secret", True, f"{len(config.master_secret)} bytes")


def check_smtp(config: Config) -> Check:
    if not config.smtp_host:
        return Check("smtp", True, "not configured (mail waits in the outbox)")
    where = f"{config.smtp_host}:{config.smtp_port}"
    try:
        with smtplib.SMTP(config.smtp_host, config.smtp_port,
                          timeout=config.smtp_timeout_seconds) as smtp:
            smtp.ehlo()
            if config.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if config.smtp_username:
                smtp.login(config.smtp_username, config.smtp_password)
    except (OSError, smtplib.SMTPException) as error:
        return Check("smtp", False, f"cannot use {where}: {error or type(error).__name__}")
    return Check("smtp", True, f"{where} accepts connections")


def check_stripe(key: str | None) -> Check:
    if not key:
        return Check("stripe", True, f"{STRIPE_VARIABLE} not set (card payments off)")
    if not STRIPE_KEY.fullmatch(key):
        kind = "a publishable key" if key.startswith("pk_") else "not a Stripe secret key"
        return Check("stripe", False, f"{STRIPE_VARIABLE} is {kind} (expected sk_live_… or "
                                      "sk_test_…)")
    return Check("stripe", True, f"{STRIPE_VARIABLE} is a {key.split('_')[1]} secret key")


def database_now(engine: Engine) -> datetime:
    query = ("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')" if engine.dialect.name == "sqlite"
             else "SELECT clock_timestamp()")
    with engine.connect() as connection:
        value = connection.scalar(sa.text(query))
    if isinstance(value, str):  # SQLite: UTC text
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def check_clock(engine: Engine, now: Callable[[], datetime]) -> Check:
    try:
        there = database_now(engine)
    except sa.exc.SQLAlchemyError:
        return Check("clock", False, "unknown: the database is unreachable")
    skew = (now() - there).total_seconds()
    if abs(skew) > MAX_CLOCK_SKEW_SECONDS:
        return Check("clock", False, f"this machine's clock is {skew:+.0f} s off the "
                                     "database's (fix NTP: timedatectl status)")
    return Check("clock", True, f"{skew:+.1f} s from the database's")


def check_jobs(config: Config, engine: Engine, now: Callable[[], datetime]) -> Check:
    try:
        with engine.connect() as connection:
            row = connection.execute(sa.select(JobRun.last_ok_at, JobRun.worker)
                                     .where(JobRun.name == "worker")).first()
            failing = connection.execute(
                sa.select(JobRun.name, JobRun.last_error)
                .where(JobRun.last_error.is_not(None)).order_by(JobRun.name)).all()
    except sa.exc.SQLAlchemyError:
        return Check("jobs", False, "unknown: the database is unreachable or not migrated")
    if row is None or row[0] is None:
        return Check("jobs", False, "no jobs worker has run: start `sync-server jobs` "
                                    "(deploy/systemd/sync-server-jobs.service)")
    age = (now() - row[0]).total_seconds()
    if age > config.jobs_heartbeat_stale_seconds:
        return Check("jobs", False, f"the jobs worker's last heartbeat is {age:.0f} s old "
                                    f"({row[1]}): is `sync-server jobs` running?")
    if failing:
        names = ", ".join(f"{name} ({error})" for name, error in failing)
        return Check("jobs", False, f"worker alive; last run failed: {names}"[:300])
    return Check("jobs", True, f"heartbeat {age:.0f} s ago ({row[1]})")


def run_checks(config: Config, engine: Engine, *,
               now: Callable[[], datetime] = lambda: datetime.now(UTC),
               stripe_key: str | None = None) -> list[Check]:
    """Every check, in order; ``stripe_key`` defaults to ``$STRIPE_SECRET_KEY``."""
    if stripe_key is None:
        stripe_key = os.environ.get(STRIPE_VARIABLE, "")
    return [*check_database(engine), check_master_secret(config), check_smtp(config),
            check_stripe(stripe_key), check_clock(engine, now), check_jobs(config, engine, now)]
