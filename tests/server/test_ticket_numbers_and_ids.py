"""Ticket numbers derived from ids (unique by construction) and ids taken up front in blocks."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from sync_server import bulk
from sync_server.orders.models import Order
from sync_server.tickets.models import TicketInstance
from sync_server.tickets.numbers import ALPHABET, SPACE, ticket_number

SECRET = b"s" * 32
NUMBER = re.compile(rf"^[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}$")


def test_twenty_thousand_consecutive_ids_get_distinct_well_formed_numbers() -> None:
    numbers = [ticket_number(i, SECRET) for i in range(1, 20_001)]
    assert len(set(numbers)) == len(numbers)
    assert all(NUMBER.match(n) for n in numbers)
    # Consecutive ids do not give look-alike numbers (not a counter in disguise).
    assert sum(a[:4] == b[:4] for a, b in itertools.pairwise(numbers)) < 20


@given(st.integers(1, SPACE - 1), st.integers(1, SPACE - 1))
def test_the_map_is_one_to_one_deterministic_and_keyed(a: int, b: int) -> None:
    assert ticket_number(a, SECRET) == ticket_number(a, SECRET)
    assert (ticket_number(a, SECRET) == ticket_number(b, SECRET)) == (a == b)
    assert ticket_number(a, b"another secret" * 3) != ticket_number(a, SECRET)


@pytest.mark.parametrize("bad", [0, -1, SPACE])
def test_ids_outside_the_number_space_are_refused(bad: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        ticket_number(bad, SECRET)


# PostgreSQL only: SQLite takes max(id) + 1 under its write lock (no blocks, no sequences).
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_ids_come_unique_from_blocks_and_a_forked_worker_takes_its_own(
    session: Session, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[int] = []
    for _ in range(2 * bulk.ID_BLOCK // 3 + 1):  # enough to need a refill
        ids = bulk.take_ids(session, {TicketInstance: 3, Order: 1})
        assert len(ids[TicketInstance]) == 3 and len(ids[Order]) == 1
        taken += ids[TicketInstance]
    assert len(set(taken)) == len(taken) and taken == sorted(taken)
    # A forked worker must not hand out its parent's remaining block.
    monkeypatch.setattr(bulk.os, "getpid", lambda: -1)
    after_fork = bulk.take_ids(session, {TicketInstance: 3})
    assert min(after_fork[TicketInstance]) > max(taken)  # a fresh block of the sequence
    session.rollback()
