"""``sync-server send-mail``: send due outbox mail and tidy expired holds (run it from cron)."""

from __future__ import annotations

import argparse
import json
import logging

from sqlalchemy.orm import sessionmaker

from sync_server.config import Config
from sync_server.db import make_engine
from sync_server.mail.outbox import deliver_due
from sync_server.mail.smtp import SmtpSettings

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=int, default=500, help="at most this many messages")
    parser.add_argument("--json", action="store_true")


def send_mail(config: Config, args: argparse.Namespace) -> int:
    from sync_server.orders.cancellation import tidy_expired_orders

    engine = make_engine(config.database_url)
    try:
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        with factory() as session:
            lapsed = tidy_expired_orders(session)
            session.commit()
        settings = SmtpSettings.from_config(config)
        result = deliver_due(factory, settings, max_attempts=config.mail_max_attempts,
                             limit=args.limit)
    finally:
        engine.dispose()
    summary = {"sent": result.sent, "failed": result.failed, "orders_lapsed": lapsed,
               "smtp_configured": settings.configured}
    print(json.dumps(summary) if args.json else
          f"sent {result.sent}, failed {result.failed}, lapsed orders {lapsed}"
          + ("" if settings.configured else " (SYNC_SMTP_HOST is not set)"))
    return 0 if result.failed == 0 else 1
