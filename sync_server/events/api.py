"""Events over JSON: CRUD, publish, cancel, public search; days, ticket types, bundles."""

from __future__ import annotations

import logging
from typing import Any

from sync_server.api import ApiRequest, Routes
from sync_server.auth.access import Access, require_user
from sync_server.events import catalog, schemas, services
from sync_server.events import responses as R
from sync_server.events.serialize import bundle_json, day_json, event_json, ticket_type_json
from sync_server.schemas import DeletedOut, patch_values

routes = Routes("events")  # endpoints "events_<view>"
api_route = routes.route

logger = logging.getLogger(__name__)
TAG = "events"
E = "/events/<id:event_id>"


@api_route("/events", method="GET", access=Access.PUBLIC, tag=TAG, query=schemas.EventSearch,
           summary="Published events, by text, category, city and date range", response=R.EventPage)
def list_events(req: ApiRequest) -> dict[str, Any]:
    q: schemas.EventSearch = req.query
    events, total = services.search_events(
        req.session, text=q.q, category=q.category, city=q.city, date_from=q.date_from,
        date_to=q.date_to, page=q.page, per_page=q.per_page,
    )
    return {"events": [event_json(e) for e in events], "total": total, "page": q.page,
            "per_page": q.per_page}


@api_route("/categories", method="GET", access=Access.PUBLIC, tag=TAG,
           summary="Every event category in use", response=R.CategoryList)
def list_categories(req: ApiRequest) -> dict[str, Any]:
    return {"categories": [c.name for c in services.all_categories(req.session)]}


@api_route("/me/events", method="GET", access=Access.USER, tag=TAG,
           summary="Events the signed-in user organizes (every event for an admin)",
           response=R.EventList)
def my_events(req: ApiRequest) -> dict[str, Any]:
    user = require_user(req.actor)
    return {"events": [event_json(e) for e in services.events_of_user(req.session, user)]}


@api_route("/events", method="POST", access=Access.USER, tag=TAG, body=schemas.EventCreate,
           status=201, summary="Create a draft event; the caller becomes its organizer",
           response=R.EventEnvelope)
def create_event(req: ApiRequest) -> dict[str, Any]:
    body: schemas.EventCreate = req.body
    event = services.create_event(req.session, organizer=require_user(req.actor),
                                  values=body.model_dump())
    req.session.commit()
    return {"event": event_json(event, detail=True)}


@api_route(E, method="GET", access=Access.EVENT_READ, tag=TAG,
           summary="One event with its days, ticket types and bundles", response=R.EventEnvelope)
def get_event(req: ApiRequest) -> dict[str, Any]:
    return {"event": event_json(req.the_event, detail=True)}


@api_route(E, method="PATCH", access=Access.EVENT_ORGANIZER, tag=TAG, body=schemas.EventUpdate,
           summary="Edit an event (only the fields sent; with expected_version, a stale edit is "
                   "refused)", response=R.EventEnvelope)
def update_event(req: ApiRequest) -> dict[str, Any]:
    values = patch_values(req.body, schemas.EVENT_NULLABLE)
    expected = values.pop("expected_version", None)
    event = services.update_event(req.session, req.the_event, user=require_user(req.actor),
                                  values=values, expected_version=expected)
    req.session.commit()
    return {"event": event_json(event, detail=True)}


@api_route(E, method="DELETE", access=Access.EVENT_ORGANIZER, tag=TAG,
           summary="Delete a draft event without orders", response=DeletedOut)
def delete_event(req: ApiRequest) -> dict[str, Any]:
    services.delete_event(req.session, req.the_event, user=require_user(req.actor))
    req.session.commit()
    return {"deleted": True}


@api_route(E + "/publish", method="POST", access=Access.EVENT_ORGANIZER, tag=TAG,
           summary="Publish a draft event (idempotent)", response=R.EventEnvelope)
def publish_event(req: ApiRequest) -> dict[str, Any]:
    event = services.publish_event(req.session, req.the_event, user=require_user(req.actor))
    req.session.commit()
    return {"event": event_json(event, detail=True)}


@api_route(E + "/cancel", method="POST", access=Access.EVENT_ORGANIZER, tag=TAG,
           summary="Cancel an event and every order of it: tickets revoked, holds released, "
                   "refunds through each payment method (idempotent)",
           response=R.EventEnvelope)
def cancel_event(req: ApiRequest) -> dict[str, Any]:
    event = services.cancel_event(req.session, req.the_event, user=require_user(req.actor))
    req.session.commit()
    return {"event": event_json(event, detail=True)}


# --- days ---


@api_route(E + "/days", method="GET", access=Access.EVENT_READ, tag=TAG,
           summary="The event's days", response=R.DayList)
def list_days(req: ApiRequest) -> dict[str, Any]:
    return {"days": [day_json(d) for d in req.the_event.days]}


@api_route(E + "/days", method="POST", access=Access.EVENT_ORGANIZER, tag=TAG,
           body=schemas.DayCreate, status=201, summary="Add a day to the event",
           response=R.DayEnvelope)
def add_day(req: ApiRequest) -> dict[str, Any]:
    body: schemas.DayCreate = req.body
    day = catalog.add_day(req.session, req.the_event, user=require_user(req.actor),
                           values=body.model_dump())
    req.session.commit()
    return {"day": day_json(day)}


@api_route(E + "/days/<id:day_id>", method="PATCH", access=Access.EVENT_ORGANIZER, tag=TAG,
           body=schemas.DayUpdate,
           summary="Edit a day (with expected_version, a stale edit is refused)",
           response=R.DayEnvelope)
