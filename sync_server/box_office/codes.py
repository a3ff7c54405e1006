"""Sellers' 4-digit codes of the day: computed, never stored, never rotated by a job.

``code = HMAC-SHA256(K, "<event id>:<local date>") mod 10000`` (4 digits, zero padded), where
``K = HMAC-SHA256(master secret, "box-office-code:" + seller salt)`` and the salt is 32 random
bytes kept per seller (``box_office_seller_secrets``, made on first use). The code changes at the
event's local midnight by itself; a database dump alone does not reveal codes (the master secret
lives outside the database); deleting a seller's salt row gives them new codes at once.

Wrong codes are counted (``rate_limits``, action ``BOX_OFFICE_CODE``) per seller AND per caller
(the device or the signed-in user): past ``box_office_code_attempts`` wrong ones in a window of
``box_office_code_window_seconds`` from one caller, that caller is refused (429) before the code
is checked; the real seller at their own desk is another caller, so a thief guessing elsewhere
cannot lock them out, and the window is minutes, not hours. All callers together get four times
the per-caller allowance per seller (a bound on guessing). Every wrong code is audited.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sync_server.audit.services import record
from sync_server.box_office.models import SellerSecret
from sync_server.db import utcnow
from sync_server.errors import ApiError, Code
from sync_server.events.models import Event
from sync_server.ratelimit.services import count, refuse_if_over
from sync_server.staff.models import AuthorizedSeller

logger = logging.getLogger(__name__)

ACTION = "BOX_OFFICE_CODE"
ALL_CALLERS_FACTOR = 4


def local_date(event: Event, now: datetime | None = None) -> date:
    """Today in the event's time zone (UTC if the zone is unknown)."""
    now = now or utcnow()
    try:
        zone = ZoneInfo(event.timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return now.astimezone(zone).date()


def seller_salt(session: Session, seller: AuthorizedSeller) -> str:
    """The seller's salt, made on first use (two first uses at once: one wins, both read it)."""
    row = session.get(SellerSecret, seller.id)
    if row is not None:
        return row.secret
    try:
        with session.begin_nested():
            row = SellerSecret(seller_id=seller.id, secret=secrets.token_hex(32))
            session.add(row)
        return row.secret
    except IntegrityError:
        logger.info("seller %s: salt made by a concurrent request", seller.id)
        again = session.get(SellerSecret, seller.id, populate_existing=True)
        assert again is not None
        return again.secret


def code_for(master_secret: bytes, salt: str, event_id: int, day: date) -> str:
    key = hmac.new(master_secret, b"box-office-code:" + salt.encode(), hashlib.sha256).digest()
    mac = hmac.new(key, f"{event_id}:{day.isoformat()}".encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(mac[:8], 'big') % 10_000:04d}"


def code_of_the_day(session: Session, seller: AuthorizedSeller, event: Event, *,
                    master_secret: bytes, now: datetime | None = None) -> str:
    return code_for(master_secret, seller_salt(session, seller), event.id,
                    local_date(event, now))


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def verify_code(
    session: Session, *, seller: AuthorizedSeller, event: Event, code: str, caller: str,
    master_secret: bytes, attempts: int, window_seconds: int,
    user: Any = None, device: Any = None, now: datetime | None = None,
) -> None:
    """Accept the seller's code of the day, or refuse: 429 ``rate_limited`` when this caller (or
    everyone) guessed wrong too often in this window; 403 ``wrong_seller_code`` otherwise, counted
    and audited in a transaction of its own (so the refusal's rollback keeps them)."""
    limits = {f"seller:{seller.id}:{caller}": attempts,
              f"seller:{seller.id}": attempts * ALL_CALLERS_FACTOR}
    engine = _engine(session)
    refuse_if_over(engine, action=ACTION, limits=limits, window_seconds=window_seconds, now=now)
    expected = code_of_the_day(session, seller, event, master_secret=master_secret, now=now)
    if hmac.compare_digest(expected.encode(), code.strip().encode()):
        return
    seller_id, event_id = seller.id, event.id
    user_id = user.id if user is not None else None
    device_id = device.id if device is not None else None
    session.commit()  # a new seller salt is kept; nothing else was written yet
    count(engine, action=ACTION, limits=limits, window_seconds=window_seconds, now=now)
    record(session, action="box_office.wrong_code", entity_type="seller", entity_id=seller_id,
           event_id=event_id, details={"caller": caller, "user_id": user_id,
                                       "device_id": device_id})
    session.commit()
    logger.warning("wrong box-office code for seller %s from %s", seller_id, caller)
    raise ApiError(403, Code.WRONG_SELLER_CODE,
                   "that is not this seller's code for today: check it and try again")
