"""The desk (scanner_app/core/desk.py) against the real sync server: online sales, refusals in
words, offline sales from stock uploaded exactly once, a sale whose answer was lost settled
(complete, never half, never twice), voids, and the seller's totals."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from scanner_app.core.box_office import (
    Cart,
    SaleMode,
    SaleRefused,
    SaleState,
    build_request,
    tiers_by_id,
)
from scanner_app.core.desk import Desk
from scanner_app.storage import models as m
from shared.keys import Keyring
from shared.ticket_token import verify
from sync_server.tickets.models import TicketInstance, TicketStatus
from tests.box_office.conftest import BoxWorld, Network, open_desk_on
from tests.server.conftest import MASTER_SECRET


def request_for(desk: Desk, world: BoxWorld, general: int = 2, vip: int = 0, *,
                code: str | None = None, cash: str = "", contact: str = ""):  # type: ignore[no-untyped-def]
    tiers = tiers_by_id(desk.tiers())
    cart = Cart().add(world.general.id, general) if general else Cart()
    if vip:
        cart = cart.add(world.vip.id, vip)
    return build_request(tiers, cart, code=code or world.code(), cash=cash,
                         buyer_name="Ann Lee", contact=contact)


def server_ticket(world: BoxWorld, ticket_id: int) -> TicketInstance:
    world.server.session.expire_all()
    row = world.server.session.get(TicketInstance, ticket_id)
    assert row is not None
    return row


def test_an_online_sale_issues_signed_tickets_once(desk: Desk, world: BoxWorld) -> None:
    assert {t.name for t in desk.tiers()} >= {"Weekend pass", "VIP"}
    sale = desk.sell(request_for(desk, world, 2, cash="60"))
    assert (sale.mode, sale.state, len(sale.tickets)) == (SaleMode.ONLINE, SaleState.COMPLETED, 2)
    assert (sale.total_cents, sale.tendered_cents, sale.change_cents) == (5000, 6000, 1000)
    assert sale.order_number
    keyring = Keyring.derived(MASTER_SECRET, [(world.event.id, 1)])
    for ticket in sale.tickets:
        row = server_ticket(world, ticket.ticket_id)
        assert row.token == ticket.token and row.status is TicketStatus.VALID
        assert verify(ticket.token, keyring, [world.event.id]).ok
    [stored] = [s for s in world.server_sales() if s["client_sale_id"] == sale.sale_id]
    assert stored["status"] == "COMPLETED" and stored["total_cents"] == 5000
    assert desk.sale(sale.sale_id) == sale  # kept on the desk: reprintable
    assert desk.totals().cash_cents == 5000 and desk.totals().tickets == 2


def test_a_wrong_code_is_refused_before_anything_is_held(desk: Desk, world: BoxWorld) -> None:
    before = len(world.server_sales())
    with pytest.raises(SaleRefused) as refused:
        desk.sell(request_for(desk, world, 1, code=world.wrong_code()))
    assert refused.value.code == "wrong_seller_code" and "code" in refused.value.message
    assert len(world.server_sales()) == before and desk.sales() == []


def test_a_sale_beyond_the_allocation_is_refused_in_words(desk: Desk, world: BoxWorld) -> None:
    row = world.seller_view()
    row.allocated_tickets = row.sold_tickets + 1 + _stock_out(world)
    world.server.session.commit()
    with pytest.raises(SaleRefused) as refused:
        desk.sell(request_for(desk, world, 2))
    assert refused.value.code == "allocation_exceeded" and "allocation" in refused.value.message
    assert [s.state for s in desk.sales()] == []  # nothing held, nothing kept
    assert desk.sell(request_for(desk, world, 1)).state is SaleState.COMPLETED


def _stock_out(world: BoxWorld) -> int:
    view = world.report()
    return int(view.get("stock_out_tickets", 0))  # type: ignore[call-overload]


def test_bad_input_never_reaches_the_server(desk: Desk, world: BoxWorld) -> None:
    tiers = tiers_by_id(desk.tiers())
    for cart, cash, contact, code in [
        (Cart(), "", "", "empty"), (Cart().add(world.general.id), "5", "", "not_enough_cash"),
        (Cart().add(world.general.id), "", "nobody@", "bad_contact"),
    ]:
        with pytest.raises(SaleRefused) as refused:
            build_request(tiers, cart, code=world.code(), cash=cash, contact=contact)
        assert refused.value.code == code
    assert world.server_sales() == []


def test_offline_sales_come_from_stock_and_upload_exactly_once(
    net_desk: Desk, world: BoxWorld, network: Network
) -> None:
    stock = {t.tier_id: t.stock for t in net_desk.tiers()}
    assert stock[world.general.id] > 0, stock
    network.up = False
    sales = [net_desk.sell(request_for(net_desk, world, 1)) for _ in range(3)]
    assert {s.mode for s in sales} == {SaleMode.OFFLINE}
    assert all(not s.uploaded for s in sales)
    assert {t.tier_id for t in net_desk.tiers() if t.tier_id == world.general.id}
    assert net_desk.totals().waiting_upload == 3
    assert net_desk.refresh().error  # still offline: nothing lost, nothing sent
    network.up = True
    report = net_desk.refresh()
    assert (report.uploaded, report.duplicates, report.rejected) == (3, 0, 0), report
    assert net_desk.refresh().uploaded == 0  # nothing left to send
    ids = {s.sale_id for s in sales}
    stored = [s for s in world.server_sales() if s["client_sale_id"] in ids]
    assert len(stored) == 3 and {s["kind"] for s in stored} == {"OFFLINE"}
    # a re-send (e.g. the desk killed before it stored the answer) changes nothing
    with net_desk.store.transaction() as s:
        s.execute(sa.update(m.BoxSale).values(uploaded=False))
    assert net_desk.refresh().duplicates == 3
    assert len([s for s in world.server_sales() if s["client_sale_id"] in ids]) == 3
    assert world.seller_view().sold_tickets == 3


def test_offline_a_wrong_code_is_refused_and_stock_runs_out_in_words(
    net_desk: Desk, world: BoxWorld, network: Network
) -> None:
    network.up = False
    with pytest.raises(SaleRefused) as refused:
        net_desk.sell(request_for(net_desk, world, 1, code=world.wrong_code()))
    assert refused.value.code == "wrong_seller_code"
    held = {t.tier_id: t.stock for t in net_desk.tiers()}[world.vip.id]
    with pytest.raises(SaleRefused) as refused:
        net_desk.sell(request_for(net_desk, world, 0, vip=held + 1))
    assert refused.value.code == "no_stock" and "Offline" in refused.value.message


def test_a_confirm_whose_answer_was_lost_completes_once_on_the_next_refresh(
    net_desk: Desk, world: BoxWorld, network: Network, data_dir: Path
) -> None:
    network.lose_answer_to = "/confirm"
    request = request_for(net_desk, world, 2)
    with pytest.raises(SaleRefused) as refused:
        net_desk.sell(request)
    assert refused.value.code == "confirm_lost"
    [sale] = net_desk.sales()
    assert sale.state is SaleState.CONFIRMING and sale.tickets == ()
    net_desk.close()  # the app restarts
    again = open_desk_on(data_dir, net_desk.api.client)  # type: ignore[attr-defined]
    report = again.refresh()
    assert report.recovered == 1, report
    settled = again.sale(request.sale_id)
    assert settled is not None and settled.state is SaleState.COMPLETED
    assert len(settled.tickets) == 2
    stored = [s for s in world.server_sales() if s["client_sale_id"] == request.sale_id]
    assert len(stored) == 1 and stored[0]["status"] == "COMPLETED"
    assert {t["ticket_id"] for t in stored[0]["tickets"]} == {  # type: ignore[attr-defined]
        t.ticket_id for t in settled.tickets}
    again.close()


def test_a_void_refunds_on_the_server_and_revokes_the_tickets(desk: Desk,
                                                              world: BoxWorld) -> None:
    sale = desk.sell(request_for(desk, world, 1))
    with pytest.raises(SaleRefused):
        desk.void(sale.sale_id, "   ")
    voided = desk.void(sale.sale_id, "buyer changed their mind")
    assert voided.state is SaleState.VOIDED
    [stored] = [s for s in world.server_sales() if s["client_sale_id"] == sale.sale_id]
    assert stored["status"] == "REFUNDED"
    assert server_ticket(world, sale.tickets[0].ticket_id).status is TicketStatus.CANCELLED
    totals = desk.totals()
    assert (totals.sales, totals.voided_sales, totals.cash_cents) == (0, 1, 0)
    with pytest.raises(SaleRefused):
        desk.void(sale.sale_id, "twice")


def test_end_of_night_hands_unsold_stock_back(desk: Desk, world: BoxWorld) -> None:
    held = sum(t.stock for t in desk.tiers())
    assert held > 0
    assert desk.return_stock() == held
    assert sum(t.stock for t in desk.tiers()) == 0
    assert _stock_out(world) == 0


def test_the_device_kind_is_asked_once_and_kept(desk: Desk, world: BoxWorld) -> None:
    assert desk.is_box_office() is True
    assert desk.store.setting("device_kind") == "BOX_OFFICE"


def test_a_door_laptop_sells_online_when_the_seller_signs_in_with_a_password(
    world: BoxWorld, tmp_path: Path
) -> None:
    from sync_server.devices.models import DeviceKind
    from tests.server.conftest import PASSWORD

    with world.server.client() as client:
        world.pair(tmp_path / "door", client, name="North door", kind=DeviceKind.DOOR)
        door_desk = open_desk_on(tmp_path / "door", client)
        assert door_desk.is_box_office() is False
        with pytest.raises(SaleRefused) as refused:
            door_desk.sign_in(world.event.id, world.email, world.code())
        assert refused.value.code == "forbidden" and "box office" in refused.value.message
        seller = door_desk.sign_in(world.event.id, world.email, world.code(), PASSWORD)
        assert seller.seller_id == world.seller_row.id
        report = door_desk.refresh()
        assert report.error is None and report.stock_added == 0  # stock is for box offices
        sale = door_desk.sell(request_for(door_desk, world, 1))
        assert (sale.mode, sale.state) == (SaleMode.ONLINE, SaleState.COMPLETED)
        door_desk.close()
        again = open_desk_on(tmp_path / "door", client)  # the app restarts: still the seller's
        assert again.sell(request_for(again, world, 1)).state is SaleState.COMPLETED
        again.close()


def test_a_buyer_who_gave_an_email_address_gets_the_tickets_by_email(desk: Desk,
                                                                      world: BoxWorld) -> None:
    from sync_server.mail.models import OutboxMessage

    sale = desk.sell(request_for(desk, world, 1, contact="ann.lee@example.com"))
    assert sale.buyer_email == "ann.lee@example.com"
    world.server.session.expire_all()
    queued = world.server.session.scalars(sa.select(OutboxMessage.to_email)).all()
    assert "ann.lee@example.com" in queued
