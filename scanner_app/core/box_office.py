"""The box office's rules, with no Qt and no I/O: what can be sold, what it costs, what the seller
must type, what change is due, which stock tickets an offline sale hands out, and the seller's
running totals.

The desk (``core/desk.py``) applies these to the store and the server; the sale screen and
``scanner-app sell`` are two shells over the desk. Money is whole cents, never floats.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

MAX_TICKETS_PER_SALE = 20  # a queue at a table: a bigger party is two sales
MAX_CASH_CENTS = 100_000_00  # more cash than this is a typo
CODE_DIGITS = 4
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[0-9 ()./-]{7,20}")


class SaleMode(StrEnum):
    ONLINE = "online"  # hold + confirm on the server: the tickets were issued there
    OFFLINE = "offline"  # stock tickets handed out here; the sale is queued for upload


class SaleState(StrEnum):
    CONFIRMING = "confirming"  # the confirm was sent, its answer not yet stored (crash window)
    COMPLETED = "completed"
    VOIDED = "voided"
    ABANDONED = "abandoned"  # the confirm never went through: no ticket was issued


class SaleRefused(Exception):
    """A sale the desk will not make, in words for the seller; ``code`` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Tier:
    """A ticket type this desk may sell, on one night (an event the device serves)."""

    tier_id: int
    event_id: int
    night: str  # what the seller picks first: the event's name (and date)
    name: str
    price_cents: int
    available: int | None = None  # the seller's allocation left, as of the last download
    stock: int = 0  # pre-issued tickets of this tier on this desk, for offline sales


@dataclass(frozen=True, slots=True)
class Cart:
    """Quantities by tier, in the order the seller picked them."""

    lines: tuple[tuple[int, int], ...] = ()

    def add(self, tier_id: int, count: int = 1) -> Cart:
        lines = dict(self.lines)
        lines[tier_id] = max(0, lines.get(tier_id, 0) + count)
        return Cart(tuple((t, q) for t, q in lines.items() if q > 0))

    def set(self, tier_id: int, quantity: int) -> Cart:
        return self.add(tier_id, quantity - self.quantity(tier_id))

    def quantity(self, tier_id: int) -> int:
        return dict(self.lines).get(tier_id, 0)

    @property
    def tickets(self) -> int:
        return sum(q for _, q in self.lines)

    def total_cents(self, tiers: Mapping[int, Tier]) -> int:
        return sum(tiers[t].price_cents * q for t, q in self.lines if t in tiers)


def tiers_by_id(tiers: Iterable[Tier]) -> dict[int, Tier]:
    return {t.tier_id: t for t in tiers}


def parse_cash(text: str, total_cents: int) -> int:
    """Cash handed over, in cents: ``""`` is exact change; ``50`` is $50; ``12.50`` is $12.50."""
    text = text.strip().lstrip("$").replace(",", "")
    if not text:
        return total_cents
    if not re.fullmatch(r"\d{1,7}(\.\d{1,2})?", text):
        raise SaleRefused("bad_cash", f"{text!r} is not an amount of cash: type e.g. 50 or 12.50")
    whole, _, fraction = text.partition(".")
    cents = int(whole) * 100 + int((fraction + "00")[:2])
    if cents > MAX_CASH_CENTS:
        raise SaleRefused("bad_cash", "That is more cash than a sale takes: check the amount.")
    return cents


def change_due(total_cents: int, tendered_cents: int) -> int:
    if tendered_cents < total_cents:
        raise SaleRefused("not_enough_cash",
                          f"{money(tendered_cents)} is less than the total {money(total_cents)}.")
    return tendered_cents - total_cents


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) // 100:,}.{abs(cents) % 100:02d}"


def check_code(text: str) -> str:
    code = text.strip()
    if not re.fullmatch(rf"\d{{{CODE_DIGITS}}}", code):
        raise SaleRefused("bad_code", f"The seller code is {CODE_DIGITS} digits.")
    return code


def read_contact(text: str) -> tuple[str, str]:
    """``(email, phone)`` from what the seller typed in the one contact field (both optional)."""
    text = text.strip()
    if not text:
        return "", ""
    if "@" in text:
        if not _EMAIL.fullmatch(text) or len(text) > 254:
            raise SaleRefused("bad_contact", f"{text!r} is not an e-mail address.")
        return text, ""
    if not _PHONE.fullmatch(text) or sum(c.isdigit() for c in text) < 7:
        raise SaleRefused("bad_contact", f"{text!r} is neither an e-mail address nor a phone "
                                         "number.")
    return "", text


