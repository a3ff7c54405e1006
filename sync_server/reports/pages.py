"""The organizer's analytics page: ``reports.services`` figures as SVG charts drawn on the
server (``sync_server.charts``: no script) each with its numbers in a table, and every table as
a CSV download. ``EVENT_ORGANIZER`` only, as the JSON API's ``GET /events/<id>/analytics``."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, g, render_template
from werkzeug.wrappers import Response

from sync_server.auth.access import Access
from sync_server.auth.sessions import page_access
from sync_server.charts import bar_chart, hbar_chart, line_chart
from sync_server.db import db_session
from sync_server.reports.services import HOUR, TABLES, Analytics, analytics, table_rows
from sync_server.site import csv_download

logger = logging.getLogger(__name__)
bp = Blueprint("report_pages", __name__, template_folder="templates")

BASE = "/organize/events/<id:event_id>"


def _charts(found: Analytics) -> dict[str, Any]:
    charts: dict[str, Any] = {}
    fmt = "%d %b %H:%M" if found.slice_seconds == HOUR else "%d %b"
    if found.sales:
        labels = [s.start.strftime(fmt) for s in found.sales]
        per = "hour" if found.slice_seconds == HOUR else "day"
        charts["sales"] = bar_chart(
            [s.tickets for s in found.sales], labels, title=f"Tickets sold per {per}",
            desc=f"{found.tickets:,} tickets on {found.orders:,} orders from {labels[0]} to "
                 f"{labels[-1]} UTC; the busiest {per} sold "
                 f"{max(s.tickets for s in found.sales):,}.")
    if found.types:
        charts["types"] = hbar_chart(
            [t.sold for t in found.types], [t.name for t in found.types],
            title="Tickets sold by ticket type",
            desc="; ".join(f"{t.name}: {t.sold:,} of {t.capacity:,}" for t in found.types))
    if found.checkins:
        labels = [at.strftime("%H:%M") for at, _n, _s in found.checkins]
        charts["checkins"] = line_chart(
            [so_far for _at, _n, so_far in found.checkins], labels,
            title="People checked in through the night",
            desc=f"{found.checkins[-1][2]:,} in by {labels[-1]} UTC, counted every quarter "
                 f"hour from {labels[0]}.")
    return charts


@bp.get(BASE + "/analytics", endpoint="analytics")
@page_access(Access.EVENT_ORGANIZER)
def analytics_page(event_id: int) -> str:
    found = analytics(db_session(), event_id)
    return render_template("report_pages/analytics.html", event=g.event, a=found,
                           charts=_charts(found), tables=list(TABLES))


@bp.get(BASE + "/analytics/<name>.csv")
@page_access(Access.EVENT_ORGANIZER)
def analytics_csv(event_id: int, name: str) -> Response:
    if name not in TABLES:
        abort(404)
    rows = table_rows(analytics(db_session(), event_id), name)
    return csv_download(f"{name}-event-{event_id}.csv", TABLES[name], rows)
