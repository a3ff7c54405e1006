"""The waiting list over JSON: join, leave, my place and offers, accept, decline.

Everything here is the signed-in person's own: an entry that is not theirs is "not found".
Error codes: ``already_waiting``, ``not_sold_out``, ``no_waiting_list``, ``no_offer``,
``offer_expired``, ``offer_used`` (409), ``rate_limited`` (429: more than
``queue_joins_per_hour`` joins). The rules are the service's (``queue.services``).
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import current_app

from sync_server.api import ApiRequest, Routes
from sync_server.auth.access import Access, require_user
from sync_server.config import Config
from sync_server.db import utcnow
from sync_server.errors import ApiError, not_found
from sync_server.events.models import Event, TicketType
from sync_server.orders.models import PaymentMethod, PaymentStatus
from sync_server.queue import services
from sync_server.queue.models import WaitingListEntry, WaitingStatus
from sync_server.queue.reactions import settings
from sync_server.queue.shapes import (
    AcceptOut,
    EntryEnvelopeOut,
    EntryRef,
    JoinBody,
    MyQueueOut,
    entry_json,
)
from sync_server.signals import card_order_placed

routes = Routes("queue")  # endpoints "queue_<view>"
api_route = routes.route

logger = logging.getLogger(__name__)
TAG = "waiting list"


def _my_entry(req: ApiRequest, entry_id: int) -> WaitingListEntry:
    return services.own_entry(req.session, require_user(req.actor), entry_id)


@api_route("/queue/join", method="POST", access=Access.USER, tag=TAG, body=JoinBody,
           status=201, summary="Join the waiting list of a sold-out ticket type",
           response=EntryEnvelopeOut)
def join(req: ApiRequest) -> dict[str, Any]:
    body: JoinBody = req.body
    user = require_user(req.actor)
    event = req.session.get(Event, body.event_id)
    ticket_type = req.session.get(TicketType, body.ticket_type_id)
    if event is None or ticket_type is None or ticket_type.event_id != event.id:
        raise not_found("ticket type")
    config: Config = current_app.extensions["sync_config"]
    entry = services.join(req.session, user=user, event=event, ticket_type=ticket_type,
                          now=utcnow(), joins_per_hour=config.queue_joins_per_hour)
    req.session.commit()
    return {"entry": entry_json(req.session, entry)}


@api_route("/queue/leave", method="POST", access=Access.USER, tag=TAG, body=EntryRef,
           summary="Leave the waiting list (an offer held is declined)",
           response=EntryEnvelopeOut)
def leave(req: ApiRequest) -> dict[str, Any]:
    entry = _my_entry(req, req.body.entry_id)
    services.leave(req.session, entry, now=utcnow())
    req.session.commit()
    return {"entry": entry_json(req.session, entry)}


@api_route("/me/queue", method="GET", access=Access.USER, tag=TAG,
           summary="My places in line and my offers (live entries first, then the last ended)",
           response=MyQueueOut)
def my_queue(req: ApiRequest) -> dict[str, Any]:
    user = require_user(req.actor)
    live = sa.case((WaitingListEntry.status.in_(
        [WaitingStatus.WAITING, WaitingStatus.OFFERED]), 0), else_=1)
    entries = req.session.scalars(
        sa.select(WaitingListEntry).where(WaitingListEntry.user_id == user.id)
        .order_by(live, WaitingListEntry.id.desc()).limit(50))
    return {"entries": [entry_json(req.session, e) for e in entries]}


@api_route("/queue/accept", method="POST", access=Access.USER, tag=TAG, body=EntryRef,
           summary="Buy within my offer: a free ticket is issued now; a paid one goes to "
                   "the payment page (the ticket stays reserved until the offer ends)",
           response=AcceptOut)
def accept(req: ApiRequest) -> dict[str, Any]:
    entry = _my_entry(req, req.body.entry_id)
    outcome = services.accept(req.session, entry, settings=settings(), now=utcnow())
    order = outcome.order
    req.session.commit()
    reply: dict[str, Any] = {"order_id": order.id, "order_number": order.order_number,
                             "order_status": order.payment_status.value}
    if order.payment_status is PaymentStatus.PENDING and \
            order.payment_method is PaymentMethod.STRIPE:
        for _receiver, url in card_order_placed.send(order, session=req.session):
            reply["payment_url"] = url
        req.session.commit()
        if "payment_url" not in reply:
            raise ApiError(503, "payments_not_configured",
                           "card payments are not available on this server; the ticket stays "
                           "reserved until the offer ends")
    req.session.refresh(entry)
    reply["entry"] = entry_json(req.session, entry)
    return reply


@api_route("/queue/decline", method="POST", access=Access.USER, tag=TAG, body=EntryRef,
           summary="Give my offer up: the ticket goes to the next person at once",
           response=EntryEnvelopeOut)
def decline(req: ApiRequest) -> dict[str, Any]:
    entry = _my_entry(req, req.body.entry_id)
    services.decline(req.session, entry, now=utcnow())
    req.session.commit()
    return {"entry": entry_json(req.session, entry)}
