"""Ticket numbers derived from ids (unique by construction) and ids taken before the insert."""

from __future__ import annotations

import itertools
import re

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from sync_server.db import utcnow
from sync_server.orders.models import Order, PaymentMethod, PaymentStatus
from sync_server.tickets.models import TicketInstance
from sync_server.tickets.numbers import ALPHABET, SPACE, ticket_number
from sync_server.tickets.services import issue_tickets, new_ticket_ids
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


def test_ticket_ids_taken_before_insert_are_unique_and_the_rows_insert_with_them(
    session: Session, world: World
) -> None:
    """A token signs its ticket's id, so ids come first (``new_ticket_ids``: the sequence on
    PostgreSQL, max(id) + 1 under SQLite's write lock); the rows then insert with them."""
    organizer = world.person("Org")
    event = world.event(organizer)
    ticket_type = world.ticket_type(event, organizer, price_cents=0)
    now = utcnow()
    order = Order(order_number="SL-IDS00-00001", event_id=event.id, subtotal_cents=0,
                  discount_cents=0, fees_cents=0, total_cents=0,
                  payment_method=PaymentMethod.FREE, payment_status=PaymentStatus.COMPLETED,
                  buyer_name="Ids", buyer_email="ids@example.test", created_at=now,
                  updated_at=now)
    session.add(order)
    session.flush()
    first = issue_tickets(session, order=order, event=event, units=[(ticket_type, None)] * 3,
                          holder_name="Ids", holder_email="ids@example.test",
                          master_secret=SECRET, now=now, owner_id=None, original_owner_id=None)
    session.flush()
    second = new_ticket_ids(session, 2)
    taken = [t.id for t in first] + second
    assert len(set(taken)) == 5 and taken == sorted(taken)
    session.commit()
    rows = session.scalars(sa.select(TicketInstance).where(TicketInstance.order_id == order.id)
                           .order_by(TicketInstance.id)).all()
    assert [(r.id, r.ticket_number) for r in rows] == [
        (t.id, ticket_number(t.id, SECRET)) for t in first]
