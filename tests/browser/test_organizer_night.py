"""THE organizer's night, in Chromium from nothing up to the scan: sign up, create an event, add
a day and two tiers, publish, pair a door by the QR on screen (its payload read from the page,
and the drawn QR decoded from a screenshot: the same text), sell through the API's checkout,
scan with the door's headless ``check``, and see the entry on the dashboard.

The door is the real door app's command line (``scanner_app.cli``), in this process, over real
HTTP to the live server (as ``tests/scanner_core/test_cli.py`` drives it).
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from flask import Flask
from PIL import Image
from playwright.sync_api import Page, expect
from pyzbar import pyzbar

from scanner_app import cli
from scanner_app.core.pairing import parse_pairing_payload
from tests.browser.look import capture, look
from tests.browser.organizer_world import session_of
from tests.browser.test_account_pages import verify_link
from tests.server.conftest import World

ZONE = "America/Chicago"
LOCAL = "%Y-%m-%dT%H:%M"


def door(capsys: pytest.CaptureFixture[str], data_dir: Path, *args: str) -> Any:
    code = cli.main(["--data-dir", str(data_dir), *args])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def tonight() -> tuple[str, str]:
    """A day under way: from an hour ago (not before local midnight) for six hours, as the
    wall clock of the event's zone shows it."""
    now = datetime.now(UTC).astimezone(ZoneInfo(ZONE)).replace(second=0, microsecond=0)
    start = max(now - timedelta(hours=1), now.replace(hour=0, minute=0))
    return start.strftime(LOCAL), (start + timedelta(hours=6)).strftime(LOCAL)


