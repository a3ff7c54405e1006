"""The door sync API (``shared/protocol.py``): pairing, heartbeat, door data, scan upload.

Declared like every other route: bodies, queries and answers are the protocol's own shapes, so
the server, the door's client and the OpenAPI document cannot drift. Bad bodies are 422
``validation_failed`` with per-field messages, a batch over the limit is 413, a device asking
for an event it does not serve gets 403 ``event_not_served`` (these routes are
``Access.DEVICE`` so that the refusal can carry that code). Door-data pages are gzipped when
the client accepts it.
"""

from __future__ import annotations

import gzip
import logging
from typing import Any

from flask import Response, current_app, request

from shared import protocol as p
from sync_server.api import ApiRequest, Routes
from sync_server.auth.access import Access, require_device, require_user
from sync_server.config import Config
from sync_server.db import utcnow
from sync_server.devices import limits
from sync_server.devices import services as devices
from sync_server.door import changes, data, live, scans
from sync_server.door.settings import (
    DoorSettingsPatch,
    door_settings,
    settings_json,
    update_door_settings,
)
from sync_server.errors import ApiError, Code

routes = Routes("door")  # endpoints "door_<view>"
api_route = routes.route

logger = logging.getLogger(__name__)

TAG = "door"
GZIP_MIN_BYTES = 1_024
GZIP_LEVEL = 5  # ~as small as 9 on this JSON, several times faster


def _config() -> Config:
    config: Config = current_app.extensions["sync_config"]
    return config


def _answer(shape: p.Shape, status: int = 200) -> Response:
    text = shape.json_bytes()
    response = Response(text, status=status, mimetype="application/json")
    response.vary.add("Accept-Encoding")
    if len(text) >= GZIP_MIN_BYTES and "gzip" in request.headers.get("Accept-Encoding", ""):
        response.set_data(gzip.compress(text, compresslevel=GZIP_LEVEL))
        response.headers["Content-Encoding"] = "gzip"
    return response


@api_route("/door/pair", method="POST", access=Access.PUBLIC, tag=TAG, status=201,
           body=p.PairRequest, response=p.PairResponse,
           summary="Door protocol pairing: PairRequest -> PairResponse (rate limited)")
def pair(req: ApiRequest) -> Response:
    body: p.PairRequest = req.body
    token, device = limits.pair_device(req.session, code=body.code)
    if body.device_name.strip():
        device.name = body.device_name.strip()[:100]
    req.session.commit()
    logger.info("device %s paired (%s %s)", device.id, body.platform, body.app_version)
    answer = p.PairResponse(device_id=device.id, device_name=device.name, token=token,
                            server_time=utcnow(), event_ids=tuple(e.id for e in device.events))
    return _answer(answer, 201)


@api_route("/door/heartbeat", method="POST", access=Access.DEVICE, tag=TAG,
           body=p.HeartbeatRequest, response=p.HeartbeatResponse,
           summary="Door heartbeat: last seen, and the served events with their revisions")
def heartbeat(req: ApiRequest) -> Response:
    device = require_device(req.actor)
    body: p.HeartbeatRequest = req.body
    now = utcnow()
    device.last_seen_at = now
    req.session.commit()
    skew = (body.device_time - now).total_seconds()
    logger.info("heartbeat device %s: %d queued, %d cached, clock %+.1f s", device.id,
                body.scans_queued, body.tickets_cached, skew)
    events = list(device.events)
    revisions = changes.revisions(req.session, [e.id for e in events])
    answer = p.HeartbeatResponse(
        server_time=now, device_id=device.id, device_name=device.name,
        events=tuple(p.EventSummary(e.id, e.name, revisions[e.id]) for e in events),
        latest_app_version=_config().door_app_latest_version)
    return _answer(answer)


@api_route("/door/events/<id:event_id>/data", method="GET", access=Access.DEVICE, tag=TAG,
           query=p.DoorDataQuery, response=p.DoorDataPage,
           summary="Door data: a full snapshot in pages, then deltas from the server's cursor "
                   "(403 event_not_served unless the device serves the event)")
def door_data(req: ApiRequest) -> Response:
    device = require_device(req.actor)
    event = req.the_event
    if not devices.device_serves(req.session, device, event.id):
        raise ApiError(403, Code.EVENT_NOT_SERVED, "this device does not serve this event")
    query: p.DoorDataQuery = req.query
    page = data.door_page(req.session, event, cursor_text=query.cursor, limit=query.limit,
                          master_secret=_config().master_secret, now=utcnow())
    req.session.rollback()  # read only: end the transaction before the (slow) rendering
    return _answer(page)


@api_route("/door/scans", method="POST", access=Access.DEVICE, tag=TAG,
           body=p.ScanBatch, response=p.ScanBatchResult,
           summary="Upload a batch of scans; one result per scan (accepted, duplicate, "
                   "rejected) with any conflict (413 over MAX_SCANS_PER_BATCH)")
def upload_scans(req: ApiRequest) -> Response:
    device = require_device(req.actor)
    batch: p.ScanBatch = req.body
    now = utcnow()
    results = scans.upload(req.session, device, batch, now)
    req.session.commit()
    return _answer(p.ScanBatchResult(tuple(results), now))


@api_route("/events/<id:event_id>/door-settings", method="GET", access=Access.EVENT_DOOR,
           tag=TAG, summary="The event's door rules (re-entry, uncached tickets, opening time)")
def get_door_settings(req: ApiRequest) -> dict[str, Any]:
    return {"door_settings": settings_json(door_settings(req.session, req.the_event))}


@api_route("/events/<id:event_id>/door-settings", method="PATCH",
           access=Access.EVENT_ORGANIZER, tag=TAG, body=DoorSettingsPatch,
           summary="Change the event's door rules; doors pick them up at their next sync")
def patch_door_settings(req: ApiRequest) -> dict[str, Any]:
    row = update_door_settings(req.session, req.the_event, req.body, by=require_user(req.actor))
    req.session.commit()
    return {"door_settings": settings_json(row)}


@api_route("/events/<id:event_id>/door/live", method="GET", access=Access.EVENT_DOOR, tag=TAG,
           summary="At the door now: entries per minute per door, inside, refusals, double "
                   "entries, each device's last contact")
def door_live(req: ApiRequest) -> dict[str, Any]:
    return live.live_json(live.live_figures(req.session, req.the_event.id, now=utcnow()))
