"""The desk's refresh steps that talk to the server: offline sales and voids up, CONFIRMING
sales settled, stock topped up (``Desk.refresh`` runs them in this order)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner_app.core.box_api import BoxApiError, Seller, is_offline
from scanner_app.core.box_office import Sale, SaleRefused, SaleState, Tier
from scanner_app.core.desk_rows import sale_of, stock_row, words
from scanner_app.storage import sales as rows

if TYPE_CHECKING:
    from scanner_app.core.desk import Desk

logger = logging.getLogger(__name__)


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


def upload(desk: Desk, report: RefreshReport) -> None:
    """Offline sales to the server (each once), then voids made offline."""
    with desk.store.transaction() as s:
        waiting = [(r.seller_id, r.uploaded, r.void_pending, r.void_reason or "",
                    sale_of(s, r)) for r in rows.waiting_upload(s)]
    for seller_id, uploaded, _void_pending, _reason, sale in waiting:
        if uploaded:
            continue
        [outcome] = desk.api.upload_offline_sales(sale.event_id, [(seller_id, sale)])
        with desk.store.transaction() as s:
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
        with desk.store.transaction() as s:
            server_id = rows.sale_row(s, sale.sale_id).server_sale_id
        if server_id is not None:
            desk.api.refund(sale.event_id, server_id, reason, desk.code())
            report.voids_sent += 1
        with desk.store.transaction() as s:
            rows.sale_row(s, sale.sale_id).void_pending = False

def recover(desk: Desk) -> int:
    """Settle the sales left CONFIRMING (a lost answer, a crash): see ``Desk.retry``."""
    with desk.store.transaction() as s:
        open_ids = [r.sale_id for r in rows.sale_rows(
            s, states=[SaleState.CONFIRMING.value])]
    for sale_id in open_ids:
        try:
            desk.retry(sale_id)
        except SaleRefused as exc:
            if exc.code in ("offline", "confirm_lost"):
                raise BoxApiError("offline", exc.message) from exc
    return len(open_ids)

def top_up(desk: Desk, seller: Seller, tiers: Sequence[Tier]) -> int:
    """Top the seller's stock on this desk up to ``desk.stock_target``, spread over tiers."""
    with desk.store.transaction() as s:
        held: dict[int, int] = {}
        for r in rows.free_stock(s, seller.event_id):
            if r.seller_id == seller.seller_id:
                held[r.tier_id] = held.get(r.tier_id, 0) + 1
    if not tiers or sum(held.values()) >= desk.stock_target:
        return 0
    share = max(1, desk.stock_target // len(tiers))
    want = {t.tier_id: share - held.get(t.tier_id, 0) for t in tiers
            if (t.available is None or t.available > 0)}
    want = {k: v for k, v in want.items() if v > 0}
    if not want:
        return 0
    try:
        stock = desk.api.take_stock(seller.event_id, seller.seller_id, desk.code(), want)
    except BoxApiError as exc:
        if exc.code in ("stock_limit", "allocation_exceeded", "sold_out", "forbidden"):
            logger.info("no more stock for this desk: %s", exc.message)
            return 0
        raise
    with desk.store.transaction() as s:
        return rows.add_stock(s, [stock_row(seller, t) for t in stock])


def void_sale(desk: Desk, sale_id: str, reason: str) -> Sale:
    """Void a completed sale (the cash goes back): refunded on the server now if it can be,
    else queued with the reason and sent by the next refresh."""
    reason = " ".join(reason.split())[:500]
    if not reason:
        raise SaleRefused("reason_required", "Say why the sale is voided.")
    with desk.store.transaction() as s:
        row = rows.find_sale(s, sale_id)
        if row is None:
            raise SaleRefused("not_found", "No such sale on this desk.")
        if row.state != SaleState.COMPLETED.value:
            raise SaleRefused("not_completed", "Only a completed sale can be voided.")
        event_id, server_id = row.event_id, row.server_sale_id
    pending = True
    if server_id is not None:
        try:
            desk.api.refund(event_id, server_id, reason, desk.code())
            pending = False
        except BoxApiError as exc:
            if not is_offline(exc):
                raise SaleRefused(exc.code, words(exc)) from exc
    with desk.store.transaction() as s:
        row = rows.sale_row(s, sale_id)
        row.state, row.void_reason, row.void_pending = (
            SaleState.VOIDED.value, reason, pending)
        return sale_of(s, row)


def return_stock(desk: Desk) -> int:
    """End of night: hand the seller's unsold stock back to the server, then forget it."""
    seller = desk.signed_in()
    with desk.store.transaction() as s:
        ids = [r.ticket_id for r in rows.free_stock(s, seller.event_id)
               if r.seller_id == seller.seller_id]
    if not ids:
        return 0
    try:
        desk.api.return_stock(seller.event_id, seller.seller_id, ids)
    except BoxApiError as exc:
        raise SaleRefused(exc.code, words(exc)) from exc
    with desk.store.transaction() as s:
        rows.drop_stock(s, ids)
    return len(ids)
