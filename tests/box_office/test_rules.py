"""The box office's pure rules (scanner_app/core/box_office.py): cart, cash, codes, contacts,
stock picking and the seller's totals. No Qt, no server: these are functions of their input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scanner_app.core.box_office import (
    Cart,
    IssuedTicket,
    Sale,
    SaleMode,
    SaleRefused,
    SaleState,
    StockTicket,
    Tier,
    build_request,
    change_due,
    end_of_night_lines,
    money,
    parse_cash,
    pick_stock,
    read_contact,
    tiers_by_id,
    totals,
)

TIERS = tiers_by_id([
    Tier(1, 10, "Friday", "General", 2500, available=5),
    Tier(2, 10, "Friday", "VIP", 6000),
    Tier(3, 11, "Saturday", "General", 3000),
])


def test_cart_adds_removes_and_totals() -> None:
    cart = Cart().add(1).add(1).add(2)
    assert cart.lines == ((1, 2), (2, 1)) and cart.tickets == 3
    assert cart.total_cents(TIERS) == 2 * 2500 + 6000
    assert cart.add(2, -1).lines == ((1, 2),)
    assert cart.set(1, 0).lines == ((2, 1),)


@pytest.mark.parametrize(("text", "cents"), [("", 5000), ("50", 5000), ("$60", 6000),
                                             ("12.5", 1250), ("12.05", 1205), ("1,000", 100000)])
def test_cash_is_read_in_cents(text: str, cents: int) -> None:
    assert parse_cash(text, 5000) == cents


@pytest.mark.parametrize("text", ["abc", "-5", "1.234", "5e3", "99999999"])
def test_bad_cash_is_refused_in_words(text: str) -> None:
    with pytest.raises(SaleRefused) as refused:
        parse_cash(text, 5000)
    assert refused.value.code == "bad_cash" and refused.value.message


def test_change_due_and_short_cash() -> None:
    assert change_due(5000, 6000) == 1000
    with pytest.raises(SaleRefused, match=r"\$40.00 is less than the total \$50.00"):
        change_due(5000, 4000)
    assert money(123456) == "$1,234.56" and money(-5) == "-$0.05"


@pytest.mark.parametrize(("text", "expected"), [
    ("", ("", "")), ("ann@example.com", ("ann@example.com", "")),
    ("+1 (312) 555-0100", ("", "+1 (312) 555-0100"))])
def test_contact_is_an_email_or_a_phone(text: str, expected: tuple[str, str]) -> None:
    assert read_contact(text) == expected


@pytest.mark.parametrize("text", ["ann@", "12", "call me"])
def test_bad_contact_is_refused(text: str) -> None:
    with pytest.raises(SaleRefused):
        read_contact(text)


def test_a_request_carries_everything_checked() -> None:
    request = build_request(TIERS, Cart().add(1, 2), code=" 1234 ", cash="60",
                            buyer_name="  Ann   Lee ", contact="ann@example.com")
    assert (request.event_id, request.lines, request.seller_code) == (10, ((1, 2),), "1234")
    assert (request.tendered_cents, request.buyer_name, request.buyer_email) == (
        6000, "Ann Lee", "ann@example.com")
    assert len(request.sale_id) == 36
    assert build_request(TIERS, Cart().add(1), code="1234", cash="").sale_id != request.sale_id


@pytest.mark.parametrize(("cart", "code", "cash", "expected"), [
    (Cart(), "1234", "", "empty"),
    (Cart().add(1, 21), "1234", "", "too_many"),
    (Cart().add(1, 6), "1234", "", "beyond_allocation"),
    (Cart().add(1).add(3), "1234", "", "two_nights"),
    (Cart().add(99), "1234", "", "unknown_tier"),
    (Cart().add(1), "123", "", "bad_code"),
    (Cart().add(1), "12a4", "", "bad_code"),
    (Cart().add(1), "1234", "10", "not_enough_cash"),
])
def test_bad_sales_are_refused_with_a_code_and_words(cart: Cart, code: str, cash: str,
                                                     expected: str) -> None:
    with pytest.raises(SaleRefused) as refused:
        build_request(TIERS, cart, code=code, cash=cash)
    assert refused.value.code == expected and refused.value.message


def test_stock_is_picked_lowest_first_and_refused_when_short() -> None:
    stock = [StockTicket(i, 1 if i < 105 else 2, f"T{i}", f"N{i}") for i in range(100, 108)]
    assert [s.ticket_id for s in pick_stock(stock, [(1, 2), (2, 1)], TIERS)] == [100, 101, 105]
    with pytest.raises(SaleRefused) as refused:
        pick_stock(stock, [(2, 4)], TIERS)
    assert refused.value.code == "no_stock" and "3 VIP" in refused.value.message


def _sale(state: SaleState, mode: SaleMode = SaleMode.ONLINE, uploaded: bool = True) -> Sale:
    tickets = (IssuedTicket(1, "N1", 1, "General", 2500, "T"),
               IssuedTicket(2, "N2", 2, "VIP", 6000, "U"))
    return Sale("s", mode, state, datetime(2026, 12, 3, tzinfo=UTC), 10, "Friday", "SL-1",
                8500, 10000, tickets, uploaded=uploaded)


def test_totals_count_completed_sales_and_voids_apart() -> None:
    result = totals([_sale(SaleState.COMPLETED), _sale(SaleState.VOIDED),
                     _sale(SaleState.COMPLETED, SaleMode.OFFLINE, uploaded=False),
                     _sale(SaleState.ABANDONED), _sale(SaleState.CONFIRMING)])
    assert (result.sales, result.tickets, result.cash_cents) == (2, 4, 17000)
    assert (result.voided_sales, result.voided_cents) == (1, 8500)
    assert (result.offline_sales, result.waiting_upload) == (1, 1)
    assert result.by_tier == (("General", 2, 5000), ("VIP", 2, 12000))
    lines = end_of_night_lines(result, seller="Sam", desk="Front", at=datetime(2026, 12, 3,
                                                                                tzinfo=UTC))
    assert "Cash taken: $170.00" in lines and "  VIP: 2 x = $120.00" in lines
