"""Send freshly queued mail once the request's transaction has committed (best effort).

Outside tests the send runs on a daemon thread, so a slow or dead SMTP server never delays the
buyer's response; if the process dies mid-send, the row's claim lapses and ``sync-server
send-mail`` retries it. Under ``testing`` it runs inline so tests can look at the mailbox at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from flask import Flask, current_app

from sync_server.mail.outbox import Delivery, deliver_due
from sync_server.mail.smtp import SmtpSettings

logger = logging.getLogger(__name__)


def _deliver(app: Flask, ids: Sequence[int]) -> Delivery:
    config = app.extensions["sync_config"]
    return deliver_due(app.extensions["sync_db_sessionmaker"], SmtpSettings.from_config(config),
                       max_attempts=config.mail_max_attempts, ids=ids)


def _in_background(app: Flask, ids: Sequence[int]) -> None:
    try:
        _deliver(app, ids)
    except Exception:  # a thread has nobody to raise to; the outbox keeps the rows
        logger.exception("sending outbox rows %s failed", list(ids))


def send_queued(ids: Sequence[int]) -> Delivery:
    """Try the outbox rows ``ids`` now; a failure leaves them for ``sync-server send-mail``.

    Returns what was sent when it ran inline (tests), an empty ``Delivery`` otherwise.
    """
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    config = app.extensions["sync_config"]
    if not ids or not SmtpSettings.from_config(config).configured:
        return Delivery()
    if config.testing:
        return _deliver(app, ids)
    threading.Thread(target=_in_background, args=(app, list(ids)), daemon=True,
                     name="mail-after-commit").start()
    return Delivery()
