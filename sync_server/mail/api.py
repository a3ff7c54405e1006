"""Re-sending an order's tickets e-mail: by its buyer, or by the event's organizer."""

from __future__ import annotations

import logging
from typing import Any

from sync_server.api import ApiRequest, Routes
from sync_server.auth.access import Access, require_user
from sync_server.errors import ApiError, Code, not_found
from sync_server.mail.after_commit import send_queued
from sync_server.mail.outbox import resend_order
from sync_server.orders import responses as r
from sync_server.orders import schemas
from sync_server.orders.models import Order, PaymentStatus

logger = logging.getLogger(__name__)

routes = Routes("mail")  # endpoints "mail_<view>"
api_route = routes.route


def _queue_again(req: ApiRequest, order: Order, to_email: str | None = None) -> dict[str, Any]:
    if order.payment_status is not PaymentStatus.COMPLETED:
        raise ApiError(409, Code.INVALID_STATE, "only a completed order has tickets to send")
    row = resend_order(req.session, order, to_email=to_email)
    req.session.commit()
    sent = send_queued([row.id])
    return {"outbox_id": row.id, "sent": bool(sent.sent)}


@api_route("/me/orders/resend-email", method="POST", access=Access.USER, tag="my tickets",
           body=schemas.OrderRef, status=202, summary="Send my order's tickets to me again",
           response=r.QueuedMailOut)
def resend_mine(req: ApiRequest) -> dict[str, Any]:
    body: schemas.OrderRef = req.body
    order = req.session.get(Order, body.order_id)
    if order is None or order.user_id != require_user(req.actor).id:
        raise not_found("order")
    return _queue_again(req, order)


@api_route("/events/<id:event_id>/orders/resend-email", method="POST",
           access=Access.EVENT_ORGANIZER, tag="orders", body=schemas.ResendBody, status=202,
           summary="Queue an order's ticket e-mail again (to the buyer or another address)",
           response=r.QueuedMailOut)
def resend_email(req: ApiRequest) -> dict[str, Any]:
    body: schemas.ResendBody = req.body
    order = req.session.get(Order, body.order_id)
    if order is None or order.event_id != req.the_event.id:
        raise not_found("order")
    return _queue_again(req, order, body.to_email)
