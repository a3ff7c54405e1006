"""The organizer's box-office page: sellers' totals, today's codes, the reconciliation files."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, g, render_template
from werkzeug.wrappers import Response

from sync_server.auth.access import Access
from sync_server.auth.sessions import page_access
from sync_server.box_office import codes, reports, views
from sync_server.db import db_session
from sync_server.staff.services import list_sellers

logger = logging.getLogger(__name__)
bp = Blueprint("box_office_pages", __name__, template_folder="templates")
URL = "/organize/events/<id:event_id>/box-office"


def _report() -> dict[str, object]:
    session = db_session()
    event = g.event
    sellers = list_sellers(session, event)
    rows = views.seller_views(session, sellers)
    secret = current_app.extensions["sync_config"].master_secret
    today = {s.id: codes.code_of_the_day(session, s, event, master_secret=secret)
             for s in sellers}
    session.commit()  # a seller's first code makes their salt
    return {"event": event, "sellers": rows, "totals": views.totals(rows), "codes": today,
            "date": codes.local_date(event).isoformat()}


@bp.get(URL)
@page_access(Access.EVENT_ORGANIZER)
def report(event_id: int) -> str:
    return render_template("box_office/report.html", **_report())


def _file(body: bytes | str, mimetype: str, name: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get(URL + "/report.csv")
@page_access(Access.EVENT_ORGANIZER)
def report_csv(event_id: int) -> Response:
    data = _report()
    return _file(reports.report_csv(data["sellers"], data["totals"]),  # type: ignore[arg-type]
                 "text/csv", f"box-office-{event_id}-{data['date']}.csv")


@bp.get(URL + "/report.pdf")
@page_access(Access.EVENT_ORGANIZER)
def report_pdf(event_id: int) -> Response:
    data = _report()
    pdf = reports.report_pdf(event_name=g.event.name, date=str(data["date"]),
                             sellers=data["sellers"], totals=data["totals"])  # type: ignore[arg-type]
    return _file(pdf, "application/pdf", f"box-office-{event_id}-{data['date']}.pdf")
