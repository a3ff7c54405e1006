"""Pairing limited by the code as well as the address: a right code always pairs, wrong codes
count against the caller's address (``pairing_limit`` per ``pairing_window_seconds``).

A guest behind the venue's NAT who hammers wrong codes gets 429s, but the door behind the same
address pairs with its right code: a code is 10 characters of 31 (~49 bits) and lives 15
minutes, so the code itself is the secret that is limited, not the address that carries it.
See docs/security.md.
"""

from __future__ import annotations

from flask import current_app, request
from sqlalchemy.orm import Session

from sync_server.config import Config
from sync_server.db import engine
from sync_server.devices import services
from sync_server.devices.models import Device
from sync_server.errors import ApiError, Code
from sync_server.ratelimit.services import count

ACTION = "PAIR_DEVICE"  # rate_limits.action: wrong pairing codes


def pair_device(session: Session, *, code: str) -> tuple[str, Device]:
    """:func:`services.pair_device`, counting a wrong code against the caller's address:
    ``pairing_code_invalid`` (400), or ``rate_limited`` (429) past the address's limit."""
    config: Config = current_app.extensions["sync_config"]
    try:
        return services.pair_device(session, code=code)
    except ApiError as error:
        if error.code == Code.PAIRING_CODE_INVALID:
            session.rollback()  # end its write lock (SQLite) before the counter's transaction
            address = f"ip:{request.remote_addr}"
            count(engine(), action=ACTION, limits={address: config.pairing_limit},
                  window_seconds=config.pairing_window_seconds)
        raise
