"""Pairing devices (code and QR), listing, renaming and revoking them; staff and sellers."""

from __future__ import annotations

import base64
import io
import threading
from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa
import zxingcpp
from flask import Flask
from PIL import Image
from sqlalchemy.orm import Session

from sync_server.auth.tokens import token_hash
from sync_server.devices.models import Device, PairingCode
from sync_server.devices.services import create_pairing_code
from tests.server.conftest import World, bearer, error_code


def decode_qr(data_url: str) -> str:
    prefix = "data:image/png;base64,"
    assert data_url.startswith(prefix)
    image = Image.open(io.BytesIO(base64.b64decode(data_url[len(prefix):])))
    results = zxingcpp.read_barcodes(image.convert("L"))
    assert len(results) == 1
    return str(results[0].text)


def test_pair_a_door_by_qr_then_rename_list_and_revoke(
    api: httpx.Client, world: World, session: Session
) -> None:
    organizer = world.person()
    friday, saturday = world.event(organizer), world.event(organizer)
    h = organizer.headers
    created = api.post(f"/events/{friday.id}/pairing-codes", headers=h,
                       json={"name": "Front door", "also_event_ids": [saturday.id]})
    assert created.status_code == 201, created.text
    code = created.json()["code"]
    # The real decoder reads the server's address and the code: one scan pairs a door.
    assert decode_qr(created.json()["qr_png_data_url"]) == f"stepperslife-pair:http://testserver#{code}"
    assert created.json()["event_ids"] == [friday.id, saturday.id]
    assert session.scalars(sa.select(PairingCode.code_hash)).one() == token_hash(code)

    paired = api.post("/devices/pair", json={"code": f" {code.lower()[:5]}-{code[5:]} "})
    assert paired.status_code == 201, paired.text
    token = paired.json()["device_token"]
    assert token.startswith("sld_")
    assert [e["id"] for e in paired.json()["events"]] == [friday.id, saturday.id]
    device_id = paired.json()["device"]["id"]

    reused = api.post("/devices/pair", json={"code": code})
    assert (reused.status_code, error_code(reused)) == (400, "pairing_code_invalid")

    device_row = session.get(Device, device_id)
    assert device_row is not None
    device_row.last_seen_at = datetime.now(UTC) - timedelta(hours=1)
    session.commit()
    me = api.get("/device", headers=bearer(token))
    assert me.json()["device"]["name"] == "Front door"
    seen = datetime.fromisoformat(me.json()["device"]["last_seen_at"])
    assert datetime.now(UTC) - seen < timedelta(minutes=5)
    assert api.get(f"/events/{friday.id}/door", headers=bearer(token)).status_code == 200

    renamed = api.patch(f"/events/{friday.id}/devices/{device_id}", headers=h,
                        json={"name": "Side door"})
    assert renamed.json()["device"]["name"] == "Side door"
    listed = api.get(f"/events/{saturday.id}/devices", headers=h).json()["devices"]
    assert [d["name"] for d in listed] == ["Side door"]

    revoked = api.post(f"/events/{friday.id}/devices/{device_id}/revoke", headers=h)
    assert revoked.json()["device"]["revoked"] is True
    gone = api.get("/device", headers=bearer(token))
    assert (gone.status_code, error_code(gone)) == (401, "device_revoked")
    door = api.get(f"/events/{saturday.id}/door", headers=bearer(token))
    assert (door.status_code, error_code(door)) == (401, "device_revoked")


