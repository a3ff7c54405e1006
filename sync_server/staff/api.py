"""Staff and sellers over JSON (organizer only)."""

from __future__ import annotations

from typing import Any

from shared.vocabulary import format_optional_time as iso
from sync_server.api import ApiRequest, Routes
from sync_server.auth.access import Access, require_user
from sync_server.schemas import DeletedOut
from sync_server.staff import services
from sync_server.staff.models import AuthorizedSeller, EventStaff
from sync_server.staff.responses import (
    RevokedOut,
    SellerEnvelope,
    SellerList,
    StaffEnvelope,
    StaffList,
)
from sync_server.staff.schemas import SellerAdd, StaffAdd

routes = Routes("staff")  # endpoints "staff_<view>"
api_route = routes.route

TAG = "staff"
E = "/events/<id:event_id>"


def staff_json(row: EventStaff) -> dict[str, Any]:
    return {"id": row.id, "event_id": row.event_id, "user_id": row.user_id,
            "name": row.staff_name, "email": row.staff_email, "role": row.role.value,
            "access_expires_at": iso(row.access_expires_at), "active": row.active}


def seller_json(row: AuthorizedSeller) -> dict[str, Any]:
    return {"id": row.id, "event_id": row.event_id, "user_id": row.user_id,
            "name": row.seller_name, "email": row.seller_email,
            "allocated_tickets": row.allocated_tickets, "sold_tickets": row.sold_tickets,
            "commission_rate_bp": row.commission_rate_bp,
            "commission_earned_cents": row.commission_earned_cents,
            "status": row.status.value, "current_code": row.current_code}


@api_route(E + "/staff", method="GET", access=Access.EVENT_ORGANIZER, tag=TAG,
           summary="The event's door staff", response=StaffList)
def list_staff(req: ApiRequest) -> dict[str, Any]:
    return {"staff": [staff_json(s) for s in services.list_staff(req.session, req.the_event)]}


@api_route(E + "/staff", method="POST", access=Access.EVENT_ORGANIZER, tag=TAG, body=StaffAdd,
           status=201, summary="Add a user as door staff until their access expires",
           response=StaffEnvelope)
def add_staff(req: ApiRequest) -> dict[str, Any]:
    body: StaffAdd = req.body
    row = services.add_staff(req.session, req.the_event, by=require_user(req.actor),
                             email=body.email, access_expires_at=body.access_expires_at,
                             role=body.role, name=body.name)
    req.session.commit()
    return {"staff": staff_json(row)}


@api_route(E + "/staff/<id:staff_id>", method="DELETE", access=Access.EVENT_ORGANIZER, tag=TAG,
           summary="Remove a staff member", response=DeletedOut)
def remove_staff(req: ApiRequest, staff_id: int) -> dict[str, Any]:
    row = services.get_staff(req.session, req.the_event, staff_id)
    services.remove_staff(req.session, req.the_event, row, by=require_user(req.actor))
    req.session.commit()
    return {"deleted": True}


@api_route(E + "/sellers", method="GET", access=Access.EVENT_ORGANIZER, tag=TAG,
           summary="The event's authorized sellers", response=SellerList)
def list_sellers(req: ApiRequest) -> dict[str, Any]:
    return {"sellers": [seller_json(s)
                        for s in services.list_sellers(req.session, req.the_event)]}


@api_route(E + "/sellers", method="POST", access=Access.EVENT_ORGANIZER, tag=TAG, body=SellerAdd,
           status=201, summary="Authorize a user to sell, with an allocation and commission",
           response=SellerEnvelope)
def add_seller(req: ApiRequest) -> dict[str, Any]:
    body: SellerAdd = req.body
    row = services.add_seller(req.session, req.the_event, by=require_user(req.actor),
                              email=body.email, allocated_tickets=body.allocated_tickets,
                              commission_rate_bp=body.commission_rate_bp, name=body.name)
    req.session.commit()
    return {"seller": seller_json(row)}


@api_route(E + "/sellers/<id:seller_id>", method="DELETE", access=Access.EVENT_ORGANIZER,
           tag=TAG, summary="Revoke a seller (their sales stay on record)", response=RevokedOut)
def remove_seller(req: ApiRequest, seller_id: int) -> dict[str, Any]:
    row = services.get_seller(req.session, req.the_event, seller_id)
    services.remove_seller(req.session, req.the_event, row, by=require_user(req.actor))
    req.session.commit()
    return {"revoked": True}
