"""``Desk``: the box office's service. Sign a seller in, sell online (hold, confirm) or offline
(stock tickets), keep every sale, reprint, void, total, and upload offline sales exactly once.

Rules (docs/box-office.md, "The desk app"):

- a sale has an id made here once (``SaleRequest.sale_id``, the server's ``client_sale_id``);
  the server stores a sale once per id, however often it is sent;
- online: the hold is placed, the sale is written CONFIRMING with the server's sale id, the
  code confirms it, and the tickets are stored with the COMPLETED state in one transaction. A
  desk killed in between finds the CONFIRMING sale at its next refresh and asks again with the
  same id (``retry``): the sale ends up complete or abandoned (no ticket issued), never half;
- offline (no answer when the hold is placed): ONE transaction takes the seller's stock
  tickets, writes the sale and its tickets, and queues it; it leaves the queue only in the
  transaction that stores the server's answer for it. The code is checked against the one the
  server accepted at sign-in (kept sealed in the encrypted database);
- printing never stops a sale: the sale is complete before anything is printed.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.orm import Session

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
    StockTicket,
    Tier,
    check_code,
    pick_stock,
    tiers_by_id,
    totals,
)
from scanner_app.storage import models as m
from scanner_app.storage import sales as rows
from scanner_app.storage.store import DoorStore

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
STOCK_TARGET = 20  # pre-issued tickets kept per seller on a desk (the server's default cap)
_SELLER = "box_office_seller"
_KIND = "device_kind"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class RefreshReport:
    uploaded: int = 0  # offline sales the server stored now
    duplicates: int = 0  # offline sales it had already (a re-send): nothing changed
    rejected: int = 0  # offline sales it refused (the sale keeps the error)
    voids_sent: int = 0
    recovered: int = 0  # CONFIRMING sales settled (completed or abandoned)
    tiers: int = 0
    stock_added: int = 0
    error: str | None = None  # the server could not be reached or refused: offline

    def to_json(self) -> dict[str, object]:
        return {f: getattr(self, f) for f in self.__slots__}


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
                raise SaleRefused(exc.code, _words(exc) + " Or sign in with your password."
                                  ) from exc
            raise SaleRefused(exc.code, _words(exc)) from exc
        seal = self.store.vault.seal
        self._session = self._menu_cache = None
        self.store.set_setting(_SELLER, json.dumps({
            "event_id": event_id, "seller_id": menu.seller.seller_id, "name": menu.seller.name,
            "email": menu.seller.email, "code": seal(code.encode()).decode(),
            "token": seal(user_token.encode()).decode() if user_token else ""}))
        with self.store.transaction() as s:
            rows.store_tiers(s, [_tier_row(t) for t in menu.tiers])
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

    def _code(self) -> str:
        self._seller_data()
        return "" if self._session is None else self._session[1]

    def _menu(self) -> dict[int, Tier]:
        """The tiers by id, as last downloaded (kept in memory: a sale reads them)."""
        if self._menu_cache is None:
            self._menu_cache = tiers_by_id(self.tiers())
        return self._menu_cache

    def _signed_in(self) -> Seller:
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
            return [_tier(row, stock) for row, stock in rows.tiers(s)]

    def sales(self, since: datetime | None = None) -> list[Sale]:
        with self.store.transaction() as s:
            return [_sale(s, r) for r in rows.sale_rows(s, since=since)]

    def sale(self, sale_id: str) -> Sale | None:
        with self.store.transaction() as s:
            row = rows.find_sale(s, sale_id)
            return None if row is None else _sale(s, row)

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
            seller = self._signed_in()
            if not hmac.compare_digest(request.seller_code, self._code()):
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
                raise SaleRefused(exc.code, _words(exc)) from exc
            with self.store.transaction() as s:
                row = _sale_row(request, night, total, SaleMode.ONLINE, SaleState.CONFIRMING,
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
                    raise SaleRefused(exc.code, _words(exc)) from exc  # the hold stays
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
                    return _sale(s, row)
                request, seller_id = _request_of(row), row.seller_id
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
                                   [_ticket_row(sale_id, t) for t in answer.tickets])
            else:
                row.state = SaleState.ABANDONED.value
            row.seller_code = ""  # kept only while the sale may be confirmed again
            sale = _sale(s, row)
        if sale.state is SaleState.ABANDONED:
            raise SaleRefused("hold_expired", "The sale was not confirmed in time and no "
                                              "ticket was issued: sell again.")
        return sale

    def _sell_offline(self, request: SaleRequest, seller: Seller, tiers: dict[int, Tier],
                      night: str, total: int) -> Sale:
        with self.store.transaction() as s:
            stock = [_stock(r) for r in rows.free_stock(s, request.event_id)
                     if r.seller_id == seller.seller_id]
            picked = pick_stock(stock, request.lines, tiers)
            rows.take_stock(s, request.sale_id, [t.ticket_id for t in picked])
            row = _sale_row(request, night, total, SaleMode.OFFLINE, SaleState.COMPLETED,
                            self._clock())
            row.uploaded, row.seller_id = False, seller.seller_id
            tickets = [IssuedTicket(t.ticket_id, t.ticket_number, t.tier_id,
                                    tiers[t.tier_id].name, tiers[t.tier_id].price_cents,
                                    t.token) for t in picked]
            rows.add_sale(s, row, [_ticket_row(request.sale_id, t) for t in tickets])
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
        reason = " ".join(reason.split())[:500]
        if not reason:
            raise SaleRefused("reason_required", "Say why the sale is voided.")
        with self._lock:
            with self.store.transaction() as s:
                row = rows.find_sale(s, sale_id)
                if row is None:
                    raise SaleRefused("not_found", "No such sale on this desk.")
                if row.state != SaleState.COMPLETED.value:
                    raise SaleRefused("not_completed", "Only a completed sale can be voided.")
                event_id, server_id = row.event_id, row.server_sale_id
            pending = True
            if server_id is not None:
                try:
                    self.api.refund(event_id, server_id, reason, self._code())
                    pending = False
                except BoxApiError as exc:
                    if not is_offline(exc):
                        raise SaleRefused(exc.code, _words(exc)) from exc
            with self.store.transaction() as s:
                row = rows.sale_row(s, sale_id)
                row.state, row.void_reason, row.void_pending = (
                    SaleState.VOIDED.value, reason, pending)
                return _sale(s, row)

    # --- keeping current ---------------------------------------------------------------------

    def refresh(self) -> RefreshReport:
        """Upload offline sales and voids, settle CONFIRMING sales, download the menu, and top
        the seller's stock up. Never raises: an unreachable server is ``error``."""
        report = RefreshReport()
        with self._lock:
            try:
                self._upload(report)
                report.recovered = self._recover()
                seller = self.seller()
                if seller is not None:
                    menu = self.api.menu(seller.event_id, seller.seller_id)
                    with self.store.transaction() as s:
                        rows.store_tiers(s, [_tier_row(t) for t in menu.tiers])
                    self._menu_cache = None
                    report.tiers = len(menu.tiers)
                    report.stock_added = self._top_up(seller, menu.tiers)
            except BoxApiError as exc:
                logger.info("box office refresh stopped: %s", exc)
                report.error = exc.message or exc.code
                self.offline = is_offline(exc)
                return report
            self.offline = False
        return report

    def _upload(self, report: RefreshReport) -> None:
        with self.store.transaction() as s:
            waiting = [(r.seller_id, r.uploaded, r.void_pending, r.void_reason or "",
                        _sale(s, r)) for r in rows.waiting_upload(s)]
        for seller_id, uploaded, _void_pending, _reason, sale in waiting:
            if uploaded:
                continue
            [outcome] = self.api.upload_offline_sales(sale.event_id, [(seller_id, sale)])
            with self.store.transaction() as s:
                row = rows.sale_row(s, sale.sale_id)
                row.uploaded, row.upload_error = True, outcome.error
                row.server_sale_id = outcome.sale_id
            if outcome.outcome == "recorded":
                report.uploaded += 1
            elif outcome.outcome == "duplicate":
                report.duplicates += 1
            else:
                report.rejected += 1
                logger.error("offline sale %s refused by the server: %s", sale.sale_id,
                             outcome.error)
        for _seller_id, _uploaded, void_pending, reason, sale in waiting:
            if not void_pending:
                continue
            with self.store.transaction() as s:
                server_id = rows.sale_row(s, sale.sale_id).server_sale_id
            if server_id is not None:
                self.api.refund(sale.event_id, server_id, reason, self._code())
                report.voids_sent += 1
            with self.store.transaction() as s:
                rows.sale_row(s, sale.sale_id).void_pending = False

    def _recover(self) -> int:
        with self.store.transaction() as s:
            open_ids = [r.sale_id for r in rows.sale_rows(
                s, states=[SaleState.CONFIRMING.value])]
        for sale_id in open_ids:
            try:
                self.retry(sale_id)
            except SaleRefused as exc:
                if exc.code in ("offline", "confirm_lost"):
                    raise BoxApiError("offline", exc.message) from exc
        return len(open_ids)

    def _top_up(self, seller: Seller, tiers: Sequence[Tier]) -> int:
        with self.store.transaction() as s:
            held: dict[int, int] = {}
            for r in rows.free_stock(s, seller.event_id):
                if r.seller_id == seller.seller_id:
                    held[r.tier_id] = held.get(r.tier_id, 0) + 1
        if not tiers or sum(held.values()) >= self.stock_target:
            return 0
        share = max(1, self.stock_target // len(tiers))
        want = {t.tier_id: share - held.get(t.tier_id, 0) for t in tiers
                if (t.available is None or t.available > 0)}
        want = {k: v for k, v in want.items() if v > 0}
        if not want:
            return 0
        try:
            stock = self.api.take_stock(seller.event_id, seller.seller_id, self._code(), want)
        except BoxApiError as exc:
            if exc.code in ("stock_limit", "allocation_exceeded", "sold_out", "forbidden"):
                logger.info("no more stock for this desk: %s", exc.message)
                return 0
            raise
        with self.store.transaction() as s:
            return rows.add_stock(s, [_stock_row(seller, t) for t in stock])

    def return_stock(self) -> int:
        """End of night: hand the seller's unsold stock back to the server, then forget it."""
        with self._lock:
            seller = self._signed_in()
            with self.store.transaction() as s:
                ids = [r.ticket_id for r in rows.free_stock(s, seller.event_id)
                       if r.seller_id == seller.seller_id]
            if not ids:
                return 0
            try:
                self.api.return_stock(seller.event_id, seller.seller_id, ids)
            except BoxApiError as exc:
                raise SaleRefused(exc.code, _words(exc)) from exc
            with self.store.transaction() as s:
                rows.drop_stock(s, ids)
            return len(ids)


def _words(exc: BoxApiError) -> str:
    words = {
        "wrong_seller_code": "That is not your code of the day.",
        "allocation_exceeded": "That is more than your allocation has left.",
        "sold_out": "Sold out.",
        "event_cancelled": "This event is cancelled: no sales.",
        "seller_inactive": "Your seller account is not active for this event.",
        "rate_limited": "Too many wrong codes: wait a few minutes.",
        "forbidden": "This device may not sell for this event (pair it as a box office).",
        "offline": "The server cannot be reached.",
    }
    return words.get(exc.code, exc.message or exc.code)


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


# --- rows <-> values -------------------------------------------------------------------------


def _tier(row: m.BoxTier, stock: int) -> Tier:
    return Tier(row.tier_id, row.event_id, row.night, row.name, row.price_cents, row.available,
                stock)


def _tier_row(t: Tier) -> m.BoxTier:
    return m.BoxTier(tier_id=t.tier_id, event_id=t.event_id, night=t.night, name=t.name,
                     price_cents=t.price_cents, available=t.available)


def _stock(row: m.BoxStock) -> StockTicket:
    return StockTicket(row.ticket_id, row.tier_id, row.token, row.ticket_number)


def _stock_row(seller: Seller, t: StockTicket) -> m.BoxStock:
    return m.BoxStock(ticket_id=t.ticket_id, event_id=seller.event_id, tier_id=t.tier_id,
                      ticket_number=t.ticket_number, token=t.token, seller_id=seller.seller_id)


def _ticket_row(sale_id: str, t: IssuedTicket) -> m.BoxSaleTicket:
    return m.BoxSaleTicket(ticket_id=t.ticket_id, sale_id=sale_id, ticket_number=t.ticket_number,
                           tier_id=t.tier_id, tier_name=t.tier_name, price_cents=t.price_cents,
                           token=t.token)


def _sale_row(request: SaleRequest, night: str, total: int, mode: SaleMode, state: SaleState,
              now: datetime) -> m.BoxSale:
    return m.BoxSale(
        sale_id=request.sale_id, mode=mode.value, state=state.value, sold_at=now,
        event_id=request.event_id, night=night, order_number="",
        lines_json=rows.lines_json(request.lines), total_cents=total,
        tendered_cents=request.tendered_cents, buyer_name=request.buyer_name,
        buyer_email=request.buyer_email, buyer_phone=request.buyer_phone,
        seller_code=request.seller_code if mode is SaleMode.ONLINE else "",
        uploaded=mode is SaleMode.ONLINE, printed=False, void_pending=False,
    )


def _request_of(row: m.BoxSale) -> SaleRequest:
    return SaleRequest(event_id=row.event_id, lines=tuple(rows.lines_of(row)),
                       seller_code=row.seller_code, tendered_cents=row.tendered_cents,
                       buyer_name=row.buyer_name, buyer_email=row.buyer_email,
                       buyer_phone=row.buyer_phone, sale_id=row.sale_id)


def _sale(s: Session, row: m.BoxSale) -> Sale:
    tickets = tuple(IssuedTicket(t.ticket_id, t.ticket_number, t.tier_id, t.tier_name,
                                 t.price_cents, t.token) for t in rows.sale_tickets(s, row.sale_id))
    return Sale(sale_id=row.sale_id, mode=SaleMode(row.mode), state=SaleState(row.state),
                sold_at=row.sold_at, event_id=row.event_id, night=row.night,
                order_number=row.order_number, total_cents=row.total_cents,
                tendered_cents=row.tendered_cents, tickets=tickets, buyer_name=row.buyer_name,
                buyer_email=row.buyer_email, buyer_phone=row.buyer_phone,
                uploaded=row.uploaded, printed=row.printed)