def test_pairing_codes_expire_and_cannot_name_foreign_events(
    api: httpx.Client, world: World, session: Session
) -> None:
    organizer, stranger = world.person(), world.person()
    mine, theirs = world.event(organizer), world.event(stranger)
    foreign = api.post(f"/events/{mine.id}/pairing-codes", headers=organizer.headers,
                       json={"name": "Door", "also_event_ids": [theirs.id]})
    assert (foreign.status_code, error_code(foreign)) == (403, "forbidden")
    unknown = api.post(f"/events/{mine.id}/pairing-codes", headers=organizer.headers,
                       json={"name": "Door", "also_event_ids": [999_999]})
    assert (unknown.status_code, error_code(unknown)) == (404, "not_found")
    assert session.scalar(sa.select(sa.func.count()).select_from(PairingCode)) == 0

    code = api.post(f"/events/{mine.id}/pairing-codes", headers=organizer.headers,
                    json={"name": "Door"}).json()["code"]
    row = session.scalars(sa.select(PairingCode)).one()
    row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    session.commit()
    late = api.post("/devices/pair", json={"code": code})
    assert (late.status_code, error_code(late)) == (400, "pairing_code_invalid")
    wrong = api.post("/devices/pair", json={"code": "NOTACODE22"})
    assert (wrong.status_code, error_code(wrong)) == (400, "pairing_code_invalid")


def test_pairing_attempts_are_rate_limited(api: httpx.Client) -> None:
    statuses = [api.post("/devices/pair", json={"code": f"GUESS{i:05d}"}).status_code
                for i in range(21)]
    assert statuses[:20] == [400] * 20
    assert statuses[20] == 429


def test_staff_and_sellers(api: httpx.Client, world: World) -> None:
    organizer, door, seller = world.person(), world.person("Dora Door"), world.person("Sy")
    event = world.event(organizer)
    h = organizer.headers
    expires = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    added = api.post(f"/events/{event.id}/staff", headers=h,
                     json={"email": door.user.email.upper(), "access_expires_at": expires})
    assert added.status_code == 201, added.text
    staff = added.json()["staff"]
    assert (staff["name"], staff["role"]) == ("Dora Door", "SCANNER")
    twice = api.post(f"/events/{event.id}/staff", headers=h,
                     json={"email": door.user.email, "access_expires_at": expires})
    assert (twice.status_code, error_code(twice)) == (409, "conflict")
    assert api.get(f"/events/{event.id}/door", headers=door.headers).status_code == 200
    assert [s["id"] for s in api.get(f"/events/{event.id}/staff", headers=h).json()["staff"]] == [
        staff["id"]]
    assert api.delete(f"/events/{event.id}/staff/{staff['id']}", headers=h).status_code == 200
    after = api.get(f"/events/{event.id}/door", headers=door.headers)
    assert (after.status_code, error_code(after)) == (403, "forbidden")

    sold = api.post(f"/events/{event.id}/sellers", headers=h, json={
        "email": seller.user.email, "allocated_tickets": 40, "commission_rate_bp": 1250})
    assert sold.status_code == 201, sold.text
    body = sold.json()["seller"]
    assert (body["allocated_tickets"], body["commission_rate_bp"], body["status"]) == (
        40, 1250, "ACTIVE")
    assert len(body["current_code"]) == 4 and body["current_code"].isdigit()
    revoked = api.delete(f"/events/{event.id}/sellers/{body['id']}", headers=h)
    assert revoked.status_code == 200
    listed = api.get(f"/events/{event.id}/sellers", headers=h).json()["sellers"]
    assert [s["status"] for s in listed] == ["REVOKED"]
    again = api.post(f"/events/{event.id}/sellers", headers=h, json={"email": seller.user.email})
    assert again.status_code == 201 and again.json()["seller"]["id"] == body["id"]


def test_one_pairing_code_pairs_exactly_one_device_under_a_race(
    app: Flask, world: World, session: Session
) -> None:
    organizer = world.person()
    event = world.event(organizer)
    code, _row = create_pairing_code(session, by=organizer.user, events=[event],
                                     device_name="Door")
    session.commit()
    start = threading.Barrier(6)
    statuses: list[int] = []

    def claim() -> None:
        with httpx.Client(transport=httpx.WSGITransport(app=app),
                          base_url="http://testserver/api/v1") as client:
            start.wait()
            statuses.append(client.post("/devices/pair", json={"code": code}).status_code)

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201, 400, 400, 400, 400, 400]
    assert session.scalar(sa.select(sa.func.count()).select_from(Device)) == 1
