"""Pricing in integer cents: rounding half up, discounts, fees, never a negative total."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync_server.orders.models import DiscountType
from sync_server.orders.pricing import Discount, Fees, Line, quote, round_half_up


def test_round_half_up() -> None:
    assert [round_half_up(n, 10) for n in (14, 15, 16, 25, 0)] == [1, 2, 2, 3, 0]
    with pytest.raises(ValueError):
        round_half_up(-1, 10)


def test_percentage_discount_and_fee_round_half_up_once_per_order() -> None:
    lines = [Line(1, None, 3, 333)]  # 999 cents
    price = quote(lines, discount=Discount(DiscountType.PERCENTAGE, 15),
                  fees=Fees(percent_bp=250, fixed_cents=50))
    # 15 % of 999 = 149.85 -> 150; fee: 2.5 % of 849 = 21.225 -> 21, plus 3 x 50.
    assert (price.subtotal_cents, price.discount_cents, price.fees_cents, price.total_cents) == (
        999, 150, 171, 1020)


def test_discount_applies_only_to_its_ticket_types() -> None:
    lines = [Line(1, None, 2, 1000), Line(2, None, 1, 3000), Line(None, 9, 1, 5000)]
    price = quote(lines, discount=Discount(DiscountType.FIXED_AMOUNT, 5000, frozenset({1})))
    assert price.discount_cents == 2000  # capped at the eligible 2 x 1000
    price = quote(lines, discount=Discount(DiscountType.PERCENTAGE, 10))
    assert price.discount_cents == 1000  # no restriction: bundles too


def test_free_orders_pay_no_fee_and_fixed_fee_counts_paid_tickets_only() -> None:
    fees = Fees(percent_bp=1000, fixed_cents=99)
    assert quote([Line(1, None, 4, 0)], fees=fees).total_cents == 0
    full_discount = Discount(DiscountType.PERCENTAGE, 100)
    assert quote([Line(1, None, 2, 700)], discount=full_discount, fees=fees).total_cents == 0
    price = quote([Line(1, None, 2, 0), Line(2, None, 1, 1000)], fees=fees)
    assert price.fees_cents == 100 + 99


@given(
    units=st.lists(st.tuples(st.integers(0, 100_000), st.integers(1, 50)), min_size=1,
                   max_size=5),
    kind=st.sampled_from(list(DiscountType)), value=st.integers(0, 10_000_000),
    bp=st.integers(0, 10_000), fixed=st.integers(0, 10_000),
)
def test_totals_are_consistent_and_never_negative(
    units: list[tuple[int, int]], kind: DiscountType, value: int, bp: int, fixed: int
) -> None:
    lines = [Line(i + 1, None, n, cents) for i, (cents, n) in enumerate(units)]
    price = quote(lines, discount=Discount(kind, value), fees=Fees(bp, fixed))
    assert 0 <= price.discount_cents <= price.subtotal_cents
    assert price.total_cents == price.subtotal_cents - price.discount_cents + price.fees_cents
    assert price.total_cents >= 0
