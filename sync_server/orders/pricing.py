"""Prices in integer cents: subtotal, discount, platform fee and total. Pure functions, no I/O.

Rounding (docs/purchase.md): every division rounds half up, once, on the order as a whole:
- percentage discount = round_half_up(eligible subtotal x percent / 100), never above the
  eligible subtotal; a fixed discount is at most the eligible subtotal;
- fee = round_half_up(discounted subtotal x basis points / 10 000) + fixed cents x paid tickets,
  and no fee at all on an order whose discounted subtotal is 0;
- total = subtotal - discount + fee, never negative.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sync_server.orders.models import DiscountType


def round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up, for non-negative integers."""
    if numerator < 0 or denominator <= 0:
        raise ValueError("round_half_up takes a non-negative numerator and a positive denominator")
    return (2 * numerator + denominator) // (2 * denominator)


@dataclass(frozen=True)
class Line:
    """One requested line: a ticket type or a bundle, its unit price and quantity."""

    ticket_type_id: int | None
    bundle_id: int | None
    quantity: int
    unit_cents: int

    @property
    def subtotal_cents(self) -> int:
        return self.unit_cents * self.quantity


@dataclass(frozen=True)
class Discount:
    discount_type: DiscountType
    value: int  # whole percent, or cents
    # Ticket types the code applies to; None = every line (bundles included).
    ticket_type_ids: Collection[int] | None = None

    def applies_to(self, line: Line) -> bool:
        if self.ticket_type_ids is None:
            return True
        return line.ticket_type_id is not None and line.ticket_type_id in self.ticket_type_ids


@dataclass(frozen=True)
class Fees:
    percent_bp: int = 0
    fixed_cents: int = 0  # per paid ticket


@dataclass(frozen=True)
class Quote:
    subtotal_cents: int
    discount_cents: int
    fees_cents: int
    total_cents: int


def discount_cents(discount: Discount | None, lines: Sequence[Line]) -> int:
    if discount is None:
        return 0
    eligible = sum(line.subtotal_cents for line in lines if discount.applies_to(line))
    if discount.discount_type is DiscountType.PERCENTAGE:
        amount = round_half_up(eligible * min(max(discount.value, 0), 100), 100)
    else:
        amount = max(discount.value, 0)
    return min(amount, eligible)


def fee_cents(fees: Fees, discounted_subtotal: int, paid_tickets: int) -> int:
    if discounted_subtotal <= 0:
        return 0
    return round_half_up(discounted_subtotal * fees.percent_bp, 10_000) + (
        fees.fixed_cents * paid_tickets
    )


def quote(lines: Sequence[Line], *, discount: Discount | None = None,
          fees: Fees | None = None) -> Quote:
    subtotal = sum(line.subtotal_cents for line in lines)
    off = discount_cents(discount, lines)
    paid_tickets = sum(line.quantity for line in lines if line.unit_cents > 0)
    fee = fee_cents(fees or Fees(), subtotal - off, paid_tickets)
    total = max(subtotal - off + fee, 0)
    return Quote(subtotal_cents=subtotal, discount_cents=off, fees_cents=fee, total_cents=total)
