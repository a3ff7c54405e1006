"""``Desk``: the box office's service. Sell online (hold, confirm) or offline (stock tickets),
keep every sale, reprint, void, total, and upload offline sales exactly once.

Rules (docs/box-office.md, "The desk app"):

- a sale has an id made here once (``SaleRequest.sale_id``); the server stores it once;
- online: the sale is written CONFIRMING before the server is asked, and COMPLETED with its
  tickets in the transaction that stores the answer. A desk killed in between finds the
  CONFIRMING sale at its next start and asks the server again with the same id
  (``recover``): the sale ends up complete, or abandoned with no ticket issued, never half;
- offline (the server cannot be reached when the hold is placed): ONE transaction takes stock
  tickets, writes the sale and its tickets and queues it for upload; the sale leaves the queue
  only in the transaction that stores the server's answer for it;
- printing never stops a sale: the sale is complete before anything is printed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy.orm import Session

from scanner_app.core.box_api import BoxApi, BoxApiError, ConfirmAnswer, HttpBoxApi, is_offline
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
    pick_stock,
    tiers_by_id,
    totals,
)
from scanner_app.storage import models as m
from scanner_app.storage import sales as rows
from scanner_app.storage.store import DoorStore

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
STOCK_PER_TIER = 20  # pre-issued tickets kept per tier for offline sales (docs: stock size)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class RefreshReport:
    uploaded: int = 0  # offline sales the server stored now
    duplicates: int = 0  # offline sales it had already (a re-send): nothing changed
    rejected: int = 0  # offline sales it refused (see the sale's upload_error)
    voids_sent: int = 0
    tiers: int = 0
    stock_added: int = 0
    stock_dropped: int = 0
    recovered: int = 0  # CONFIRMING sales settled (completed or abandoned)
    error: str | None = None  # the server could not be reached or refused: offline

    def to_json(self) -> dict[str, object]:
        return {f: getattr(self, f) for f in self.__slots__}


class Desk:
    """Implements ``scanner_app.core.ports.DeskService``. One call at a time (a lock)."""

    def __init__(self, store: DoorStore, api: BoxApi, *, clock: Clock = utc_now,
                 stock_per_tier: int = STOCK_PER_TIER) -> None:
        self.store = store
        self.api = api
        self._clock = clock
        self._lock = threading.RLock()
        self.stock_per_tier = stock_per_tier

    def close(self) -> None:
        self.store.close()

    # --- what the seller sees ----------------------------------------------------------------

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

    def sell(self, request: SaleRequest) -> Sale:
        """Make the sale, online if the server answers, else from stock. Raises ``SaleRefused``
        (in words) when it is not made; a returned sale is complete and stored."""
        with self._lock:
            tiers = tiers_by_id(self.tiers())
            if any(t not in tiers for t, _ in request.lines):
                raise SaleRefused("unknown_tier", "That ticket type is no longer sold here.")
            night = tiers[request.lines[0][0]].night
            total = sum(tiers[t].price_cents * q for t, q in request.lines)
            try:
                hold = self.api.hold(request)
            except BoxApiError as exc:
                if is_offline(exc):
                    return self._sell_offline(request, tiers, night, total)
                raise SaleRefused(exc.code, exc.message) from exc
            self._begin(request, night, total, SaleMode.ONLINE, SaleState.CONFIRMING)
            try:
                answer = self.api.confirm(hold, request)
            except BoxApiError as exc:
                if is_offline(exc):
                    raise SaleRefused("confirm_lost", (
                        "The network dropped while the sale was being confirmed. Press "
                        "Retry: the same sale is confirmed once, never twice.")) from exc
                self._settle(request.sale_id, None)
                raise SaleRefused(exc.code, exc.message) from exc
            return self._settle(request.sale_id, answer)

    def retry(self, sale_id: str) -> Sale:
        """Confirm again a sale left CONFIRMING (network lost, or a crash): same sale id."""
        with self._lock:
            with self.store.transaction() as s:
                row = rows.find_sale(s, sale_id)
                if row is None:
                    raise SaleRefused("not_found", "No such sale on this desk.")
                if row.state != SaleState.CONFIRMING.value:
                    return _sale(s, row)
                request = _request_of(row)
            try:
                answer = self.api.confirm(None, request)
            except BoxApiError as exc:
                if is_offline(exc):
                    raise SaleRefused("offline", "Still no network: try again shortly.") from exc
                self._settle(sale_id, None)
                raise SaleRefused(exc.code, exc.message) from exc
            return self._settle(sale_id, answer)

    def _begin(self, request: SaleRequest, night: str, total: int, mode: SaleMode,
               state: SaleState) -> None:
        with self.store.transaction() as s:
            rows.add_sale(s, _sale_row(request, night, total, mode, state, self._clock()), ())

    def _settle(self, sale_id: str, answer: ConfirmAnswer | None) -> Sale:
        """Store the server's answer: the tickets (complete), or none (abandoned)."""
        with self.store.transaction() as s:
            if answer is None:
                rows.sale_row(s, sale_id).state = SaleState.ABANDONED.value
            else:
                rows.complete_sale(s, sale_id, answer.order_number,
                                   [_ticket_row(sale_id, t) for t in answer.tickets])
            rows.sale_row(s, sale_id).seller_code = ""  # kept only while it may be re-sent
            return _sale(s, rows.sale_row(s, sale_id))

    def _sell_offline(self, request: SaleRequest, tiers: dict[int, Tier], night: str,
                      total: int) -> Sale:
        with self.store.transaction() as s:
            stock = [_stock(r) for r in rows.free_stock(s, request.event_id)]
            picked = pick_stock(stock, request.lines, tiers)
            rows.take_stock(s, request.sale_id, [t.ticket_id for t in picked])
            row = _sale_row(request, night, total, SaleMode.OFFLINE, SaleState.COMPLETED,
                            self._clock())
            row.uploaded = False
            row.seller_code = request.seller_code  # checked by the server on upload
            tickets = [IssuedTicket(t.ticket_id, t.ticket_number, t.tier_id,
                                    tiers[t.tier_id].name, tiers[t.tier_id].price_cents,
                                    t.token) for t in picked]
            rows.add_sale(s, row, [_ticket_row(request.sale_id, t) for t in tickets])
            logger.info("offline sale %s: %d stock tickets", request.sale_id, len(tickets))
            return _sale(s, row)

    # --- after the sale ----------------------------------------------------------------------

    def note_printed(self, sale_id: str) -> None:
        with self.store.transaction() as s:
            rows.sale_row(s, sale_id).printed = True

    def void(self, sale_id: str, reason: str) -> Sale:
        """Void a completed sale (the cash goes back). Online now if possible, else queued."""
        reason = " ".join(reason.split())
        if not reason:
            raise SaleRefused("reason_required", "Say why the sale is voided.")
        with self._lock:
            sale = self.sale(sale_id)
            if sale is None:
                raise SaleRefused("not_found", "No such sale on this desk.")
            if sale.state is not SaleState.COMPLETED:
                raise SaleRefused("not_completed", "Only a completed sale can be voided.")
            pending = True
            if sale.uploaded:
                try:
                    self.api.void(sale_id, reason)
                    pending = False
                except BoxApiError as exc:
                    if not is_offline(exc):
                        raise SaleRefused(exc.code, exc.message) from exc
            with self.store.transaction() as s:
                row = rows.sale_row(s, sale_id)
                row.state, row.void_reason, row.void_pending = (
                    SaleState.VOIDED.value, reason[:500], pending)
                return _sale(s, row)

    # --- keeping current ---------------------------------------------------------------------

    def refresh(self) -> RefreshReport:
        """Upload offline sales and voids, settle CONFIRMING sales, download the tiers, and top
        the stock up. Never raises: an unreachable server is ``error``."""
        with self._lock:
            report = RefreshReport()
            try:
                self._upload(report)
                report.recovered = self._recover()
                catalogue = self.api.catalogue()
                with self.store.transaction() as s:
                    rows.store_tiers(s, [_tier_row(t) for t in catalogue])
                report.tiers = len(catalogue)
                self._top_up(catalogue, report)
            except BoxApiError as exc:
                logger.info("box office refresh stopped: %s", exc)
                report.error = exc.message or exc.code
            return report

    def _upload(self, report: RefreshReport) -> None:
        with self.store.transaction() as s:
            waiting = [(r.sale_id, r.uploaded, r.void_pending, r.void_reason or "",
                        _request_of(r), _sale(s, r)) for r in rows.waiting_upload(s)]
        for sale_id, uploaded, void_pending, reason, request, sale in waiting:
            if not uploaded:
                outcome = self.api.upload_offline_sale(request, sale)
                with self.store.transaction() as s:
                    row = rows.sale_row(s, sale_id)
                    row.uploaded, row.seller_code = True, ""
                    row.upload_error = outcome.error
                    if outcome.order_number:
                        row.order_number = outcome.order_number
                if outcome.outcome == "accepted":
                    report.uploaded += 1
                elif outcome.outcome == "duplicate":
                    report.duplicates += 1
                else:
                    report.rejected += 1
            if void_pending:
                self.api.void(sale_id, reason)
                with self.store.transaction() as s:
                    rows.sale_row(s, sale_id).void_pending = False
                report.voids_sent += 1

    def _recover(self) -> int:
        with self.store.transaction() as s:
            open_ids = [r.sale_id for r in rows.sale_rows(
                s, states=[SaleState.CONFIRMING.value])]
        for sale_id in open_ids:
            try:
                self.retry(sale_id)
            except SaleRefused as exc:
                if exc.code == "offline":
                    raise BoxApiError("offline", exc.message) from exc
        return len(open_ids)

    def _top_up(self, catalogue: Sequence[Tier], report: RefreshReport) -> None:
        with self.store.transaction() as s:
            held: dict[int, int] = {}
            for r in rows.free_stock(s):
                held[r.tier_id] = held.get(r.tier_id, 0) + 1
        want = {t.tier_id: self.stock_per_tier - held.get(t.tier_id, 0) for t in catalogue}
        want = {k: v for k, v in want.items() if v > 0}
        by_event: dict[int, dict[int, int]] = {}
        for t in catalogue:
            if t.tier_id in want:
                by_event.setdefault(t.event_id, {})[t.tier_id] = want[t.tier_id]
        added = 0
        for event_id, counts in by_event.items():
            stock = self.api.take_stock(event_id, counts)
            with self.store.transaction() as s:
                added += rows.add_stock(s, [_stock_row(event_id, t) for t in stock])
        report.stock_added = added

    def return_stock(self) -> int:
        """End of night: hand unsold stock back to the server, then forget it here."""
        with self._lock:
            with self.store.transaction() as s:
                free = [(r.event_id, r.ticket_id) for r in rows.free_stock(s)]
            by_event: dict[int, list[int]] = {}
            for event_id, ticket_id in free:
                by_event.setdefault(event_id, []).append(ticket_id)
            for event_id, ids in by_event.items():
                self.api.return_stock(event_id, ids)
                with self.store.transaction() as s:
                    rows.drop_stock(s, ids)
            return len(free)


# --- rows <-> values -------------------------------------------------------------------------


def _tier(row: m.BoxTier, stock: int) -> Tier:
    return Tier(row.tier_id, row.event_id, row.night, row.name, row.price_cents, row.available,
                stock)


def _tier_row(t: Tier) -> m.BoxTier:
    return m.BoxTier(tier_id=t.tier_id, event_id=t.event_id, night=t.night, name=t.name,
                     price_cents=t.price_cents, available=t.available)


def _stock(row: m.BoxStock) -> StockTicket:
    return StockTicket(row.ticket_id, row.tier_id, row.token, row.ticket_number)


def _stock_row(event_id: int, t: StockTicket) -> m.BoxStock:
    return m.BoxStock(ticket_id=t.ticket_id, event_id=event_id, tier_id=t.tier_id,
                      ticket_number=t.ticket_number, token=t.token)


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
