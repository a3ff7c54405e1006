"""``Desk``: the box office's service. Sign a seller in, sell online (hold, confirm) or offline
(stock tickets), keep every sale, reprint, void, total, and upload offline sales exactly once.

Rules (docs/box-office.md, "The desk app"): a sale has an id made here once (the server's
``client_sale_id``: stored once however often sent). Online, the hold is placed, the sale is
written CONFIRMING with the server's sale id, the code confirms it, and its tickets are stored
with COMPLETED in one transaction; a desk killed in between settles it at its next refresh with
the same id (``retry``): complete, or abandoned with no ticket, never half. Offline, ONE
transaction takes the seller's stock tickets and writes the sale, queued until the transaction
that stores the server's answer. Printing never stops a sale: it is complete before printing.
"""
from __future__ import annotations

import hmac
import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from scanner_app.core.box_api import (
    ALL_NIGHTS,
    BoxApi,
    BoxApiError,
    HttpBoxApi,
    Seller,
    ServerSale,
    is_offline,
)
from scanner_app.core.box_office import (
    IssuedTicket,
    Sale,
    SaleMode,
    SaleRefused,
    SaleRequest,
    SaleState,
    SellerTotals,
    Tier,
    check_code,
    pick_stock,
    tiers_by_id,
    totals,
)
from scanner_app.core.desk_rows import (
    request_of,
    sale_of,
    sale_row,
    stock_of,
    ticket_row,
    tier_of,
    tier_row,
    words,
)
from scanner_app.core.desk_upload import (
    RefreshReport,
    recover,
    return_stock,
    top_up,
    upload,
    void_sale,
)
from scanner_app.storage import sales as rows
from scanner_app.storage.store import DoorStore

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
STOCK_TARGET = 20  # pre-issued tickets kept per seller on a desk (the server's default cap)
_SELLER = "box_office_seller"
_KIND = "device_kind"


def utc_now() -> datetime:
    return datetime.now(UTC)


