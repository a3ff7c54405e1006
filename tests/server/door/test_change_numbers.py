"""Change numbers: taken at commit under the event's counter lock, so commit order = number order.

The pitfall they avoid: with a plain sequence a transaction holding number 41 can commit after
another one committed 42, and a door that already read 42 would never see 41.
"""

from __future__ import annotations

import threading

import httpx
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from shared import protocol as p
from sync_server.door.changes import current_revision, next_change, touch_tickets
from sync_server.keys.services import revoke_ticket
from sync_server.tickets.models import TicketInstance, TicketStatus
from tests.server.door.conftest import Setup, download


def _change(session: Session, ticket_id: int) -> int:
    session.expire_all()
    value = session.scalar(sa.select(TicketInstance.door_change)
                           .where(TicketInstance.id == ticket_id))
    return int(value or 0)


def test_a_writer_cannot_commit_a_later_number_while_an_earlier_one_is_open(
    app: Flask, door_setup: Setup, session: Session
) -> None:
    factory: sessionmaker[Session] = app.extensions["sync_db_sessionmaker"]
    first_id, second_id = door_setup.tickets[0].id, door_setup.tickets[1].id
    event_id = door_setup.event.id
    before = current_revision(session, event_id)

    a = factory()
    ticket = a.get(TicketInstance, first_id)
    assert ticket is not None
    ticket.holder_name = "Changed by A"
    a.flush()
    taken = next_change(a, event_id)  # A is committing: it holds the event's counter row
    assert taken == before + 1
    assert current_revision(session, event_id) == before  # nobody sees A's number yet

    finished = threading.Event()

    def writer_b() -> None:
        with factory() as b:
            other = b.get(TicketInstance, second_id)
            assert other is not None
            other.holder_name = "Changed by B"
            b.commit()
        finished.set()

    thread = threading.Thread(target=writer_b)
    thread.start()
    try:
        assert not finished.wait(1.0), "B committed a change number while A held an earlier one"
        a.commit()
    finally:
        a.close()
        thread.join(20)
    assert finished.is_set()
    assert before < _change(session, first_id) < _change(session, second_id)
    assert current_revision(session, event_id) == _change(session, second_id)


def test_a_rolled_back_savepoint_does_not_lose_the_outer_changes(
    door_setup: Setup, session: Session
) -> None:
    # (the savepoint's row may be numbered too: re-sending an unchanged row is harmless)
    kept, dropped = door_setup.tickets[0], door_setup.tickets[1]
    old = _change(session, kept.id)
    kept.holder_name = "Kept"
    nested = session.begin_nested()
    dropped.holder_name = "Dropped"
    session.flush()
    nested.rollback()
    session.commit()
    assert old < _change(session, kept.id) == current_revision(session, door_setup.event.id)
    session.expire_all()
    assert dropped.holder_name != "Dropped"


def test_bulk_writers_number_their_rows_with_touch_tickets(
    door_setup: Setup, session: Session
) -> None:
    ids = [t.id for t in door_setup.tickets]
    session.execute(sa.update(TicketInstance).where(TicketInstance.id.in_(ids))
                    .values(status=TicketStatus.CANCELLED))
    touch_tickets(session, door_setup.event.id, ids)
    session.commit()
    revision = current_revision(session, door_setup.event.id)
    assert {_change(session, i) for i in ids} == {revision}


def test_a_rollback_forgets_what_it_collected(door_setup: Setup, session: Session) -> None:
    before = current_revision(session, door_setup.event.id)
    door_setup.tickets[0].holder_name = "Never"
    session.flush()
    session.rollback()
    session.commit()
    assert current_revision(session, door_setup.event.id) == before


def test_a_revocation_alone_and_a_renamed_ticket_type_reach_the_deltas(
    api: httpx.Client, door_setup: Setup, session: Session
) -> None:
    setup = door_setup
    first = download(api, setup.north, setup.event.id)
    revoked = setup.tickets[2]
    revoke_ticket(session, event_id=setup.event.id, ticket_instance_id=revoked.id,
                  reason="reissued")
    session.commit()
    delta = download(api, setup.north, setup.event.id, first.cursor)
    assert [(r.ticket_id, r.reason) for r in delta.revocations] == [
        (revoked.id, p.RevocationReason.REISSUED)]
    assert [t.ticket_id for t in delta.tickets] == [revoked.id]

    setup.ticket_type.name = "Renamed tier"
    session.commit()
    renamed = download(api, setup.north, setup.event.id, delta.cursor)
    assert {t.ticket_id for t in renamed.tickets} == {t.id for t in setup.tickets}
    assert {t.ticket_type for t in renamed.tickets} == {"Renamed tier"}
    # the revoked ticket was renumbered too, so its revocation comes again: harmless
    assert [r.ticket_id for r in renamed.revocations] == [revoked.id]