def test_an_organizers_night_from_nothing_to_the_first_entry(
    live_app: tuple[Flask, str], laptop: Page, capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    app, base = live_app
    page = laptop
    # --- an organizer signs up and creates the event --------------------------------------
    page.goto(f"{base}/sign-up")
    page.get_by_label("Name").fill("Nia Night")
    page.get_by_label("E-mail").fill("nia@example.com")
    page.get_by_label("Password").fill("step-in-time-2026")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    page.goto(f"{base}{verify_link(app, 'nia@example.com')}")  # the link the mail carries
    page.goto(f"{base}/organize")
    look(page, "night-01-empty-dashboard-laptop")
    page.get_by_role("link", name="New event").click()
    starts, ends = tonight()
    page.get_by_label("Kind of event").select_option("TICKETED_EVENT")
    page.get_by_label("Name", exact=True).fill("Friday Night Steppers Set")
    page.get_by_label("Description").fill("Chicago steppin' all night. Doors at nine.")
    page.get_by_label("Starts").fill(starts)
    page.get_by_label("Time zone").select_option(ZONE)
    page.get_by_label("Venue").fill("The Promontory")
    page.get_by_label("Street address").fill("5311 S Lake Park Ave W")
    page.get_by_label("City").fill("Chicago")
    page.get_by_label("State").fill("IL")
    page.get_by_label("Categories").fill("Set, Social")
    page.get_by_label("Price at the door").fill("$30 at the door")
    look(page, "night-02-new-event-laptop")
    page.get_by_role("button", name="Create draft").click()
    expect(page.get_by_text("Event created as a draft")).to_be_visible()
    event_id = int(page.url.rstrip("/").split("/")[-2])

    # --- a day and two tiers ---------------------------------------------------------------
    day_form = page.locator("form", has=page.get_by_role("button", name="Add day"))
    day_form.get_by_label("Doors open").fill(starts)
    day_form.get_by_label("Ends").fill(ends)
    day_form.get_by_role("button", name="Add day").click()
    expect(page.get_by_role("cell", name="1", exact=True)).to_be_visible()
    for name, price, how_many in (("Early entry", "0", "50"), ("General", "25.00", "200")):
        tier_form = page.locator("form", has=page.get_by_role("button", name="Add ticket type"))
        if not tier_form.is_visible():
            page.get_by_text("Add a ticket type").click()
        tier_form.get_by_label("Name").fill(name)
        tier_form.get_by_label("Price ($)").fill(price)
        tier_form.get_by_label("How many").fill(how_many)
        tier_form.get_by_role("button", name="Add ticket type").click()
        expect(page.get_by_role("cell", name=name, exact=True)).to_be_visible()
    look(page, "night-03-tickets-laptop")

    # --- publish -------------------------------------------------------------------------------
    page.get_by_role("link", name="Publish…").click()
    expect(page.get_by_text("its 2 ticket types go on sale")).to_be_visible()
    look(page, "night-04-publish-laptop")
    page.get_by_role("button", name="Publish now").click()
    expect(page.get_by_text("Published: buyers can find it")).to_be_visible()

    # --- pair a door by the QR on screen -------------------------------------------------------
    page.get_by_role("link", name="People").click()
    page.get_by_label("Door name").fill("North door")
    page.get_by_role("button", name="Add a door: show its pairing QR").click()
    qr = page.locator("#pairing-qr")
    expect(qr).to_be_visible()
    look(page, "night-05-pairing-qr-laptop")
    payload = qr.get_attribute("data-payload")
    assert payload is not None and payload.startswith(f"stepperslife-pair:{base}")
    drawn = pyzbar.decode(Image.open(io.BytesIO(capture(qr))))
    assert [d.data.decode() for d in drawn] == [payload]  # what the door's camera reads
    parsed = parse_pairing_payload(payload)
    assert parsed is not None
    server, code = parsed
    data_dir = tmp_path / "door"
    paired = door(capsys, data_dir, "pair", "--server", server, "--code", code)
    assert paired["paired"] is True and paired["event_ids"] == [event_id]
    page.get_by_role("link", name="Done").click()
    expect(page.get_by_role("cell", name="North door", exact=True)).to_be_visible()

    # --- sell (the API's checkout), sync the door, scan ---------------------------------------
    session = session_of(app)
    buyer = World(app, session).person("Bea Buyer")
    with httpx.Client(base_url=f"{base}/api/v1", headers=buyer.headers) as api:
        tiers = api.get(f"/events/{event_id}/ticket-types").json()["ticket_types"]
        early = next(t for t in tiers if t["name"] == "Early entry")
        sold = api.post("/checkout", json={"event_id": event_id, "items": [
            {"ticket_type_id": early["id"], "quantity": 1}]})
    assert sold.status_code == 201, sold.text
    order = sold.json()["order"]
    assert order["payment_status"] == "COMPLETED"
    token = order["tickets"][0]["token"]
    assert door(capsys, data_dir, "sync")["tickets"] == 1
    verdict = door(capsys, data_dir, "check", "--payload", token)
    assert verdict["code"] == "admit" and verdict["holder_name"] == "Bea Buyer"
    assert door(capsys, data_dir, "sync")["uploaded"] == 1

    # --- the entry on the dashboard --------------------------------------------------------------
    page.goto(f"{base}/organize")
    expect(page.locator("#today-entries")).to_have_text("1")
    card = page.locator(f'[data-event-id="{event_id}"]')
    expect(card.locator(".entries")).to_have_text("1 in")
    expect(page.get_by_role("heading", name="Tonight (1)")).to_be_visible()
    look(page, "night-06-dashboard-first-entry-laptop")

    # --- and on the live door page, reached by the event's tabs ----------------------------------
    page.goto(f"{base}/organize/events/{event_id}")
    tabs = page.get_by_role("navigation", name="This event")
    tabs.get_by_role("link", name="At the door").click()
    expect(page.locator('[data-figure="entries"]')).to_have_text("1")
    expect(page.locator('[data-figure="inside"]')).to_have_text("1")
    expect(page.get_by_text("North door").first).to_be_visible()
    look(page, "night-07-door-live-first-entry-laptop")
    session.close()
