"""Write audit entries. Call inside the same transaction as the change being recorded."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from sqlalchemy.orm import Session

from sync_server.audit.models import AuditEntry

logger = logging.getLogger(__name__)


class Row(Protocol):
    """Who acted: a user or a device (the log keeps only its id, so audit imports neither)."""

    @property
    def id(self) -> int: ...


def record(
    session: Session,
    *,
    action: str,
    entity_type: str,
    entity_id: int | None,
    user: Row | None = None,
    device: Row | None = None,
    event_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        actor_user_id=user.id if user is not None else None,
        actor_device_id=device.id if device is not None else None,
        event_id=event_id,
        details=details or {},
    )
    session.add(entry)
    session.flush()
    logger.info("audit %s %s#%s by user=%s device=%s", action, entity_type, entity_id,
                entry.actor_user_id, entry.actor_device_id)
    return entry