@dataclass(frozen=True, slots=True)
class SaleRequest:
    """One sale as the seller asked for it. ``sale_id`` is made here, once: the server stores
    a sale once per id, however often it is sent."""

    event_id: int
    lines: tuple[tuple[int, int], ...]
    seller_code: str
    tendered_cents: int
    buyer_name: str = ""
    buyer_email: str = ""
    buyer_phone: str = ""
    sale_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def build_request(tiers: Mapping[int, Tier], cart: Cart, *, code: str, cash: str,
                  buyer_name: str = "", contact: str = "") -> SaleRequest:
    """Check everything the seller typed; raise ``SaleRefused`` with words for the first fault."""
    if cart.tickets == 0:
        raise SaleRefused("empty", "Pick at least one ticket.")
    if cart.tickets > MAX_TICKETS_PER_SALE:
        raise SaleRefused("too_many", f"At most {MAX_TICKETS_PER_SALE} tickets in one sale.")
    unknown = [t for t, _ in cart.lines if t not in tiers]
    if unknown:
        raise SaleRefused("unknown_tier", "That ticket type is no longer sold here.")
    events = {tiers[t].event_id for t, _ in cart.lines}
    if len(events) > 1:
        raise SaleRefused("two_nights", "One night per sale: sell the other night separately.")
    for tier_id, quantity in cart.lines:
        left = tiers[tier_id].available
        if left is not None and quantity > left:
            raise SaleRefused("beyond_allocation",
                              f"Only {left} {tiers[tier_id].name} left in your allocation.")
    total = cart.total_cents(tiers)
    tendered = parse_cash(cash, total)
    change_due(total, tendered)
    email, phone = read_contact(contact)
    name = " ".join(buyer_name.split())[:200]
    return SaleRequest(event_id=events.pop(), lines=cart.lines, seller_code=check_code(code),
                       tendered_cents=tendered, buyer_name=name, buyer_email=email,
                       buyer_phone=phone)


@dataclass(frozen=True, slots=True)
class IssuedTicket:
    ticket_id: int
    ticket_number: str
    tier_id: int
    tier_name: str
    price_cents: int
    token: str  # what the QR holds


@dataclass(frozen=True, slots=True)
class Sale:
    """A sale as the desk keeps it: enough to print, reprint, void and total it."""

    sale_id: str
    mode: SaleMode
    state: SaleState
    sold_at: datetime
    event_id: int
    night: str
    order_number: str
    total_cents: int
    tendered_cents: int
    tickets: tuple[IssuedTicket, ...]
    buyer_name: str = ""
    buyer_email: str = ""
    buyer_phone: str = ""
    uploaded: bool = True  # an offline sale is False until the server stored it
    printed: bool = False
    emailed: bool = False

    @property
    def change_cents(self) -> int:
        return self.tendered_cents - self.total_cents

    def voided(self) -> Sale:
        return replace(self, state=SaleState.VOIDED)


@dataclass(frozen=True, slots=True)
class StockTicket:
    ticket_id: int
    tier_id: int
    token: str
    ticket_number: str


def pick_stock(stock: Sequence[StockTicket], lines: Sequence[tuple[int, int]],
               tiers: Mapping[int, Tier]) -> list[StockTicket]:
    """The stock tickets an offline sale hands out, lowest ids first; ``SaleRefused`` when the
    desk holds too few of a tier."""
    picked: list[StockTicket] = []
    for tier_id, quantity in lines:
        mine = sorted((s for s in stock if s.tier_id == tier_id), key=lambda s: s.ticket_id)
        if len(mine) < quantity:
            name = tiers[tier_id].name if tier_id in tiers else "that type"
            raise SaleRefused("no_stock", f"Offline, this desk holds {len(mine)} {name} "
                                          "ticket(s) to sell: sell fewer, or wait for the "
                                          "network.")
        picked += mine[:quantity]
    return picked


@dataclass(frozen=True, slots=True)
class SellerTotals:
    """The seller's running totals on this desk (completed sales; voids counted apart)."""

    sales: int = 0
    tickets: int = 0
    cash_cents: int = 0
    voided_sales: int = 0
    voided_cents: int = 0
    offline_sales: int = 0
    waiting_upload: int = 0
    by_tier: tuple[tuple[str, int, int], ...] = ()  # (tier name, tickets, cents)

    def to_json(self) -> dict[str, object]:
        return {"sales": self.sales, "tickets": self.tickets, "cash_cents": self.cash_cents,
                "voided_sales": self.voided_sales, "voided_cents": self.voided_cents,
                "offline_sales": self.offline_sales, "waiting_upload": self.waiting_upload,
                "by_tier": [{"tier": n, "tickets": t, "cents": c} for n, t, c in self.by_tier]}


def totals(sales: Iterable[Sale]) -> SellerTotals:
    count = tickets = cash = voided = voided_cents = offline = waiting = 0
    tiers: dict[str, list[int]] = {}
    for sale in sales:
        if sale.state is SaleState.VOIDED:
            voided += 1
            voided_cents += sale.total_cents
        if sale.state is not SaleState.COMPLETED:
            continue
        count += 1
        cash += sale.total_cents
        offline += sale.mode is SaleMode.OFFLINE
        waiting += not sale.uploaded
        for t in sale.tickets:
            row = tiers.setdefault(t.tier_name, [0, 0])
            row[0] += 1
            row[1] += t.price_cents
            tickets += 1
    return SellerTotals(count, tickets, cash, voided, voided_cents, offline, waiting,
                        tuple((n, v[0], v[1]) for n, v in sorted(tiers.items())))


def end_of_night_lines(totals_: SellerTotals, *, seller: str, desk: str,
                       at: datetime) -> list[str]:
    """The end-of-night report as plain lines (the screen shows them, the printer prints them)."""
    lines = [f"End of night: {seller or 'seller'} at {desk}", at.strftime("%Y-%m-%d %H:%M"), "",
             f"Sales: {totals_.sales}   Tickets: {totals_.tickets}",
             f"Cash taken: {money(totals_.cash_cents)}"]
    for name, count, cents in totals_.by_tier:
        lines.append(f"  {name}: {count} x = {money(cents)}")
    lines.append(f"Voided: {totals_.voided_sales} ({money(totals_.voided_cents)} refunded)")
    lines.append(f"Sold offline: {totals_.offline_sales}; "
                 f"waiting to upload: {totals_.waiting_upload}")
    return lines
