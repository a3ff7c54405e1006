"""Ticket instances and their signed tokens; key rotation, retirement and transfers."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.ticket_token import Reason, verify
from sync_server.events.catalog import add_bundle
from sync_server.events.models import Event
from sync_server.keys.services import (
    active_key_version,
    keyring_for_event,
    retire_key,
    revoked_ticket_ids,
    rotate_key,
)
from sync_server.orders.models import Order, PaymentMethod, PaymentStatus
from sync_server.tickets.models import TicketInstance, TicketStatus
from sync_server.tickets.services import issue_ticket_instance, transfer_ticket_instance
from tests.server.conftest import MASTER_SECRET, World


def order_for(session: Session, event: Event, number: str) -> Order:
    order = Order(order_number=number, event_id=event.id, buyer_name="Buyer",
                  buyer_email="buyer@example.com", payment_method=PaymentMethod.STRIPE,
                  payment_status=PaymentStatus.COMPLETED)
    session.add(order)
    session.flush()
    return order


def test_issued_tokens_verify_with_the_event_keyring_and_carry_their_days(
    world: World, session: Session
) -> None:
    organizer = world.person()
    event = world.event(organizer)
    day_one, day_two = event.days
    friday = world.ticket_type(event, organizer, day=day_one)
    weekend = world.ticket_type(event, organizer)
    bundle = add_bundle(session, event, user=organizer.user, values={
        "name": "Sat pass", "price_cents": 100, "quantity_total": 5,
        "event_day_ids": [day_two.id]})
    order = order_for(session, event, "A-1")
    tickets = [
        issue_ticket_instance(session, order=order, event=event, ticket_type=friday,
                              holder_name="Ann Lee", holder_email="Ann@Example.com",
                              master_secret=MASTER_SECRET),
        issue_ticket_instance(session, order=order, event=event, ticket_type=weekend,
                              holder_name="Bo Diaz", holder_email="bo@example.com",
                              master_secret=MASTER_SECRET),
        issue_ticket_instance(session, order=order, event=event, bundle=bundle,
                              holder_name="Cy Ray", holder_email="cy@example.com",
                              master_secret=MASTER_SECRET),
    ]
    session.commit()
    keyring = keyring_for_event(session, event.id, MASTER_SECRET)
    for ticket in tickets:
        assert ticket.token is not None and len(ticket.token) == 32
        result = verify(ticket.token, keyring, {event.id})
        assert result.ok and result.claims is not None
        assert (result.claims.event_id, result.claims.ticket_id) == (event.id, ticket.id)
        assert ticket.status is TicketStatus.VALID and ticket.key_version == 1
    assert [[d.day_number for d in t.valid_days] for t in tickets] == [[1], [1, 2], [2]]
    assert tickets[0].holder_email == "ann@example.com"
    numbers = {t.ticket_number for t in tickets}
    assert len(numbers) == 3 and all(len(n) == 9 and n[4] == "-" for n in numbers)
    # Another event's keyring (or master secret) does not accept these tokens.
    other = world.event(organizer)
    active_key_version(session, other.id)
    assert verify(tickets[0].token, keyring_for_event(session, other.id, MASTER_SECRET),
                  {event.id}).reason is Reason.UNKNOWN_KEY
    forged = keyring_for_event(session, event.id, bytes(32))
    assert verify(tickets[0].token, forged).reason is Reason.BAD_SIGNATURE


def test_rotation_keeps_old_tokens_until_their_version_is_retired(
    world: World, session: Session
) -> None:
    organizer = world.person()
    event = world.event(organizer)
    tier = world.ticket_type(event, organizer)
    order = order_for(session, event, "B-1")
    old = issue_ticket_instance(session, order=order, event=event, ticket_type=tier,
                                holder_name="Old", holder_email="o@x.org",
                                master_secret=MASTER_SECRET)
    assert rotate_key(session, event.id).version == 2
    new = issue_ticket_instance(session, order=order, event=event, ticket_type=tier,
                                holder_name="New", holder_email="n@x.org",
                                master_secret=MASTER_SECRET)
    session.commit()
    assert (old.key_version, new.key_version) == (1, 2)
    keyring = keyring_for_event(session, event.id, MASTER_SECRET)
    assert keyring.versions_for(event.id) == [1, 2]
    assert verify(old.token, keyring).ok and verify(new.token, keyring).ok
    with pytest.raises(Exception, match="rotate before retiring"):
        retire_key(session, event.id, 2)
    retire_key(session, event.id, 1)
    session.commit()
    keyring = keyring_for_event(session, event.id, MASTER_SECRET)
    assert verify(old.token, keyring).reason is Reason.UNKNOWN_KEY
    assert verify(new.token, keyring).ok


def test_transfer_issues_a_new_ticket_and_revokes_the_old(world: World, session: Session) -> None:
    organizer = world.person()
    event = world.event(organizer)
    tier = world.ticket_type(event, organizer)
    order = order_for(session, event, "C-1")
    original = issue_ticket_instance(session, order=order, event=event, ticket_type=tier,
                                     holder_name="Giver", holder_email="g@x.org",
                                     master_secret=MASTER_SECRET)
    new = transfer_ticket_instance(session, original, event=event, order=order,
                                   holder_name="Taker", holder_email="t@x.org",
                                   master_secret=MASTER_SECRET, by_user_id=organizer.user.id)
    session.commit()
    session.expire_all()
    reloaded = session.get(TicketInstance, original.id)
    assert reloaded is not None and reloaded.status is TicketStatus.TRANSFERRED
    original = reloaded
    assert original.transferred_to_id == new.id and original.transferred_to is not None
    assert new.status is TicketStatus.VALID and new.token != original.token
    assert revoked_ticket_ids(session, event.id) == [original.id]
    assert [d.id for d in new.valid_days] == [d.id for d in original.valid_days]
    with pytest.raises(ValueError, match="VALID"):
        transfer_ticket_instance(session, original, event=event, order=order,
                                 holder_name="X", holder_email="x@x.org",
                                 master_secret=MASTER_SECRET)
    count = session.scalar(sa.select(sa.func.count()).select_from(TicketInstance))
    assert count == 2


def test_issue_refuses_mismatched_arguments(world: World, session: Session) -> None:
    organizer = world.person()
    event, other = world.event(organizer), world.event(organizer)
    tier = world.ticket_type(other, organizer)
    order = order_for(session, event, "D-1")
    with pytest.raises(ValueError, match="exactly one"):
        issue_ticket_instance(session, order=order, event=event, holder_name="x",
                              holder_email="x@x.org", master_secret=MASTER_SECRET)
    with pytest.raises(ValueError, match="belong together"):
        issue_ticket_instance(session, order=order, event=event, ticket_type=tier,
                              holder_name="x", holder_email="x@x.org",
                              master_secret=MASTER_SECRET)
