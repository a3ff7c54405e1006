"""Two real door processes and a real server process: conflicts and transfers end to end."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa

from sync_server.door.models import DoorScan
from sync_server.orders.models import Order
from sync_server.tickets.models import TicketInstance
from sync_server.tickets.services import first_day_start, transfer_ticket_instance
from tests.e2e.conftest import DoorProcess, Stage
from tests.server.conftest import MASTER_SECRET


def _pair(door: DoorProcess, stage: Stage, name: str) -> None:
    answer = door.run("pair", "--server", stage.server.url, "--code", stage.pairing_code(name))
    assert answer["paired"] is True and answer["device_name"] == name
    synced = door.run("sync")
    assert synced["synced"] is True and synced["tickets"] == len(stage.tickets)


def test_two_offline_doors_admit_one_ticket_and_both_see_the_conflict(
    stage: Stage, make_door: Callable[[str], DoorProcess]
) -> None:
    north, south = make_door("north"), make_door("south")
    _pair(north, stage, "North")
    _pair(south, stage, "South")
    token = stage.tickets[0].token
    assert token is not None
    stage.server.stop()  # both doors offline
    assert north.run("check", "--payload", token)["code"] == "admit"
    assert south.run("check", "--payload", token)["code"] == "admit"
    assert north.run("sync", ok=False)["synced"] is False
    stage.server.start()
    assert north.run("sync")["conflicts"] == 0
    assert south.run("sync")["conflicts"] == 1
    north.run("sync")

    rows = stage.session.execute(
        sa.select(DoorScan.door, DoorScan.lost_to_id).order_by(DoorScan.scanned_at)).all()
    assert [(door, lost is None) for door, lost in rows] == [("North", True), ("South", False)]
    for door in (north, south):
        status = door.run("status")
        assert status["conflicts"] == 1, status
        assert [(c["door"], c["winning_door"]) for c in status["conflict_list"]] == [
            ("South", "North")]


def test_a_ticket_transferred_while_a_door_was_offline_is_refused_after_the_next_sync(
    stage: Stage, make_door: Callable[[str], DoorProcess]
) -> None:
    north = make_door("north")
    _pair(north, stage, "North")
    stage.server.stop()
    ticket = stage.session.get(TicketInstance, stage.tickets[1].id)
    assert ticket is not None and ticket.token is not None
    order = stage.session.get(Order, ticket.order_id)
    assert order is not None
    new = transfer_ticket_instance(stage.session, ticket, event=stage.event, order=order,
                                   holder_name="New Holder", holder_email="new@example.com",
                                   master_secret=MASTER_SECRET,
                                   now=first_day_start(stage.event) - timedelta(minutes=5))
    stage.session.commit()
    stage.server.start()
    north.run("sync")
    assert north.run("check", "--payload", ticket.token)["code"] == "revoked"
    assert new.token is not None
    assert north.run("check", "--payload", new.token)["code"] == "admit"
