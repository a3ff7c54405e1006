"""Ticket numbers derived from ids (unique by construction) and ids taken up front in blocks."""

from __future__ import annotations

import itertools
import re

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from sync_server import bulk
from sync_server.db import utcnow
from sync_server.orders.models import Order, PaymentMethod, PaymentStatus
from sync_server.tickets.models import TicketInstance
from sync_server.tickets.numbers import ALPHABET, SPACE, ticket_number
from tests.server.conftest import World

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


def test_a_built_row_inserts_and_attaches_like_a_constructed_one(
    session: Session, world: World
) -> None:
    """``bulk.build`` skips the constructor's attribute events: the row must still insert,
    attach clean, read back without a query, and refuse a name that is no attribute."""
    organizer = world.person("Org")
    event = world.event(organizer)
    ids = bulk.take_ids(session, {Order: 1})
    now = utcnow()
    order = bulk.build(
        Order, id=ids[Order][0], order_number="SL-BUILT-00001", event_id=event.id,
        subtotal_cents=0, discount_cents=0, fees_cents=0, total_cents=0,
        payment_method=PaymentMethod.FREE, payment_status=PaymentStatus.COMPLETED,
        buyer_name="Built", buyer_email="built@example.test", created_at=now, updated_at=now)
    assert order not in session and not sa.inspect(order).has_identity
    bulk.insert_new(session, [order])
    state = sa.inspect(order)
    assert state.persistent and not session.dirty and not state.unloaded - {"items",
                                                                           "split_payments"}
    assert order.user_id is None and order.completed_at is None  # set, so no query on read
    session.commit()
    session.expire_all()
    again = session.get(Order, order.id)
    assert again is not None and again.order_number == "SL-BUILT-00001"
    assert again.payment_status is PaymentStatus.COMPLETED and again.buyer_name == "Built"
    with pytest.raises(TypeError, match="no_such_column"):
        bulk.build(Order, no_such_column=1)
