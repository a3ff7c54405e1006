"""Offline lookup by name, email, order or ticket number: prefix, any case, any accents."""

from __future__ import annotations

import pytest

from scanner_app.core.door import Door
from scanner_app.storage.search import normalise, ticket_terms
from tests.scanner_core.conftest import EVENT, page, ticket


@pytest.fixture
def guests(door: Door) -> Door:
    door.store.store_page(EVENT, page((
        ticket(101, holder_name="María-José López", holder_email="MJ.Lopez@Example.com",
               order_number="SL-2041", ticket_number="T-000101", revision=3),
        ticket(102, holder_name="Zoë O'Brien", holder_email="zoe@example.org",
               order_number="SL-2042", ticket_number="T-000102", revision=3),
        ticket(103, holder_name="Mario Lopes", holder_email="mario@example.net",
               order_number="SL-3999", ticket_number="T-000103", revision=3),
    )), 9)
    return door


def ids(door: Door, text: str) -> set[int]:
    return {row.ticket_id for row in door.lookup(text)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lopez", {101}),  # last name, no accent
        ("LÓPEZ", {101}),  # capitals and an accent the data does not have the same way
        ("lop", {101, 103}),  # prefix
        ("maria", {101}),
        ("jose", {101}),  # part of a hyphenated name
        ("maría-josé", {101}),
        ("mar lop", {101, 103}),  # every word a prefix of some term
        ("maria lopes", set()),
        ("zoe", {102}),
        ("brien", {102}),
        ("o'brien", {102}),
        ("mj.lopez@", {101}),  # email, case-insensitive
        ("zoe@example.org", {102}),
        ("SL-2041", {101}),  # order number
        ("sl20", {101, 102}),  # order number without its dash
        ("t-000103", {103}),  # ticket number
        ("000102", {102}),
        ("", set()),
        ("   ", set()),
        ("nobody", set()),
    ],
)
def test_lookup(guests: Door, text: str, expected: set[int]) -> None:
    assert ids(guests, text) == expected


def test_lookup_rows_carry_what_the_list_shows(guests: Door) -> None:
    row = guests.lookup("zoe")[0]
    assert (row.holder_name, row.order_number, row.status) == ("Zoë O'Brien", "SL-2042", "VALID")
    assert row.checked_in_at is None
    guests.manual_check_in(102, reason="lost phone", door="North")
    assert guests.lookup("zoe")[0].checked_in_at is not None


def test_lookup_honours_the_limit(door: Door) -> None:
    assert len(door.lookup("guest", limit=5)) == 5


def test_an_updated_ticket_is_found_by_its_new_name_only(guests: Door) -> None:
    guests.store.store_page(EVENT, page((ticket(102, holder_name="Ada Byron", revision=4),)), 10)
    assert ids(guests, "zoe") == set()
    assert ids(guests, "byron") == {102}


def test_normalise_folds_case_and_accents() -> None:
    assert normalise("  ÉCOLE Ñandú ß ") == "ecole nandu ss"
    assert normalise("ﬁ") == "fi"  # compatibility ligature
    assert "lopez" in ticket_terms("María López", "", "", "")
