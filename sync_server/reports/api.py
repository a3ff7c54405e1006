"""An event's analytics over JSON: the numbers of the analytics page (``reports.services``)."""

from __future__ import annotations

from typing import Any

from sync_server.api import ApiRequest, Routes
from sync_server.auth.access import Access
from sync_server.reports.services import analytics, analytics_json

routes = Routes("reports")  # endpoints "reports_<view>"
api_route = routes.route


@api_route("/events/<id:event_id>/analytics", method="GET", access=Access.EVENT_ORGANIZER,
           tag="reports", summary="Sales over time, by ticket type, revenue (gross, fees, net), "
                                  "discount code use, check-ins through the night")
def event_analytics(req: ApiRequest) -> dict[str, Any]:
    return analytics_json(analytics(req.session, req.the_event.id))
