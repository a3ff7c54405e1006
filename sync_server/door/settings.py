"""An event's door rules: re-entry, what to do with uncached tickets, how early doors open.

Stored in ``door_event_settings`` (an event without a row has the defaults). A change moves
the event's revision (``changes.py`` watches the table), so every door downloads it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from sqlalchemy.orm import Session

from shared import protocol as p
from sync_server.accounts.models import User
from sync_server.audit.services import record
from sync_server.door.models import DoorEventSettings
from sync_server.events.models import Event
from sync_server.schemas import Body

DEFAULT_ENTRY_OPENS_MINUTES = 120


class DoorSettingsPatch(Body):
    """Only the fields given change."""

    reentry_allowed: bool | None = None
    uncached_policy: Literal["admit_with_warning", "refuse"] | None = None
    entry_opens_minutes_before: Annotated[int, Field(ge=0, le=24 * 60)] | None = None


def door_settings(session: Session, event: Event) -> DoorEventSettings:
    """The event's row, or an unsaved one holding the defaults."""
    return session.get(DoorEventSettings, event.id) or DoorEventSettings(
        event_id=event.id, reentry_allowed=False, refuse_uncached=False,
        entry_opens_minutes_before=DEFAULT_ENTRY_OPENS_MINUTES)


def settings_json(row: DoorEventSettings) -> dict[str, object]:
    policy = p.UncachedPolicy.REFUSE if row.refuse_uncached else p.UncachedPolicy.ADMIT_WITH_WARNING
    return {"event_id": row.event_id, "reentry_allowed": row.reentry_allowed,
            "uncached_policy": policy.value,
            "entry_opens_minutes_before": row.entry_opens_minutes_before}


def update_door_settings(session: Session, event: Event, patch: DoorSettingsPatch, *,
                         by: User) -> DoorEventSettings:
    """Apply ``patch``; flushes (the route commits)."""
    row = door_settings(session, event)
    if patch.reentry_allowed is not None:
        row.reentry_allowed = patch.reentry_allowed
    if patch.uncached_policy is not None:
        row.refuse_uncached = patch.uncached_policy == p.UncachedPolicy.REFUSE.value
    if patch.entry_opens_minutes_before is not None:
        row.entry_opens_minutes_before = patch.entry_opens_minutes_before
    session.add(row)
    session.flush()
    record(session, action="door_settings.update", entity_type="event", entity_id=event.id,
           user=by, event_id=event.id, details=settings_json(row))
    return row
