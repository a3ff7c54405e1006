"""The box-office API: sign-in with the code of the day, cash holds, confirm, refund, offline
stock and sales, reports (docs/box-office.md). Callers: a BOX_OFFICE device serving the event
(naming the seller), or a signed-in seller (themselves) or organizer (naming the seller)."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify

from sync_server.api import ApiRequest, Routes
from sync_server.auth.access import Access, require_user
from sync_server.box_office import codes, reports, services, stock, views
from sync_server.box_office.models import BoxOfficeSale
from sync_server.box_office.responses import (
    BoxCodesOut,
    BoxOfflineResults,
    BoxReportOut,
    BoxReturnedOut,
    BoxRevokedStockOut,
    BoxSaleEnvelope,
    BoxSaleList,
    BoxStockOut,
    DeskSellerOut,
    DeskSignInOut,
)
from sync_server.box_office.schemas import (
    BoxConfirmBody,
    BoxHoldBody,
    BoxOfflineSalesBody,
    BoxRefundBody,
    BoxReturnBody,
    BoxRevokeStockBody,
    BoxSalesQuery,
    BoxSellerQuery,
    BoxStockBody,
    DeskSignInBody,
)
from sync_server.config import Config
from sync_server.db import utcnow
from sync_server.errors import ApiError, Code, not_found, validation_error
from sync_server.orders.services import PurchaseSettings, WantedLine
from sync_server.staff.models import AuthorizedSeller
from sync_server.staff.services import event_roles, get_seller, list_sellers

routes = Routes("box_office")  # endpoints "box_office_<view>"
api_route = routes.route

TAG = "box-office"
E = "/events/<id:event_id>/box-office"


def box_settings() -> services.BoxOfficeSettings:
    config: Config = current_app.extensions["sync_config"]
    return services.BoxOfficeSettings(
        purchase=PurchaseSettings.from_config(config),
        hold_minutes=config.box_office_hold_minutes, stock_max=config.box_office_stock_max,
        code_attempts=config.box_office_code_attempts,
        code_window_seconds=config.box_office_code_window_seconds)


def _seller_of(req: ApiRequest, seller_id: int | None) -> AuthorizedSeller:
    """The seller this call acts for: named by a device or an organizer; a seller is
    themselves."""
    event = req.the_event
    if req.actor.device is not None:
        if seller_id is None:
            raise validation_error({"seller_id": ["name the seller who sells at this device"]})
        return get_seller(req.session, event, seller_id)
    user = require_user(req.actor)
    if event_roles(req.session, user, event).organizer:
        if seller_id is None:
            raise validation_error({"seller_id": ["name the seller"]})
        return get_seller(req.session, event, seller_id)
    own = next((s for s in list_sellers(req.session, event) if s.user_id == user.id), None)
    if own is None:  # pragma: no cover - access let an ACTIVE seller of the event in
        raise not_found("seller")
    if seller_id is not None and seller_id != own.id:
        raise ApiError(403, Code.FORBIDDEN, "a seller acts only for themselves")
    return own


def _caller(req: ApiRequest) -> str:
    if req.actor.device is not None:
        return f"device:{req.actor.device.id}"
    return f"user:{require_user(req.actor).id}"


def _device_id(req: ApiRequest) -> int | None:
    return req.actor.device.id if req.actor.device is not None else None


def _check_code(req: ApiRequest, seller: AuthorizedSeller, code: str) -> None:
    settings = box_settings()
    codes.verify_code(
        req.session, seller=seller, event=req.the_event, code=code, caller=_caller(req),
        master_secret=settings.purchase.master_secret, attempts=settings.code_attempts,
        window_seconds=settings.code_window_seconds, user=req.actor.user,
        device=req.actor.device)


def _sale_of(req: ApiRequest, sale_id: int, seller: AuthorizedSeller | None) -> BoxOfficeSale:
    sale = services.find_sale(req.session, req.the_event, sale_id)
    if seller is not None and sale.seller_id != seller.id:
        raise not_found("sale")
    return sale


def _wanted(items: Any) -> list[WantedLine]:
    return [WantedLine(ticket_type_id=i.ticket_type_id, bundle_id=None, quantity=i.quantity)
            for i in items]


def _again(reply: dict[str, Any]) -> Response:
    """The answer to a retry (the same client id): 200, not 201."""
    response = jsonify(reply)
    response.status_code = 200
    return response


def _sale_reply(req: ApiRequest, sale: BoxOfficeSale) -> dict[str, Any]:
    return {"sale": views.sale_json(req.session, req.the_event, sale)}


@api_route(E + "/sign-in", method="POST", access=Access.EVENT_BOX_OFFICE, tag=TAG,
           body=DeskSignInBody, summary="A seller signs in at a desk with their code of the day",
           response=DeskSignInOut)
def sign_in(req: ApiRequest) -> dict[str, Any]:
    body: DeskSignInBody = req.body
    event = req.the_event
    seller_id = body.seller_id
    if seller_id is None and body.email is not None:
        match = next((s for s in list_sellers(req.session, event)
                      if s.seller_email == body.email), None)
        if match is None:
            raise not_found("seller")
        seller_id = match.id
    if seller_id is None and req.actor.device is not None:
        raise validation_error({"email": ["give the seller's e-mail or seller_id"]})
    seller = _seller_of(req, seller_id)
    services.check_seller_active(seller)
    _check_code(req, seller, body.code)
    services.check_event_sells(event, utcnow())
    req.session.commit()
    return {"seller": views.seller_views(req.session, [seller])[0],
            "tiers": views.tiers(req.session, event),
            "hold_minutes": box_settings().hold_minutes, "time_zone": event.timezone,
            "server_time": utcnow().isoformat().replace("+00:00", "Z")}


@api_route(E + "/me", method="GET", access=Access.EVENT_BOX_OFFICE, tag=TAG, query=BoxSellerQuery,
           summary="A seller's totals and sale menu (their own code when they ask themselves)",
           response=DeskSellerOut)
def me(req: ApiRequest) -> dict[str, Any]:
    seller = _seller_of(req, req.query.seller_id)
    code = None
    if req.actor.user is not None and req.actor.user.id == seller.user_id:
        code = codes.code_of_the_day(req.session, seller, req.the_event,
                                     master_secret=box_settings().purchase.master_secret)
        req.session.commit()
    return {"seller": views.seller_views(req.session, [seller])[0],
            "tiers": views.tiers(req.session, req.the_event), "code": code,
            "hold_minutes": box_settings().hold_minutes}


@api_route(E + "/holds", method="POST", access=Access.EVENT_BOX_OFFICE, tag=TAG, body=BoxHoldBody,
           status=201, summary="Hold tickets for a cash sale (within the seller's allocation)",
           response=BoxSaleEnvelope)
def hold(req: ApiRequest) -> Any:
    body: BoxHoldBody = req.body
    seller = _seller_of(req, body.seller_id)
    sale, created = services.place_hold(
        req.session, event=req.the_event, seller=seller, device_id=_device_id(req),
        client_sale_id=body.client_sale_id, wanted=_wanted(body.items),
        buyer_name=body.buyer_name, buyer_email=body.buyer_email or "",
        buyer_phone=body.buyer_phone, settings=box_settings())
    req.session.commit()
    reply = _sale_reply(req, sale)
    return reply if created else _again(reply)


@api_route(E + "/holds/<id:sale_id>/confirm", method="POST", access=Access.EVENT_BOX_OFFICE,
           tag=TAG, body=BoxConfirmBody, response=BoxSaleEnvelope,
           summary="Confirm a held cash sale with the seller's code: the tickets are issued")
def confirm(req: ApiRequest, sale_id: int) -> dict[str, Any]:
    body: BoxConfirmBody = req.body
    sale = services.find_sale(req.session, req.the_event, sale_id)
    seller = _seller_of(req, body.seller_id if body.seller_id is not None else
                        (sale.seller_id if req.actor.device is not None else None))
    if sale.seller_id != seller.id:
        raise not_found("sale")
    _check_code(req, seller, body.code)
    services.confirm_sale(req.session, sale=sale, seller=seller, settings=box_settings())
    req.session.commit()
    return _sale_reply(req, sale)


@api_route(E + "/holds/<id:sale_id>", method="DELETE", access=Access.EVENT_BOX_OFFICE, tag=TAG,
           query=BoxSellerQuery, summary="Drop a held cash sale (nothing sold)",
           response=BoxSaleEnvelope)
def drop(req: ApiRequest, sale_id: int) -> dict[str, Any]:
    sale = services.find_sale(req.session, req.the_event, sale_id)
    seller = _seller_of(req, req.query.seller_id if req.query.seller_id is not None else
                        (sale.seller_id if req.actor.device is not None else None))
    if sale.seller_id != seller.id:
        raise not_found("sale")
    services.drop_hold(req.session, sale=sale, seller=seller, by_user=req.actor.user)
    req.session.commit()
    return _sale_reply(req, sale)


def _sales_seller(req: ApiRequest, seller_id: int | None) -> int | None:
    """None: all sellers (the organizer without a seller_id)."""
    user = req.actor.user
    if (user is not None and seller_id is None
            and event_roles(req.session, user, req.the_event).organizer):
        return None
    return _seller_of(req, seller_id).id


@api_route(E + "/sales", method="GET", access=Access.EVENT_BOX_OFFICE, tag=TAG,
           query=BoxSalesQuery, summary="Cash sales, newest first", response=BoxSaleList)
def sales(req: ApiRequest) -> dict[str, Any]:
    seller_id = _sales_seller(req, req.query.seller_id)
    rows = views.list_sales(req.session, req.the_event, seller_id=seller_id,
                            status=req.query.status)
    return {"sales": [views.sale_json(req.session, req.the_event, s) for s in rows]}


@api_route(E + "/sales/<id:sale_id>", method="GET", access=Access.EVENT_BOX_OFFICE, tag=TAG,
           query=BoxSellerQuery, summary="One cash sale with its tickets (reprint)",
           response=BoxSaleEnvelope)
def sale(req: ApiRequest, sale_id: int) -> dict[str, Any]:
    row = services.find_sale(req.session, req.the_event, sale_id)
    seller_id = _sales_seller(req, req.query.seller_id if req.query.seller_id is not None else
                              (row.seller_id if req.actor.device is not None else None))
    if seller_id is not None and row.seller_id != seller_id:
        raise not_found("sale")
    return _sale_reply(req, row)


@api_route(E + "/sales/<id:sale_id>/refund", method="POST", access=Access.EVENT_BOX_OFFICE,
           tag=TAG, body=BoxRefundBody, response=BoxSaleEnvelope,
           summary="Refund or void a cash sale, with a reason: its tickets are revoked")
def refund(req: ApiRequest, sale_id: int) -> dict[str, Any]:
    body: BoxRefundBody = req.body
    row = services.find_sale(req.session, req.the_event, sale_id)
    seller = req.session.get(AuthorizedSeller, row.seller_id)
    assert seller is not None
    if req.actor.device is not None:
        if body.code is None:
            raise validation_error({"code": ["a desk refund needs the seller's code"]})
        _check_code(req, seller, body.code)
    else:
        user = require_user(req.actor)
        if not event_roles(req.session, user, req.the_event).organizer \
                and seller.user_id != user.id:
            raise not_found("sale")
    services.refund_sale(req.session, sale=row, seller=seller, by_user=req.actor.user,
                         device_id=_device_id(req), reason=body.reason)
    req.session.commit()
    return _sale_reply(req, row)


def _device(req: ApiRequest) -> int:
    device_id = _device_id(req)
    assert device_id is not None  # BOX_OFFICE_DEVICE routes
    return device_id


@api_route(E + "/stock", method="POST", access=Access.BOX_OFFICE_DEVICE, tag=TAG,
           body=BoxStockBody, status=201, response=BoxStockOut,
           summary="Download offline stock: pre-issued signed tickets from the allocation")
def download_stock(req: ApiRequest) -> Any:
    body: BoxStockBody = req.body
    seller = _seller_of(req, body.seller_id)
    _check_code(req, seller, body.code)
    rows, created = stock.download(
        req.session, event=req.the_event, seller=seller, device_id=_device(req),
        batch_id=body.client_batch_id, wanted=_wanted(body.items), settings=box_settings())
    req.session.commit()
    reply = {"stock": [views.stock_json(req.session, req.the_event, r) for r in rows],
             "batch_id": body.client_batch_id}
    return reply if created else _again(reply)


@api_route(E + "/stock", method="GET", access=Access.BOX_OFFICE_DEVICE, tag=TAG,
           query=BoxSellerQuery, summary="This device's unsold stock", response=BoxStockOut)
def list_stock(req: ApiRequest) -> dict[str, Any]:
    rows = stock.stock_rows(req.session, event=req.the_event, seller_id=req.query.seller_id,
                            device_id=_device(req))
    return {"stock": [views.stock_json(req.session, req.the_event, r) for r in rows]}


@api_route(E + "/offline-sales", method="POST", access=Access.BOX_OFFICE_DEVICE, tag=TAG,
           body=BoxOfflineSalesBody, response=BoxOfflineResults,
           summary="Upload sales made offline from stock (exactly once per client_sale_id)")
def offline_sales(req: ApiRequest) -> dict[str, Any]:
    body: BoxOfflineSalesBody = req.body
    results = []
    for item in body.sales:
        seller = get_seller(req.session, req.the_event, item.seller_id)
        result = stock.record_offline_sale(
            req.session, event=req.the_event, seller=seller, device_id=_device(req),
            sale=stock.OfflineSale(
                client_sale_id=item.client_sale_id, seller_id=item.seller_id,
                sold_at=item.sold_at, ticket_ids=tuple(item.ticket_ids),
                total_cents=item.total_cents, buyer_name=item.buyer_name,
                buyer_email=item.buyer_email or "", buyer_phone=item.buyer_phone))
        req.session.commit()  # each sale on its own: one bad sale never loses the others
        results.append({"client_sale_id": result.client_sale_id, "outcome": result.outcome,
                        "sale_id": result.sale_id, "error": result.error})
    return {"results": results}


@api_route(E + "/stock/return", method="POST", access=Access.BOX_OFFICE_DEVICE, tag=TAG,
           body=BoxReturnBody, response=BoxReturnedOut,
           summary="Return unsold stock at the end of the night (tickets revoked)")
def return_stock(req: ApiRequest) -> dict[str, Any]:
    body: BoxReturnBody = req.body
    seller = _seller_of(req, body.seller_id)
    returned = stock.return_stock(req.session, event=req.the_event, seller=seller,
                                  device_id=_device(req), ticket_ids=body.ticket_ids)
    req.session.commit()
    left = stock.stock_rows(req.session, event=req.the_event, seller_id=seller.id,
                            device_id=_device(req))
    return {"returned": returned,
            "stock": [views.stock_json(req.session, req.the_event, r) for r in left]}


@api_route(E + "/stock/revoke", method="POST", access=Access.EVENT_ORGANIZER, tag=TAG,
           body=BoxRevokeStockBody, response=BoxRevokedStockOut,
           summary="Revoke unsold stock (a lost or stolen device): the doors refuse it")
def revoke_stock(req: ApiRequest) -> dict[str, Any]:
    body: BoxRevokeStockBody = req.body
    revoked = stock.revoke_stock(req.session, event=req.the_event, by_user=require_user(req.actor),
                                 device_id=body.device_id, seller_id=body.seller_id)
    req.session.commit()
    return {"revoked": revoked}


def _report(req: ApiRequest) -> dict[str, Any]:
    seller_id = _sales_seller(req, req.query.seller_id)
    event = req.the_event
    sellers = [s for s in list_sellers(req.session, event)
               if seller_id is None or s.id == seller_id]
    rows = views.seller_views(req.session, sellers)
    return {"event_id": event.id, "date": codes.local_date(event).isoformat(),
            "sellers": rows, "totals": views.totals(rows)}


@api_route(E + "/report", method="GET", access=Access.EVENT_BOX_OFFICE, tag=TAG,
           query=BoxSellerQuery, summary="Sales by seller: cash owed, commission, refunds",
           response=BoxReportOut)
def report(req: ApiRequest) -> dict[str, Any]:
    return _report(req)


def _download(body: bytes | str, mimetype: str, name: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@api_route(E + "/report.csv", method="GET", access=Access.EVENT_BOX_OFFICE, tag=TAG,
           query=BoxSellerQuery, produces="text/csv",
           summary="The end-of-night reconciliation as CSV")
def report_csv(req: ApiRequest) -> Response:
    data = _report(req)
    return _download(reports.report_csv(data["sellers"], data["totals"]), "text/csv",
                     f"box-office-{data['event_id']}-{data['date']}.csv")


@api_route(E + "/report.pdf", method="GET", access=Access.EVENT_BOX_OFFICE, tag=TAG,
           query=BoxSellerQuery, produces="application/pdf",
           summary="The end-of-night reconciliation as a printable PDF")
def report_pdf(req: ApiRequest) -> Response:
    data = _report(req)
    pdf = reports.report_pdf(event_name=req.the_event.name, date=data["date"],
                             sellers=data["sellers"], totals=data["totals"])
    return _download(pdf, "application/pdf",
                     f"box-office-{data['event_id']}-{data['date']}.pdf")


@api_route(E + "/codes", method="GET", access=Access.EVENT_ORGANIZER, tag=TAG,
           summary="Every seller's code of the day (the organizer hands them out)",
           response=BoxCodesOut)
def codes_of_the_day(req: ApiRequest) -> dict[str, Any]:
    event = req.the_event
    secret = box_settings().purchase.master_secret
    rows = [{"seller_id": s.id, "name": s.seller_name,
             "code": codes.code_of_the_day(req.session, s, event, master_secret=secret)}
            for s in list_sellers(req.session, event)]
    req.session.commit()
    return {"date": codes.local_date(event).isoformat(), "codes": rows}
