"""The box office's side of the server API (docs/box-office.md; paths in ``PATHS``).

``BoxApi`` is what the desk asks of the server; ``HttpBoxApi`` asks it over HTTP with the
device's token. Errors are ``BoxApiError`` whose ``code`` is the server's error code, or
``offline`` when no answer came (the desk then sells from stock).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from scanner_app.core.box_office import IssuedTicket, Sale, SaleRequest, StockTicket, Tier
from scanner_app.core.sync import SyncError, _Http, _utc_now

OFFLINE = "offline"
PATHS = {
    "catalogue": "/api/v1/box-office/catalogue",
    "hold": "/api/v1/box-office/holds",
    "confirm": "/api/v1/box-office/sales",
    "void": "/api/v1/box-office/sales/{sale_id}/void",
    "stock": "/api/v1/box-office/events/{event_id}/stock",
    "stock_return": "/api/v1/box-office/events/{event_id}/stock/return",
    "offline_sales": "/api/v1/box-office/offline-sales",
    "report": "/api/v1/box-office/report",
}


class BoxApiError(Exception):
    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def is_offline(exc: BoxApiError) -> bool:
    """No answer from the server (or one that says it is away): sell from stock."""
    return exc.code == OFFLINE or exc.status in (502, 503, 504)


@dataclass(frozen=True, slots=True)
class Hold:
    hold_id: str
    expires_at: str = ""


@dataclass(frozen=True, slots=True)
class ConfirmAnswer:
    order_number: str
    tickets: tuple[IssuedTicket, ...]


@dataclass(frozen=True, slots=True)
class UploadOutcome:
    outcome: str  # accepted | duplicate | rejected
    order_number: str = ""
    error: str | None = None


class BoxApi(Protocol):
    def catalogue(self) -> list[Tier]: ...

    def hold(self, request: SaleRequest) -> Hold: ...

    def confirm(self, hold: Hold | None, request: SaleRequest) -> ConfirmAnswer:
        """Confirm the sale; ``hold`` None: again, by the sale id (after a crash)."""
        ...

    def void(self, sale_id: str, reason: str) -> None: ...

    def take_stock(self, event_id: int, counts: Mapping[int, int]) -> list[StockTicket]: ...

    def return_stock(self, event_id: int, ticket_ids: Sequence[int]) -> None: ...

    def upload_offline_sale(self, request: SaleRequest, sale: Sale) -> UploadOutcome: ...


class HttpBoxApi:
    """``BoxApi`` over HTTP; ``client.base_url`` is the server, ``token`` the device's."""

    def __init__(self, client: httpx.Client, token: str | None) -> None:
        self._http = _Http(client, token, _utc_now)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            return self._http.call(method, path, body=body)
        except SyncError as exc:
            raise BoxApiError(exc.code, exc.message, exc.status) from exc

    def catalogue(self) -> list[Tier]:
        data = self._call("GET", PATHS["catalogue"])
        return [_tier(event, t) for event in data["events"] for t in event["ticket_types"]]

    def hold(self, request: SaleRequest) -> Hold:
        data = self._call("POST", PATHS["hold"], {
            "sale_id": request.sale_id, "event_id": request.event_id,
            "lines": [{"ticket_type_id": t, "quantity": q} for t, q in request.lines]})
        return Hold(str(data["hold_id"]), str(data.get("expires_at", "")))

    def confirm(self, hold: Hold | None, request: SaleRequest) -> ConfirmAnswer:
        body: dict[str, Any] = {
            "sale_id": request.sale_id, "seller_code": request.seller_code,
            "buyer_name": request.buyer_name, "buyer_email": request.buyer_email,
            "buyer_phone": request.buyer_phone, "cash_cents": request.tendered_cents}
        if hold is not None:
            body["hold_id"] = hold.hold_id
        data = self._call("POST", PATHS["confirm"], body)
        return ConfirmAnswer(str(data.get("order_number", "")),
                             tuple(_ticket(t) for t in data["tickets"]))

    def void(self, sale_id: str, reason: str) -> None:
        self._call("POST", PATHS["void"].format(sale_id=sale_id), {"reason": reason})

    def take_stock(self, event_id: int, counts: Mapping[int, int]) -> list[StockTicket]:
        data = self._call("POST", PATHS["stock"].format(event_id=event_id), {
            "lines": [{"ticket_type_id": t, "quantity": q} for t, q in counts.items()]})
        return [StockTicket(int(t["ticket_id"]), int(t["ticket_type_id"]), str(t["token"]),
                            str(t["ticket_number"])) for t in data["tickets"]]

    def return_stock(self, event_id: int, ticket_ids: Sequence[int]) -> None:
        self._call("POST", PATHS["stock_return"].format(event_id=event_id),
                   {"ticket_ids": list(ticket_ids)})

    def upload_offline_sale(self, request: SaleRequest, sale: Sale) -> UploadOutcome:
        data = self._call("POST", PATHS["offline_sales"], {"sales": [{
            "sale_id": request.sale_id, "event_id": request.event_id,
            "seller_code": request.seller_code, "sold_at": sale.sold_at.isoformat(),
            "buyer_name": request.buyer_name, "buyer_email": request.buyer_email,
            "buyer_phone": request.buyer_phone, "cash_cents": request.tendered_cents,
            "ticket_ids": [t.ticket_id for t in sale.tickets]}]})
        result = data["results"][0]
        return UploadOutcome(str(result["outcome"]), str(result.get("order_number") or ""),
                             result.get("error"))


def _tier(event: Mapping[str, Any], t: Mapping[str, Any]) -> Tier:
    return Tier(tier_id=int(t["ticket_type_id"]), event_id=int(event["event_id"]),
                night=str(event.get("name", "")), name=str(t["name"]),
                price_cents=int(t["price_cents"]),
                available=None if t.get("available") is None else int(t["available"]))


def _ticket(t: Mapping[str, Any]) -> IssuedTicket:
    return IssuedTicket(int(t["ticket_id"]), str(t["ticket_number"]), int(t["ticket_type_id"]),
                        str(t.get("ticket_type", "")), int(t.get("price_cents", 0)),
                        str(t["token"]))
