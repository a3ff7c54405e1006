"""Real processes end to end: a ``sync-server run`` process, a box office and a door
(``scanner-app`` processes). The venue's internet goes down; the box office makes three cash
sales from its stock, the door admits the three tickets offline (their signatures verify with
the keys it holds), both reconnect, and the server has each sale once and the seller's totals
right. A second upload changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import sqlalchemy as sa
from argon2 import PasswordHasher

from sync_server.accounts.services import create_user
from sync_server.auth.tokens import issue_api_token
from sync_server.devices.models import DeviceKind
from sync_server.devices.services import create_pairing_code
from sync_server.staff.models import AuthorizedSeller
from sync_server.staff.services import add_seller
from tests.e2e.conftest import DoorProcess, Stage

SELLER_EMAIL = "sam.seller@example.test"


def _organizer_get(stage: Stage, token: str, path: str, **params: object) -> dict:  # type: ignore[type-arg]
    answer = httpx.get(f"{stage.server.url}/api/v1/events/{stage.event.id}/box-office/{path}",
                       params=params, headers={"Authorization": f"Bearer {token}"},
                       timeout=10.0)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_three_offline_cash_sales_are_admitted_offline_and_reach_the_server_once(
    stage: Stage, make_door: Callable[[str], DoorProcess]
) -> None:
    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    create_user(stage.session, email=SELLER_EMAIL, password="correct horse battery",
                name="Sam Seller", hasher=hasher)
    add_seller(stage.session, stage.event, by=stage.organizer, email=SELLER_EMAIL,
               allocated_tickets=40, commission_rate_bp=1000)
    organizer_token, _ = issue_api_token(stage.session, stage.organizer, days=1)
    stage.session.commit()
    seller = stage.session.scalars(sa.select(AuthorizedSeller)).one()
    [code] = [c["code"] for c in _organizer_get(stage, organizer_token, "codes")["codes"]
              if c["seller_id"] == seller.id]

    box, door = make_door("box"), make_door("door")
    pairing, _ = create_pairing_code(stage.session, by=stage.organizer, events=[stage.event],
                                     device_name="Front desk", kind=DeviceKind.BOX_OFFICE)
    stage.session.commit()
    assert box.run("pair", "--server", stage.server.url, "--code", pairing)["paired"]
    box.run("sync")
    signed_in = box.run("sign-in", "--email", SELLER_EMAIL, "--code", code)
    assert signed_in["signed_in"] is True and signed_in["refresh"]["stock_added"] > 0, signed_in
    assert door.run("pair", "--server", stage.server.url,
                    "--code", stage.pairing_code("North"))["paired"]
    door.run("sync")

    stage.server.stop()  # the venue's internet is down for both
    sold = [box.run("sell", "--tier", "Social=1", "--code", code, "--buyer", f"Buyer {i}",
                    "--cash", "20") for i in range(3)]
    assert [s["mode"] for s in sold] == ["offline"] * 3, sold
    assert [s["change_cents"] for s in sold] == [500] * 3
    tokens = [s["tickets"][0]["token"] for s in sold]
    assert len(set(tokens)) == 3
    for token in tokens:
        verdict = door.run("check", "--payload", token)
        assert verdict["admitted"] is True, verdict
    refused = box.command("sell", "--tier", "Social=1", "--code", "0000" if code != "0000"
                          else "1111")
    assert refused.returncode == 1 and '"wrong_seller_code"' in refused.stdout

    stage.server.start()
    report = box.run("sync")["box_office"]
    assert report["uploaded"] == 3 and report["rejected"] == 0, report
    assert box.run("sync")["box_office"]["uploaded"] == 0  # exactly once
    assert door.run("sync")["synced"] is True

    sales = _organizer_get(stage, organizer_token, "sales", seller_id=seller.id)["sales"]
    assert sorted(s["client_sale_id"] for s in sales) == sorted(s["sale_id"] for s in sold)
    assert {s["kind"] for s in sales} == {"OFFLINE"} and {s["status"] for s in sales} == {
        "COMPLETED"}
    view = _organizer_get(stage, organizer_token, "report", seller_id=seller.id)
    [row] = [r for r in view["sellers"] if r["seller_id"] == seller.id]
    assert row["sold_tickets"] == 3 and row["sales_count"] == 3, row
    assert row["cash_owed_cents"] == 3 * 1500 and row["commission_cents"] == 3 * 150, row
    totals = box.run("sales")["totals"]
    assert (totals["sales"], totals["cash_cents"], totals["waiting_upload"]) == (3, 4500, 0)
