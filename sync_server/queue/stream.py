"""Live streams (server-sent events) of an event: its availability, and the watching person's
places in line and offers (docs/queue.md, "Streams").

Two doors to the same stream: ``GET /api/v1/events/{id}/live`` (bearer token optional: with a
signed-in user's token the ``queue`` events come too) and ``GET /live/events/{id}`` for the web
pages (the session cookie; the browser's ``EventSource`` sends no bearer token). Events:

- ``availability``: ``{"event_id", "ticket_types": [{"id", "available", "held", "sold_out",
  "waiting"}], "bundles": [{"id", "available", "held"}]}``, on connect and whenever it changes;
A client that does not ask for ``text/event-stream`` (``Accept``) gets the current events once
and the end of the body (a script's snapshot); ``EventSource`` always asks for the stream.

- ``queue`` (signed-in only): ``{"entries": [entry]}``, the person's entries for this event with
  their ``position`` or ``offer`` (as ``GET /me/queue``), on connect and whenever they change.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, current_app, g, request
from sqlalchemy.orm import Session

from sync_server.api import ApiRequest, Routes
from sync_server.auth.access import Access
from sync_server.auth.sessions import page_access
from sync_server.config import Config
from sync_server.db import db_session, utcnow
from sync_server.live.hub import Hub
from sync_server.live.server import HANDOVER
from sync_server.orders import holds
from sync_server.queue.models import LIVE_STATUSES, WaitingListEntry, WaitingStatus
from sync_server.queue.shapes import entry_json

routes = Routes("live")  # endpoints "live_<view>"
api_route = routes.route
bp = Blueprint("live", __name__)

EVENT_STREAM = "text/event-stream"
ENDED_SHOWN_FOR = timedelta(minutes=15)  # an offer that ended lately still shows (why it went)


def event_snapshot(session: Session, event_id: int,
                   users: frozenset[int]) -> tuple[dict[str, Any], dict[int, Any]]:
    """The event's availability, and the entries of ``users`` for it (one pass for all)."""
    now = utcnow()
    found = holds.availability(session, event_id, now)
    waiting = dict(session.execute(
        sa.select(WaitingListEntry.ticket_type_id, sa.func.count())
        .where(WaitingListEntry.event_id == event_id,
               WaitingListEntry.status == WaitingStatus.WAITING)
        .group_by(WaitingListEntry.ticket_type_id)).all())
    public = {
        "event_id": event_id,
        "ticket_types": [{"id": s.id, "available": a.available, "held": a.held,
                          "sold_out": a.available == 0, "waiting": int(waiting.get(s.id, 0))}
                         for s, a in sorted(found.items(), key=lambda x: x[0].id)
                         if s.kind == "ticket_type"],
        "bundles": [{"id": s.id, "available": a.available, "held": a.held}
                    for s, a in sorted(found.items(), key=lambda x: x[0].id)
                    if s.kind == "bundle"],
    }
    personal: dict[int, Any] = {}
    if users:
        entries = list(session.scalars(
            sa.select(WaitingListEntry)
            .where(WaitingListEntry.event_id == event_id,
                   WaitingListEntry.user_id.in_(sorted(users)),
                   sa.or_(WaitingListEntry.status.in_(LIVE_STATUSES),
                          WaitingListEntry.updated_at > now - ENDED_SHOWN_FOR))
            .order_by(WaitingListEntry.id)))
        places: dict[int, int] = {}
        if any(e.status is WaitingStatus.WAITING for e in entries):
            place = sa.func.row_number().over(partition_by=WaitingListEntry.ticket_type_id,
                                              order_by=WaitingListEntry.id).label("place")
            ranked = (sa.select(WaitingListEntry.id, place)
                .where(WaitingListEntry.event_id == event_id,
                       WaitingListEntry.status == WaitingStatus.WAITING).subquery())
            mine = [e.id for e in entries if e.status is WaitingStatus.WAITING]
            places = {int(i): int(p) for i, p in session.execute(
                sa.select(ranked.c.id, ranked.c.place).where(ranked.c.id.in_(mine)))}
        for user_id in users:
            personal[user_id] = {"entries": [
                entry_json(session, e, place=places.get(e.id),
                           waiting=int(waiting.get(e.ticket_type_id, 0)))
                for e in entries if e.user_id == user_id]}
    return public, personal


def hub(app: Flask) -> Hub:
    """The app's hub in this process (made on the first stream)."""
    found: Hub | None = app.extensions.get("sync_live_hub")
    if found is None:
        config: Config = app.extensions["sync_config"]
        found = app.extensions["sync_live_hub"] = Hub(
            app.extensions["sync_db_sessionmaker"], event_snapshot,
            poll_seconds=config.live_poll_seconds)
    return found


def _stream(session: Session, event_id: int, user_id: int | None) -> Response:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    config: Config = app.extensions["sync_config"]
    live = hub(app)
    sub = live.subscribe(event_id, user_id)
    public, personal = event_snapshot(session, event_id,
                                      frozenset([user_id]) if user_id is not None else frozenset())
    session.rollback()
    sub.offer("availability", public)
    if user_id is not None:
        sub.offer("queue", personal.get(user_id, {"entries": []}))
    # EventSource asks for text/event-stream; a client that does not (a script, a probe) gets
    # the current events once and the end of the body, never a response that does not end.
    streaming = request.accept_mimetypes.best == EVENT_STREAM
    handover = request.environ.get(HANDOVER)
    if streaming and handover is not None:  # `sync-server streams` writes the frames itself
        handover(live, sub)
        response = Response(b"", mimetype=EVENT_STREAM)
    else:
        response = Response(live.stream(sub, keepalive_seconds=config.live_keepalive_seconds,
                                        max_seconds=None if streaming else 0.0),
                            mimetype=EVENT_STREAM)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


@api_route("/events/<id:event_id>/live", method="GET", access=Access.EVENT_READ,
           tag="live", produces="text/event-stream",
           summary="Server-sent events: `availability` of the event's ticket types and "
                   "bundles; with a user's token also `queue` (my places in line and offers)")
def live_events(req: ApiRequest) -> Response:
    user = req.actor.user
    return _stream(req.session, req.the_event.id, user.id if user is not None else None)


@bp.route("/live/events/<id:event_id>")
@page_access(Access.EVENT_READ)
def live_page_stream(event_id: int) -> Response:
    """The same stream for the web pages (the session cookie says who watches)."""
    user = g.user
    return _stream(db_session(), event_id, user.id if user is not None else None)