def update_day(req: ApiRequest, day_id: int) -> dict[str, Any]:
    values = patch_values(req.body, schemas.DAY_NULLABLE)
    expected = values.pop("expected_version", None)
    day = catalog.get_day(req.session, req.the_event, day_id)
    day = catalog.update_day(req.session, req.the_event, day, user=require_user(req.actor),
                              values=values, expected_version=expected)
    req.session.commit()
    return {"day": day_json(day)}


@api_route(E + "/days/<id:day_id>", method="DELETE", access=Access.EVENT_ORGANIZER, tag=TAG,
           summary="Remove a day that no ticket type is for", response=DeletedOut)
def delete_day(req: ApiRequest, day_id: int) -> dict[str, Any]:
    day = catalog.get_day(req.session, req.the_event, day_id)
    catalog.delete_day(req.session, req.the_event, day, user=require_user(req.actor))
    req.session.commit()
    return {"deleted": True}


# --- ticket types ---


@api_route(E + "/ticket-types", method="GET", access=Access.EVENT_READ, tag=TAG,
           summary="The event's ticket types", response=R.TicketTypeList)
def list_ticket_types(req: ApiRequest) -> dict[str, Any]:
    return {"ticket_types": [ticket_type_json(t) for t in req.the_event.ticket_types]}


@api_route(E + "/ticket-types", method="POST", access=Access.EVENT_ORGANIZER, tag=TAG,
           body=schemas.TicketTypeCreate, status=201, summary="Add a ticket type",
           response=R.TicketTypeEnvelope)
def add_ticket_type(req: ApiRequest) -> dict[str, Any]:
    body: schemas.TicketTypeCreate = req.body
    row = catalog.add_ticket_type(req.session, req.the_event, user=require_user(req.actor),
                                   values=body.model_dump())
    req.session.commit()
    return {"ticket_type": ticket_type_json(row)}


@api_route(E + "/ticket-types/<id:ticket_type_id>", method="PATCH",
           access=Access.EVENT_ORGANIZER, tag=TAG, body=schemas.TicketTypeUpdate,
           summary="Edit a ticket type (with expected_version, a stale edit is refused)",
           response=R.TicketTypeEnvelope)
def update_ticket_type(req: ApiRequest, ticket_type_id: int) -> dict[str, Any]:
    values = patch_values(req.body, schemas.TICKET_TYPE_NULLABLE)
    expected = values.pop("expected_version", None)
    row = catalog.get_ticket_type(req.session, req.the_event, ticket_type_id)
    row = catalog.update_ticket_type(req.session, req.the_event, row,
                                      user=require_user(req.actor), values=values,
                                      expected_version=expected)
    req.session.commit()
    return {"ticket_type": ticket_type_json(row)}


@api_route(E + "/ticket-types/<id:ticket_type_id>", method="DELETE",
           access=Access.EVENT_ORGANIZER, tag=TAG, summary="Remove an unsold ticket type",
           response=DeletedOut)
def delete_ticket_type(req: ApiRequest, ticket_type_id: int) -> dict[str, Any]:
    row = catalog.get_ticket_type(req.session, req.the_event, ticket_type_id)
    catalog.delete_ticket_type(req.session, req.the_event, row, user=require_user(req.actor))
    req.session.commit()
    return {"deleted": True}


# --- bundles ---


@api_route(E + "/bundles", method="GET", access=Access.EVENT_READ, tag=TAG,
           summary="The event's bundles", response=R.BundleList)
def list_bundles(req: ApiRequest) -> dict[str, Any]:
    return {"bundles": [bundle_json(b) for b in req.the_event.bundles]}


@api_route(E + "/bundles", method="POST", access=Access.EVENT_ORGANIZER, tag=TAG,
           body=schemas.BundleCreate, status=201, summary="Add a bundle of days",
           response=R.BundleEnvelope)
def add_bundle(req: ApiRequest) -> dict[str, Any]:
    body: schemas.BundleCreate = req.body
    row = catalog.add_bundle(req.session, req.the_event, user=require_user(req.actor),
                              values=body.model_dump())
    req.session.commit()
    return {"bundle": bundle_json(row)}


@api_route(E + "/bundles/<id:bundle_id>", method="PATCH", access=Access.EVENT_ORGANIZER,
           tag=TAG, body=schemas.BundleUpdate,
           summary="Edit a bundle (with expected_version, a stale edit is refused)",
           response=R.BundleEnvelope)
def update_bundle(req: ApiRequest, bundle_id: int) -> dict[str, Any]:
    values = patch_values(req.body, schemas.BUNDLE_NULLABLE)
    expected = values.pop("expected_version", None)
    row = catalog.get_bundle(req.session, req.the_event, bundle_id)
    row = catalog.update_bundle(req.session, req.the_event, row, user=require_user(req.actor),
                                 values=values, expected_version=expected)
    req.session.commit()
    return {"bundle": bundle_json(row)}


@api_route(E + "/bundles/<id:bundle_id>", method="DELETE", access=Access.EVENT_ORGANIZER,
           tag=TAG, summary="Remove an unsold bundle", response=DeletedOut)
def delete_bundle(req: ApiRequest, bundle_id: int) -> dict[str, Any]:
    row = catalog.get_bundle(req.session, req.the_event, bundle_id)
    catalog.delete_bundle(req.session, req.the_event, row, user=require_user(req.actor))
    req.session.commit()
    return {"deleted": True}
