"""A desk killed (SIGKILL) while it sells offline: every sale is whole or absent — a stock
ticket is taken only with its sale and the sale's ticket row — and after restart the sales
upload to the real server exactly once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from scanner_app.core.box_office import SaleMode, SaleState
from scanner_app.core.desk import Desk
from scanner_app.storage import models as m
from tests.box_office.conftest import BoxWorld, open_desk_on

ROOT = Path(__file__).resolve().parents[2]


def test_a_desk_killed_mid_sale_keeps_each_sale_whole_and_uploads_it_once(
    desk: Desk, world: BoxWorld, data_dir: Path
) -> None:
    tier = world.general.id
    code = world.code()
    held = {t.tier_id: t.stock for t in desk.tiers()}[tier]
    assert held >= 5, held
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STEPPERSLIFE_DOOR_NO_KEYRING": "1"}
    child = subprocess.Popen([sys.executable, "-m", "tests.box_office.crash_child",
                              str(data_dir), str(tier), code],
                             stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    assert child.stdout is not None
    done = [child.stdout.readline().strip() for _ in range(3)]
    time.sleep(random.uniform(0.0, 0.05))  # somewhere inside a later sale
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    child.stdout.close()

    with desk.store.transaction() as s:
        sales = {r.sale_id: r for r in s.scalars(sa.select(m.BoxSale))}
        taken = list(s.scalars(sa.select(m.BoxStock).where(m.BoxStock.sale_id.is_not(None))))
        tickets = list(s.scalars(sa.select(m.BoxSaleTicket)))
    assert set(done) <= set(sales)
    assert {r.state for r in sales.values()} == {SaleState.COMPLETED.value}
    assert sorted(t.ticket_id for t in taken) == sorted(t.ticket_id for t in tickets)
    for stock in taken:
        assert stock.sale_id in sales
    assert all(any(t.sale_id == sale_id for t in tickets) for sale_id in sales)

    # back online after the restart: every offline sale reaches the server, once
    with world.server.client() as client:
        again = open_desk_on(data_dir, client)
        report = again.refresh()
        assert report.uploaded == len(sales) and report.rejected == 0, report
        assert again.refresh().uploaded == 0
        assert {s.mode for s in again.sales()} == {SaleMode.OFFLINE}
        again.close()
    stored = [s for s in world.server_sales() if s["client_sale_id"] in sales]
    assert len(stored) == len(sales)
    assert world.seller_view().sold_tickets == len(sales)
