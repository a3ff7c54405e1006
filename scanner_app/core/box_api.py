"""The box office's side of the server API (``/api/v1/events/<id>/box-office/...``, written
down in docs/box-office.md).

``BoxApi`` is what the desk asks of the server; ``HttpBoxApi`` asks it over HTTP with the
device's token. Errors are ``BoxApiError`` whose ``code`` is the server's error code, or
``offline`` when no answer came (the desk then sells from stock).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import httpx

from scanner_app.core.box_office import IssuedTicket, Sale, SaleRequest, StockTicket, Tier
from scanner_app.core.sync import SyncError, _Http, _utc_now
from shared.vocabulary import format_time

OFFLINE = "offline"
ALL_NIGHTS = "All nights"


def event_path(event_id: int, rest: str) -> str:
    return f"/api/v1/events/{event_id}/box-office/{rest}"


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
class Seller:
    """The seller signed in at this desk (the server checked the code)."""

    event_id: int
    seller_id: int
    name: str
    email: str = ""
    remaining_tickets: int | None = None


@dataclass(frozen=True, slots=True)
class SellerMenu:
    seller: Seller
    tiers: tuple[Tier, ...]


@dataclass(frozen=True, slots=True)
class ServerSale:
    """The server's view of one sale: its id, status and (once COMPLETED) tickets."""

    sale_id: int
    status: str  # HELD | COMPLETED | RELEASED | REFUNDED
    order_number: str
    tickets: tuple[IssuedTicket, ...]


@dataclass(frozen=True, slots=True)
class UploadOutcome:
    client_sale_id: str
    outcome: str  # recorded | duplicate | rejected
    sale_id: int | None = None
    error: str | None = None


class BoxApi(Protocol):
    def sign_in(self, event_id: int, email: str, code: str) -> SellerMenu: ...

    def user_token(self, email: str, password: str) -> str:
        """A seller's own token (e-mail and password): a DOOR device sells with it."""
        ...

    def use_token(self, token: str | None) -> None:
        """Call with ``token`` (a seller's) instead of the device's; None: the device's."""
        ...

    def menu(self, event_id: int, seller_id: int) -> SellerMenu: ...

    def is_box_office(self, event_id: int) -> bool:
        """Whether this device may sell for the event (paired as BOX_OFFICE)."""
        ...

    def hold(self, seller_id: int, request: SaleRequest) -> ServerSale:
        """Place (or, for a client sale id already seen, read back) the sale's hold."""
        ...

    def confirm(self, event_id: int, seller_id: int, sale_id: int, code: str) -> ServerSale: ...

    def refund(self, event_id: int, sale_id: int, reason: str, code: str) -> None: ...

    def take_stock(self, event_id: int, seller_id: int, code: str,
                   counts: Mapping[int, int]) -> list[StockTicket]: ...

    def return_stock(self, event_id: int, seller_id: int, ticket_ids: Sequence[int]) -> int: ...

    def upload_offline_sales(self, event_id: int,
                             sales: Sequence[tuple[int, Sale]]) -> list[UploadOutcome]:
        """``(seller_id, sale)`` pairs; one outcome per sale, in order."""
        ...


