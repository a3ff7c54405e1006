"""Void a device's admissions since a time (a stolen or misused door), and recompute the winners.

A door that was stolen may have uploaded forged admissions before it was revoked. The organizer
names the device and a time; every admission that device uploaded for the event with a scan time
at or after it stops counting (``door_scans.admission`` false: the scans themselves are kept, as
is the seed ``scans`` log). Each affected ticket that the device had marked used is set VALID
again, then the earliest remaining admission of it wins as in any upload
(``door/scans.py``). Every affected ticket is numbered, so every door hears of it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from sync_server.accounts.models import User
from sync_server.api import ApiRequest, Routes
from sync_server.audit.services import record
from sync_server.auth.access import Access, require_user
from sync_server.db import utcnow
from sync_server.devices import services as devices
from sync_server.devices.models import Device
from sync_server.door.changes import ids_in, touch_tickets
from sync_server.door.models import DoorScan, table_of
from sync_server.door.scans import apply_admissions
from sync_server.events.models import Event
from sync_server.schemas import Body, Out, UtcDatetime
from sync_server.tickets.models import TicketInstance, TicketStatus

logger = logging.getLogger(__name__)

routes = Routes("door_voids")  # endpoints "door_voids_<view>"
api_route = routes.route


def _chunks(ids: list[int], size: int = 900) -> list[list[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


class VoidBody(Body):
    since: UtcDatetime  # admissions scanned at or after this time stop counting


class VoidOut(Out):
    voided_scans: int
    tickets: list[int]  # the affected tickets, recomputed


def void_admissions(session: Session, event: Event, device: Device, *, since: datetime,
                    by: User, now: datetime) -> tuple[int, list[int]]:
    """Void ``device``'s admissions of ``event`` scanned at or after ``since``; recompute the
    tickets they named. Answers (scans voided, affected ticket ids). Never commits."""
    ds = table_of(DoorScan)
    rows = session.execute(sa.select(ds.c.id, ds.c.ticket_instance_id).where(
        ds.c.device_id == device.id, ds.c.event_id == event.id, ds.c.admission,
        ds.c.scanned_at >= since)).all()
    scan_ids = [int(r[0]) for r in rows]
    ticket_ids = sorted({int(r[1]) for r in rows})
    for chunk in _chunks(scan_ids):
        session.execute(ds.update().where(ids_in(session, ds.c.id, chunk))
                        .values(admission=False, lost_to_id=None))
    ti = table_of(TicketInstance)
    for chunk in _chunks(ticket_ids):  # what this device decided about them no longer holds
        session.execute(ti.update().where(
            ids_in(session, ti.c.id, chunk), ti.c.status == TicketStatus.SCANNED,
            ti.c.scanned_by_device_id == device.id, ti.c.scanned_at >= since,
        ).values(status=TicketStatus.VALID, scanned_at=None, scanned_by_device_id=None,
                 scan_location=None, manual_checkin=False, manual_checkin_reason=None,
                 updated_at=now))
    touch_tickets(session, event.id, ticket_ids)
    apply_admissions(session, set(ticket_ids), now)  # the earliest remaining admission wins
    record(session, action="device.void_admissions", entity_type="device", entity_id=device.id,
           user=by, event_id=event.id,
           details={"since": since.isoformat(), "scans": len(scan_ids), "tickets": ticket_ids})
    logger.warning("device %s: %d admissions of event %s since %s voided (%d tickets)",
                   device.id, len(scan_ids), event.id, since, len(ticket_ids))
    return len(scan_ids), ticket_ids


@api_route("/events/<id:event_id>/devices/<id:device_id>/void-admissions", method="POST",
           access=Access.EVENT_ORGANIZER, tag="devices", body=VoidBody, response=VoidOut,
           summary="Void a (stolen) device's admissions since a time; the earliest remaining "
                   "admission of each ticket wins and every door hears of it")
def void_device_admissions(req: ApiRequest, device_id: int) -> dict[str, Any]:
    body: VoidBody = req.body
    device = devices.get_device_for_event(req.session, req.the_event, device_id)
    count, tickets = void_admissions(req.session, req.the_event, device, since=body.since,
                                     by=require_user(req.actor), now=utcnow())
    req.session.commit()
    return {"voided_scans": count, "tickets": tickets}
