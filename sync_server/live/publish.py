"""``publish(session, topic)``: wake the stream processes once ``session`` commits.

A topic names what changed: ``event:<id>`` (availability or a waiting list of the event) or
``user:<id>`` (a person's place in line or offer). PostgreSQL: the topics of a transaction are
sent as ONE ``SELECT pg_notify(...)`` just before it commits, inside it, so PostgreSQL delivers
them at the commit and never for a transaction that rolls back. SQLite: nothing to send; the
streams poll.

Sales do not publish (docs/queue.md): the streams recompute availability every
``live_poll_seconds`` anyway (a lapsing hold changes it with nobody writing), and a NOTIFY in
every checkout would add a statement and NOTIFY's commit-time lock to the flash sale.
"""

from __future__ import annotations

import logging
import threading

import sqlalchemy as sa
from sqlalchemy.orm import Session, SessionTransaction

logger = logging.getLogger(__name__)

CHANNEL = "sync_live"
_KEY = "live_topics_before_commit"
MAX_PAYLOAD = 7900  # NOTIFY payloads stop at 8000 bytes; a cut list still wakes every stream


def publish(session: Session, *topics: str) -> None:
    """Send ``topics`` with ``session``'s commit (PostgreSQL; nothing on SQLite)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    _listen()
    session.info.setdefault(_KEY, set()).update(topics)


def _before_commit(session: Session) -> None:
    topics: set[str] | None = session.info.pop(_KEY, None)
    if topics:
        session.execute(sa.text("SELECT pg_notify(:channel, :payload)"),
                        {"channel": CHANNEL, "payload": ",".join(sorted(topics))[:MAX_PAYLOAD]})


def _after_rollback(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is None:
        session.info.pop(_KEY, None)


_listening = threading.Lock()


def _listen() -> None:
    with _listening:
        for name, listener in (("before_commit", _before_commit),
                               ("after_soft_rollback", _after_rollback)):
            if not sa.event.contains(Session, name, listener):
                sa.event.listen(Session, name, listener)
