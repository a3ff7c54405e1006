"""Seller's and organizer's views, the reconciliation files over the API, codes of the day, and
bad input refused with words (never a 500)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx
import pytest
from sqlalchemy.orm import Session

from sync_server.box_office.codes import code_for, local_date
from sync_server.events.models import Event
from tests.server.box_office.conftest import Desk, hold, new_id
from tests.server.conftest import World, error_code


def sell(api: httpx.Client, desk: Desk, quantity: int) -> dict[str, object]:
    sale = hold(api, desk, quantity).json()["sale"]
    done = api.post(f"{desk.base}/holds/{sale['sale_id']}/confirm", headers=desk.device,
                    json={"code": desk.code(), "seller_id": desk.seller_id})
    assert done.status_code == 200, done.text
    result: dict[str, object] = done.json()["sale"]
    return result


def test_the_seller_sees_their_own_code_totals_and_sales(api: httpx.Client, desk: Desk,
                                                         world: World) -> None:
    sell(api, desk, 3)
    me = api.get(desk.base + "/me", headers=desk.seller.headers)
    assert me.status_code == 200, me.text
    assert me.json()["code"] == desk.code()
    assert me.json()["seller"]["cash_owed_cents"] == 7500
    by_device = api.get(desk.base + "/me", params={"seller_id": desk.seller_id},
                        headers=desk.device)
    assert by_device.json()["code"] is None  # a desk never reads the code back
    sales = api.get(desk.base + "/sales", headers=desk.seller.headers).json()["sales"]
    assert [s["quantity"] for s in sales] == [3]
    # Another seller of the event sees only their own.
    other = world.person("Olga Other")
    world.seller(desk.event, desk.organizer, other, allocated=5)
    theirs = api.get(desk.base + "/sales", headers=other.headers)
    assert theirs.status_code == 200 and theirs.json()["sales"] == []
    as_them = api.get(desk.base + "/report", params={"seller_id": desk.seller_id},
                      headers=other.headers)
    assert (as_them.status_code, error_code(as_them)) == (403, "forbidden")
    sale_id = sales[0]["sale_id"]
    refund = api.post(f"{desk.base}/sales/{sale_id}/refund", headers=other.headers,
                      json={"reason": "not mine"})
    assert (refund.status_code, error_code(refund)) == (404, "not_found")


def test_reconciliation_csv_and_pdf(api: httpx.Client, desk: Desk) -> None:
    sell(api, desk, 2)
    csv = api.get(desk.base + "/report.csv", headers=desk.organizer.headers)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.splitlines()
    assert lines[0].startswith("seller_id,name,email")
    assert lines[1].split(",")[9:12] == ["5000", "500", "4500"]  # owed, commission, net
    assert lines[-1].split(",")[1] == "TOTAL"
    pdf = api.get(desk.base + "/report.pdf", headers=desk.organizer.headers)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    codes = api.get(desk.base + "/codes", headers=desk.organizer.headers).json()
    assert codes["codes"] == [{"seller_id": desk.seller_id, "name": "Sam Seller",
                               "code": desk.code()}]


def test_a_spreadsheet_never_runs_a_seller_name(api: httpx.Client, desk: Desk,
                                                session: Session) -> None:
    from sync_server.staff.models import AuthorizedSeller

    row = session.get(AuthorizedSeller, desk.seller_id)
    assert row is not None
    row.seller_name = "=HYPERLINK(\"http://evil\")"
    session.commit()
    csv = api.get(desk.base + "/report.csv", headers=desk.organizer.headers).text
    assert "'=HYPERLINK" in csv


def test_codes_change_at_the_events_local_midnight(desk: Desk, session: Session) -> None:
    event = session.get(Event, desk.event.id)
    assert event is not None and event.timezone == "America/Chicago"
    before = datetime(2030, 6, 7, 4, 59, tzinfo=UTC)  # 23:59 in Chicago (CDT), June 6
    after = datetime(2030, 6, 7, 5, 0, tzinfo=UTC)  # 00:00 in Chicago, June 7
    assert local_date(event, before) == date(2030, 6, 6)
    assert local_date(event, after) == date(2030, 6, 7)
    days = [code_for(b"k" * 32, "salt", 1, date(2030, 6, d)) for d in range(1, 29)]
    assert all(len(c) == 4 and c.isdigit() for c in days)
    assert len(set(days)) > 20  # they do change day to day
    assert code_for(b"k" * 32, "salt", 1, date(2030, 6, 1)) != code_for(
        b"k" * 32, "other salt", 1, date(2030, 6, 1))


@pytest.mark.parametrize("body, field", [
    ({"items": []}, "items"),
    ({"items": [{"ticket_type_id": 1, "quantity": 0}]}, "items[0].quantity"),
    ({"items": [{"ticket_type_id": 1, "quantity": 1}], "client_sale_id": "no spaces"},
     "client_sale_id"),
    ({"items": [{"ticket_type_id": 1, "quantity": 1}], "buyer_email": "nope"}, "buyer_email"),
    ({"items": [{"ticket_type_id": 1, "quantity": 1}], "extra": 1}, "extra"),
])
def test_bad_holds_are_refused_with_fields(api: httpx.Client, desk: Desk,
                                           body: dict[str, object], field: str) -> None:
    full = {"client_sale_id": new_id(), "seller_id": desk.seller_id, **body}
    refused = api.post(desk.base + "/holds", headers=desk.device, json=full)
    assert (refused.status_code, error_code(refused)) == (422, "validation_failed")
    assert field in refused.json()["error"]["fields"]


def test_other_bad_input_is_refused_with_words(api: httpx.Client, desk: Desk,
                                               world: World) -> None:
    no_seller = api.post(desk.base + "/holds", headers=desk.device, json={
        "client_sale_id": new_id(),
        "items": [{"ticket_type_id": desk.tier.id, "quantity": 1}]})
    assert (no_seller.status_code, error_code(no_seller)) == (422, "validation_failed")
    other_event = world.event(desk.organizer)
    foreign = world.ticket_type(other_event, desk.organizer)
    wrong_type = api.post(desk.base + "/holds", headers=desk.device, json={
        "client_sale_id": new_id(), "seller_id": desk.seller_id,
        "items": [{"ticket_type_id": foreign.id, "quantity": 1}]})
    assert (wrong_type.status_code, error_code(wrong_type)) == (422, "validation_failed")
    unknown_sale = api.post(f"{desk.base}/holds/987654/confirm", headers=desk.device,
                            json={"code": "1234", "seller_id": desk.seller_id})
    assert (unknown_sale.status_code, error_code(unknown_sale)) == (404, "not_found")
    bad_code = api.post(desk.base + "/sign-in", headers=desk.device,
                        json={"email": desk.seller.user.email, "code": "12a4"})
    assert (bad_code.status_code, error_code(bad_code)) == (422, "validation_failed")
    stranger = api.post(desk.base + "/sign-in", headers=desk.device,
                        json={"email": "nobody@example.test", "code": "1234"})
    assert (stranger.status_code, error_code(stranger)) == (404, "not_found")
    revoked = api.delete(f"/events/{desk.event.id}/sellers/{desk.seller_id}",
                         headers=desk.organizer.headers)
    assert revoked.status_code == 200
    inactive = hold(api, desk, 1)
    assert (inactive.status_code, error_code(inactive)) == (403, "seller_inactive")
    not_json = api.post(desk.base + "/holds", headers={**desk.device,
                                                       "Content-Type": "application/json"},
                        content=b"{nope")
    assert (not_json.status_code, error_code(not_json)) == (400, "malformed_json")


def test_a_dropped_hold_frees_the_allocation(api: httpx.Client, desk: Desk) -> None:
    sale = hold(api, desk, 10).json()["sale"]
    dropped = api.delete(f"{desk.base}/holds/{sale['sale_id']}",
                         params={"seller_id": desk.seller_id}, headers=desk.device)
    assert dropped.status_code == 200 and dropped.json()["sale"]["status"] == "RELEASED"
    assert hold(api, desk, 10).status_code == 201
    confirm_dropped = api.post(f"{desk.base}/holds/{sale['sale_id']}/confirm",
                               headers=desk.device,
                               json={"code": desk.code(), "seller_id": desk.seller_id})
    assert (confirm_dropped.status_code, error_code(confirm_dropped)) == (409, "invalid_state")
