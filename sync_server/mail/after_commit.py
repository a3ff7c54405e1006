"""Send freshly queued mail once the request's transaction has committed (best effort)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from flask import current_app

from sync_server.mail.outbox import Delivery, deliver_due
from sync_server.mail.smtp import SmtpSettings

logger = logging.getLogger(__name__)


def send_queued(ids: Sequence[int]) -> Delivery:
    """Try the outbox rows ``ids`` now; a failure leaves them for ``sync-server send-mail``."""
    config = current_app.extensions["sync_config"]
    settings = SmtpSettings.from_config(config)
    if not ids or not settings.configured:
        return Delivery()
    return deliver_due(current_app.extensions["sync_db_sessionmaker"], settings,
                       max_attempts=config.mail_max_attempts, ids=ids)
