"""The organizer's "At the door, live" page: ``door.live`` figures as a page, refreshed by
itself while open.

Access is ``EVENT_DOOR``, as the JSON API's ``GET /events/<id>/door/live``: the organizer and
the event's unexpired staff (who run the doors) see it; sellers and strangers get 403.

Refresh: ``static/js/live.js`` polls the figures fragment (``live_figures``) every 5 seconds
and swaps it in; without script the page shows the same figures and a refresh link.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, g, render_template

from sync_server.auth.access import Access, Actor, authorize
from sync_server.auth.sessions import page_access
from sync_server.charts import bar_chart
from sync_server.db import db_session, utcnow
from sync_server.door.live import LiveFigures, live_figures
from sync_server.errors import ApiError

logger = logging.getLogger(__name__)
bp = Blueprint("door_pages", __name__, template_folder="templates")

BASE = "/organize/events/<id:event_id>"
REFRESH_SECONDS = 5


def _context(event_id: int) -> dict[str, Any]:
    figures = live_figures(db_session(), event_id, now=utcnow())
    return {"event": g.event, "live": figures, "charts": _charts(figures),
            "refresh_seconds": REFRESH_SECONDS}


def _charts(figures: LiveFigures) -> dict[str, Any]:
    labels = [m.strftime("%H:%M") for m in figures.minutes]
    charts = {}
    for door in figures.doors:
        counts = figures.per_minute[door]
        charts[door] = {
            "svg": bar_chart(counts, labels, title=f"Entries per minute at {door}",
                             desc=f"{sum(counts)} entries in the {len(counts)} minutes from "
                                  f"{labels[0]} to {labels[-1]} UTC; busiest minute "
                                  f"{max(counts)}."),
            "last": counts[-1], "five": sum(counts[-5:]), "window": sum(counts),
            "busiest": max(counts)}
    return charts


@bp.get(BASE + "/live")
@page_access(Access.EVENT_DOOR)
def live(event_id: int) -> str:
    try:  # staff see the page without the organizer's tabs (which would answer them 403)
        authorize(db_session(), Actor(user=g.user), Access.EVENT_ORGANIZER, g.event)
        organizer = True
    except ApiError:
        organizer = False
    return render_template("door_pages/live.html", organizer=organizer, **_context(event_id))


@bp.get(BASE + "/live/figures")
@page_access(Access.EVENT_DOOR)
def figures(event_id: int) -> str:
    """The figures alone (an HTML fragment): what ``live.js`` swaps in every few seconds."""
    return render_template("door_pages/_figures.html", **_context(event_id))