class Desk:
    """Implements ``scanner_app.core.ports.DeskService``. One call at a time (a lock)."""

    def __init__(self, store: DoorStore, api: BoxApi, *, clock: Clock = utc_now,
                 stock_target: int = STOCK_TARGET) -> None:
        self.store = store
        self.api = api
        self._clock = clock
        self._lock = threading.RLock()
        self.stock_target = stock_target
        # Set when the server did not answer; while set, sales come from stock at once (a
        # venue without internet may take seconds to fail a connect). A refresh that gets
        # through clears it.
        self.offline = False
        self._session: tuple[dict[str, Any] | None, str] | None = None
        self._menu_cache: dict[int, Tier] | None = None
        self._nights: dict[tuple[int, str], str] = {}
        self._resume()

    def close(self) -> None:
        self.store.close()

    # --- the seller --------------------------------------------------------------------------

    def sign_in(self, event_id: int, email: str, code: str, password: str = "") -> Seller:
        """The server checks the code; the seller and the menu are kept for the shift.

        A DOOR device may not sell with its own token: with the seller's ``password`` it
        sells with the seller's token instead (online only: stock is for box-office devices).
        """
        code = check_code(code)
        user_token = ""
        self.api.use_token(None)
        try:
            try:
                menu = self.api.sign_in(event_id, email, code)
            except BoxApiError as exc:
                if exc.code != "forbidden" or not password:
                    raise
                user_token = self.api.user_token(email, password)
                self.api.use_token(user_token)
                menu = self.api.sign_in(event_id, email, code)
        except BoxApiError as exc:
            self.api.use_token(None)
            if exc.code == "forbidden":
                raise SaleRefused(exc.code, words(exc) + " Or sign in with your password."
                                  ) from exc
            raise SaleRefused(exc.code, words(exc)) from exc
        seal = self.store.vault.seal
        self._session = self._menu_cache = None
        self.store.set_setting(_SELLER, json.dumps({
            "event_id": event_id, "seller_id": menu.seller.seller_id, "name": menu.seller.name,
            "email": menu.seller.email, "code": seal(code.encode()).decode(),
            "token": seal(user_token.encode()).decode() if user_token else ""}))
        with self.store.transaction() as s:
            rows.store_tiers(s, [tier_row(t) for t in menu.tiers])
        return menu.seller

    def seller(self) -> Seller | None:
        data = self._seller_data()
        if data is None:
            return None
        return Seller(int(data["event_id"]), int(data["seller_id"]), str(data["name"]),
                      str(data.get("email", "")))

    def sign_out(self) -> None:
        self._session = None
        self.store.set_setting(_SELLER, "")
        self.api.use_token(None)

    def _resume(self) -> None:
        """A seller who signed in with their password keeps selling with their token."""
        data = self._seller_data()
        if data and data.get("token"):
            self.api.use_token(self.store.vault.open(str(data["token"]).encode()).decode())

    def _seller_data(self) -> dict[str, Any] | None:
        if self._session is None:  # read once; sign_in and sign_out replace it
            text = self.store.setting(_SELLER)
            data = json.loads(text) if text else None
            code = "" if data is None else self.store.vault.open(
                str(data["code"]).encode()).decode()
            self._session = (data, code)
        return self._session[0]

    def code(self) -> str:
        """The signed-in seller's code of the day (checked by the server at sign-in)."""
        self._seller_data()
        return "" if self._session is None else self._session[1]

    def _menu(self) -> dict[int, Tier]:
        """The tiers by id, as last downloaded (kept in memory: a sale reads them)."""
        if self._menu_cache is None:
            self._menu_cache = tiers_by_id(self.tiers())
        return self._menu_cache

    def signed_in(self) -> Seller:
        """The seller signed in at this desk; ``SaleRefused`` when nobody is."""
        seller = self.seller()
        if seller is None:
            raise SaleRefused("not_signed_in", "Sign in with your e-mail and code first.")
        return seller

    def is_box_office(self) -> bool | None:
        """Whether this device was paired as a box office (its events' box-office routes
        answer it), asked of the server once and kept; None while that is not known."""
        known = self.store.setting(_KIND)
        if known:
            return known == "BOX_OFFICE"
        events = self.events()
        if not events:
            return None
        try:
            box_office = self.api.is_box_office(events[0][0])
        except BoxApiError:
            return None
        self.store.set_setting(_KIND, "BOX_OFFICE" if box_office else "DOOR")
        return box_office

    # --- what the seller sees ----------------------------------------------------------------

    def events(self) -> list[tuple[int, str]]:
        """The events (nights) this device serves, from its last sync: ``(id, name)``."""
        with self.store.transaction() as s:
            served = self.store.served_events(s)
        return [(e.event_id, e.name) for e in sorted(served.values(), key=lambda e: e.event_id)]

    def tiers(self) -> list[Tier]:
        with self.store.transaction() as s:
            return [tier_of(row, stock) for row, stock in rows.tiers(s)]

    def sales(self, since: datetime | None = None) -> list[Sale]:
        with self.store.transaction() as s:
            return [sale_of(s, r) for r in rows.sale_rows(s, since=since)]

    def sale(self, sale_id: str) -> Sale | None:
        with self.store.transaction() as s:
            row = rows.find_sale(s, sale_id)
            return None if row is None else sale_of(s, row)

    def totals(self, since: datetime | None = None) -> SellerTotals:
        return totals(self.sales(since))

    # --- selling -----------------------------------------------------------------------------

    def _night(self, event_id: int, night: str) -> str:
        """What the ticket says it is for: the event's name, and the night if only one."""
        key = (event_id, night)
        if key not in self._nights:
            with self.store.transaction() as s:
                event = self.store.served_events(s).get(event_id)
            name = event.name if event is not None else ""
            self._nights[key] = " · ".join(
                x for x in (name, "" if night == ALL_NIGHTS else night) if x)
        return self._nights[key]

    def sell(self, request: SaleRequest) -> Sale:
        """Make the sale, online if the server answers, else from stock. Raises ``SaleRefused``
        (in words) when it is not made; a returned sale is complete and stored."""
        with self._lock:
            seller = self.signed_in()
            if not hmac.compare_digest(request.seller_code, self.code()):
                raise SaleRefused("wrong_seller_code", "That is not your code of the day.")
            tiers = self._menu()
            if any(t not in tiers for t, _ in request.lines):
                raise SaleRefused("unknown_tier", "That ticket type is no longer sold here.")
            night = self._night(request.event_id, tiers[request.lines[0][0]].night)
            total = sum(tiers[t].price_cents * q for t, q in request.lines)
            if self.offline:
                return self._sell_offline(request, seller, tiers, night, total)
            try:
                held = self.api.hold(seller.seller_id, request)
            except BoxApiError as exc:
                if is_offline(exc):
                    self.offline = True
                    return self._sell_offline(request, seller, tiers, night, total)
                raise SaleRefused(exc.code, words(exc)) from exc
            with self.store.transaction() as s:
                row = sale_row(request, night, total, SaleMode.ONLINE, SaleState.CONFIRMING,
                                self._clock())
                row.seller_id, row.server_sale_id = seller.seller_id, held.sale_id
                rows.add_sale(s, row, ())
            return self._confirm(request.sale_id, request.event_id, seller.seller_id,
                                 held, request.seller_code)

    def _confirm(self, sale_id: str, event_id: int, seller_id: int, held: ServerSale,
                 code: str) -> Sale:
        answer = held
        if held.status == "HELD":
            try:
                answer = self.api.confirm(event_id, seller_id, held.sale_id, code)
            except BoxApiError as exc:
                if is_offline(exc):
                    raise SaleRefused("confirm_lost", (
                        "The network dropped while the sale was being confirmed. It is "
                        "confirmed (once) as soon as the server answers: press Retry.")) from exc
                if exc.code == "wrong_seller_code" or exc.code == "rate_limited":
                    raise SaleRefused(exc.code, words(exc)) from exc  # the hold stays
                answer = ServerSale(held.sale_id, "RELEASED", "", ())
        return self._settle(sale_id, answer)

    def retry(self, sale_id: str) -> Sale:
        """Settle a sale left CONFIRMING (network lost, or a crash): the same client sale id
        reads the same hold back; confirmed if held, done if completed, else abandoned."""
        with self._lock:
            with self.store.transaction() as s:
                row = rows.find_sale(s, sale_id)
                if row is None:
                    raise SaleRefused("not_found", "No such sale on this desk.")
                if row.state != SaleState.CONFIRMING.value:
                    return sale_of(s, row)
                request, seller_id = request_of(row), row.seller_id
            try:
                held = self.api.hold(seller_id, request)
            except BoxApiError as exc:
                if is_offline(exc):
                    raise SaleRefused("offline", "Still no network: try again shortly.") from exc
                held = ServerSale(0, "RELEASED", "", ())
            return self._confirm(sale_id, request.event_id, seller_id, held, request.seller_code)

    def _settle(self, sale_id: str, answer: ServerSale) -> Sale:
        """Store the server's answer: the tickets (complete), or none (abandoned)."""
        with self.store.transaction() as s:
            row = rows.sale_row(s, sale_id)
            if answer.status == "COMPLETED":
                rows.complete_sale(s, sale_id, answer.order_number,
                                   [ticket_row(sale_id, t) for t in answer.tickets])
            else:
                row.state = SaleState.ABANDONED.value
            row.seller_code = ""  # kept only while the sale may be confirmed again
            sale = sale_of(s, row)
        if sale.state is SaleState.ABANDONED:
            raise SaleRefused("hold_expired", "The sale was not confirmed in time and no "
                                              "ticket was issued: sell again.")
        return sale

    def _sell_offline(self, request: SaleRequest, seller: Seller, tiers: dict[int, Tier],
                      night: str, total: int) -> Sale:
        with self.store.transaction() as s:
            stock = [stock_of(r) for r in rows.free_stock(s, request.event_id)
                     if r.seller_id == seller.seller_id]
            picked = pick_stock(stock, request.lines, tiers)
            rows.take_stock(s, request.sale_id, [t.ticket_id for t in picked])
            row = sale_row(request, night, total, SaleMode.OFFLINE, SaleState.COMPLETED,
                            self._clock())
            row.uploaded, row.seller_id = False, seller.seller_id
            tickets = [IssuedTicket(t.ticket_id, t.ticket_number, t.tier_id,
                                    tiers[t.tier_id].name, tiers[t.tier_id].price_cents,
                                    t.token) for t in picked]
            rows.add_sale(s, row, [ticket_row(request.sale_id, t) for t in tickets])
        logger.info("offline sale %s: %d stock tickets", request.sale_id, len(tickets))
        return Sale(sale_id=row.sale_id, mode=SaleMode.OFFLINE, state=SaleState.COMPLETED,
                    sold_at=row.sold_at, event_id=row.event_id, night=night, order_number="",
                    total_cents=total, tendered_cents=request.tendered_cents,
                    tickets=tuple(sorted(tickets, key=lambda t: t.ticket_id)),
                    buyer_name=request.buyer_name, buyer_email=request.buyer_email,
                    buyer_phone=request.buyer_phone, uploaded=False)

    # --- after the sale ----------------------------------------------------------------------

    def note_printed(self, sale_id: str) -> None:
        with self.store.transaction() as s:
            rows.sale_row(s, sale_id).printed = True

    def void(self, sale_id: str, reason: str) -> Sale:
        """Void a completed sale (the cash goes back): refunded on the server now if it can be,
        else queued with the reason and sent by the next refresh."""
        with self._lock:
            return void_sale(self, sale_id, reason)

    # --- keeping current ---------------------------------------------------------------------

    def refresh(self) -> RefreshReport:
        """Upload offline sales and voids, settle CONFIRMING sales, download the menu, and top
        the seller's stock up. Never raises: an unreachable server is ``error``."""
        report = RefreshReport()
        with self._lock:
            try:
                upload(self, report)
                report.recovered = recover(self)
                seller = self.seller()
                if seller is not None:
                    menu = self.api.menu(seller.event_id, seller.seller_id)
                    with self.store.transaction() as s:
                        rows.store_tiers(s, [tier_row(t) for t in menu.tiers])
                    self._menu_cache = None
                    report.tiers = len(menu.tiers)
                    report.stock_added = top_up(self, seller, menu.tiers)
            except BoxApiError as exc:
                logger.info("box office refresh stopped: %s", exc)
                report.error = exc.message or exc.code
                self.offline = is_offline(exc)
                return report
            self.offline = False
        return report

    def return_stock(self) -> int:
        """End of night: hand the seller's unsold stock back to the server, then forget it."""
        with self._lock:
            return return_stock(self)


def open_desk(data_dir: Path, client_factory: Callable[[str], httpx.Client] | None = None,
              **kwargs: object) -> Desk | None:
    """The active paired server's desk (its own store on the door database), or None when
    this device is not paired."""
    store = DoorStore.open_active(data_dir)
    identity = store.identity()
    if identity is None or not identity.paired:
        store.close()
        return None
    factory = client_factory or _desk_client
    api = HttpBoxApi(factory(identity.server_url), store.device_token())
    return Desk(store, api, **kwargs)  # type: ignore[arg-type]


def _desk_client(server_url: str) -> httpx.Client:
    # A sale waits on these: connect quickly or sell from stock.
    return httpx.Client(base_url=server_url, timeout=httpx.Timeout(10.0, connect=2.0))
