"""``sync-server send-mail``: send due outbox mail and tidy expired holds (run it from cron)."""

from __future__ import annotations

import json
import logging

import click
from flask import current_app
from flask.cli import with_appcontext

from sync_server.config import Config
from sync_server.mail.outbox import deliver_due
from sync_server.mail.smtp import SmtpSettings
from sync_server.migrate import upgraded_sessions

logger = logging.getLogger(__name__)


@click.command("send-mail")
@click.option("--limit", type=click.IntRange(min=1), default=500,
              help="Send at most this many messages.")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
@with_appcontext
def send_mail(limit: int, as_json: bool) -> None:
    """Send due outbox e-mail, tidy expired holds (run it from cron, every minute).

    Exits with status 1 when a message failed to send (it is retried later).
    """
    from sync_server.orders.cancellation import tidy_expired_orders

    config: Config = current_app.extensions["sync_config"]
    factory = upgraded_sessions()
    with factory() as session:
        lapsed = tidy_expired_orders(session)
        session.commit()
    settings = SmtpSettings.from_config(config)
    result = deliver_due(factory, settings, max_attempts=config.mail_max_attempts, limit=limit)
    summary = {"sent": result.sent, "failed": result.failed, "orders_lapsed": lapsed,
               "smtp_configured": settings.configured}
    click.echo(json.dumps(summary) if as_json else
               f"sent {result.sent}, failed {result.failed}, lapsed orders {lapsed}"
               + ("" if settings.configured else " (SYNC_SMTP_HOST is not set)"))
    if result.failed:
        raise click.exceptions.Exit(1)