class HttpBoxApi:
    """``BoxApi`` over HTTP; ``client.base_url`` is the server, ``token`` the device's."""

    def __init__(self, client: httpx.Client, token: str | None) -> None:
        self.client = client
        self.device_token = token
        self._http = _Http(client, token, _utc_now)

    def use_token(self, token: str | None) -> None:
        self._http.token = token or self.device_token

    def user_token(self, email: str, password: str) -> str:
        data = self._call("POST", "/api/v1/accounts/sign-in",
                          {"email": email.strip(), "password": password})
        return str(data["token"])

    def close(self) -> None:
        self.client.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None,
              params: dict[str, str | int] | None = None) -> Any:
        try:
            return self._http.call(method, path, body=body, params=params)
        except SyncError as exc:
            raise BoxApiError(exc.code, exc.message, exc.status) from exc

    def sign_in(self, event_id: int, email: str, code: str) -> SellerMenu:
        data = self._call("POST", event_path(event_id, "sign-in"),
                          {"email": email.strip(), "code": code.strip()})
        return _menu(event_id, data)

    def menu(self, event_id: int, seller_id: int) -> SellerMenu:
        data = self._call("GET", event_path(event_id, "me"), params={"seller_id": seller_id})
        return _menu(event_id, data)

    def is_box_office(self, event_id: int) -> bool:
        # GET E/stock answers only a BOX_OFFICE device of the event; a door gets 403.
        try:
            self._call("GET", event_path(event_id, "stock"))
        except BoxApiError as exc:
            if exc.code == "forbidden":
                return False
            if exc.status is None or exc.status >= 500:
                raise
        return True

    def hold(self, seller_id: int, request: SaleRequest) -> ServerSale:
        data = self._call("POST", event_path(request.event_id, "holds"), {
            "seller_id": seller_id, "client_sale_id": request.sale_id,
            "items": [{"ticket_type_id": t, "quantity": q} for t, q in request.lines],
            "buyer_name": request.buyer_name, "buyer_email": request.buyer_email or None,
            "buyer_phone": request.buyer_phone or None})
        return _sale(data["sale"])

    def confirm(self, event_id: int, seller_id: int, sale_id: int, code: str) -> ServerSale:
        data = self._call("POST", event_path(event_id, f"holds/{sale_id}/confirm"),
                          {"code": code, "seller_id": seller_id})
        return _sale(data["sale"])

    def refund(self, event_id: int, sale_id: int, reason: str, code: str) -> None:
        body = {"reason": reason, **({"code": code} if code else {})}
        self._call("POST", event_path(event_id, f"sales/{sale_id}/refund"), body)

    def take_stock(self, event_id: int, seller_id: int, code: str,
                   counts: Mapping[int, int]) -> list[StockTicket]:
        data = self._call("POST", event_path(event_id, "stock"), {
            "seller_id": seller_id, "code": code, "client_batch_id": str(uuid.uuid4()),
            "items": [{"ticket_type_id": t, "quantity": q} for t, q in counts.items()]})
        return [StockTicket(int(t["ticket_id"]), int(t["ticket_type_id"]), str(t["token"]),
                            str(t["ticket_number"])) for t in data["stock"]]

    def return_stock(self, event_id: int, seller_id: int, ticket_ids: Sequence[int]) -> int:
        data = self._call("POST", event_path(event_id, "stock/return"),
                          {"seller_id": seller_id, "ticket_ids": list(ticket_ids)})
        return int(data.get("returned", 0))

    def upload_offline_sales(self, event_id: int,
                             sales: Sequence[tuple[int, Sale]]) -> list[UploadOutcome]:
        body = {"sales": [{
            "client_sale_id": sale.sale_id, "seller_id": seller_id,
            "sold_at": format_time(sale.sold_at),
            "ticket_ids": [t.ticket_id for t in sale.tickets], "total_cents": sale.total_cents,
            "buyer_name": sale.buyer_name, "buyer_email": sale.buyer_email or None,
            "buyer_phone": sale.buyer_phone or None} for seller_id, sale in sales]}
        data = self._call("POST", event_path(event_id, "offline-sales"), body)
        return [UploadOutcome(str(r["client_sale_id"]), str(r["outcome"]),
                              None if r.get("sale_id") is None else int(r["sale_id"]),
                              r.get("error")) for r in data["results"]]


def night_of(valid_dates: Sequence[str] | None) -> str:
    """What the seller picks first: the night a tier is for (``Fri 5 Dec``), or all nights."""
    if not valid_dates or len(valid_dates) != 1:
        return ALL_NIGHTS
    day = date.fromisoformat(valid_dates[0])
    return f"{day:%a} {day.day} {day:%b}"


def _menu(event_id: int, data: Mapping[str, Any]) -> SellerMenu:
    s = data["seller"]
    seller = Seller(event_id, int(s["seller_id"]), str(s.get("name", "")),
                    str(s.get("email", "")),
                    None if s.get("remaining_tickets") is None else int(s["remaining_tickets"]))
    tiers = tuple(Tier(tier_id=int(t["ticket_type_id"]), event_id=event_id,
                       night=night_of(t.get("valid_dates")), name=str(t["name"]),
                       price_cents=int(t["price_cents"]),
                       available=None if t.get("available") is None else int(t["available"]))
                  for t in data.get("tiers", ()))
    return SellerMenu(seller, tiers)


def _sale(data: Mapping[str, Any]) -> ServerSale:
    return ServerSale(int(data["sale_id"]), str(data["status"]),
                      str(data.get("order_number") or ""),
                      tuple(_ticket(t) for t in data.get("tickets") or ()))


def _ticket(t: Mapping[str, Any]) -> IssuedTicket:
    return IssuedTicket(int(t["ticket_id"]), str(t["ticket_number"]), int(t["ticket_type_id"]),
                        str(t.get("ticket_type", "")), int(t.get("price_cents", 0)),
                        str(t["token"]))
