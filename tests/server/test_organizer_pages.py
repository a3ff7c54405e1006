"""Organizer pages over HTTP (Flask's client, signed in through the sign-in page): who may see
each page, and bad input: field messages that keep what was typed, one thing per double submit,
a stale edit refused, pictures checked. The browser tests drive the same pages in Chromium."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from PIL import Image
from sqlalchemy.orm import Session

from sync_server.devices.models import Device
from sync_server.devices.services import pair_device
from sync_server.events.models import Event, EventDay, TicketType
from sync_server.orders.models import DiscountCode
from sync_server.staff.models import EventStaff
from sync_server.webforms.forms import claim
from sync_server.webforms.models import FormNonce
from tests.server.conftest import World
from tests.server.pages_client import PageClient, hidden_fields, multipart, text

NEW = "/organize/events/new"
EVENT_FIELDS = {"name": "Spring Fling", "event_type": "TICKETED_EVENT",
                "starts_at": "2030-06-06T20:00", "ends_at": "2030-06-07T02:00",
                "timezone": "America/Chicago", "country": "US", "city": "Chicago",
                "venue_name": "The Ballroom", "address": "1 Main St", "categories": "Set, Social",
                "min_tickets_per_order": "1", "max_tickets_per_order": "10",
                "allow_transfers": "y", "door_price_text": "$30 at the door"}


def pages_of(event_id: int) -> list[str]:
    e = f"/organize/events/{event_id}"
    return [e, f"{e}/tickets", f"{e}/people", f"{e}/discount-codes", f"{e}/cancel",
            f"{e}/publish"]


def count(session: Session, model: type) -> int:
    session.expire_all()
    return int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def test_each_page_answers_organizer_200_others_403_signed_out_sign_in_missing_404(
    app: Flask, world: World
) -> None:
    organizer, staff, seller, stranger = (world.person(n) for n in
                                          ("Olive", "Sam Staff", "Sal Seller", "Stranger"))
    admin = world.person("Ada Admin", is_admin=True)
    event = world.event(organizer)
    world.staff(event, organizer, staff)
    world.seller(event, organizer, seller)
    clients = {name: PageClient(app, p.user.email) for name, p in
               (("organizer", organizer), ("staff", staff), ("seller", seller),
                ("stranger", stranger), ("admin", admin))}
    for url in pages_of(event.id):
        assert clients["organizer"].get(url).status_code == 200, url
        assert clients["admin"].get(url).status_code == 200, url
        for name in ("staff", "seller", "stranger"):
            answer = clients[name].get(url)
            assert answer.status_code == 403, (name, url)
            assert "not yours to see" in text(answer)
        signed_out = PageClient(app).get(url)
        assert signed_out.status_code == 302 and "/sign-in" in signed_out.headers["Location"]
        missing = url.replace(f"/events/{event.id}", "/events/999999")
        assert clients["organizer"].get(missing).status_code == 404
    # The dashboard and the new-event page: any signed-in user (their own events only).
    for name, client in clients.items():
        assert client.get("/organize").status_code == 200, name
        assert client.get(NEW).status_code == 200, name
    assert event.name in text(clients["organizer"].get("/organize"))
    assert event.name not in text(clients["stranger"].get("/organize"))
    assert PageClient(app).get("/organize").status_code == 302
    # A POST is guarded like a GET: a stranger cannot add a door to someone else's event.
    page = clients["stranger"].get("/organize").get_data(as_text=True)
    refused = clients["stranger"].post(f"/organize/events/{event.id}/people/devices",
                                       {"name": "Mine now", **hidden_fields(page)})
    assert refused.status_code == 403


def test_bad_event_fields_are_shown_next_to_the_field_and_kept(
    app: Flask, world: World, session: Session
) -> None:
    organizer = world.person("Olive")
    client = PageClient(app, organizer.user.email)
    answer = client.submit(NEW, NEW, {**EVENT_FIELDS, "name": "", "starts_at": "not a time",
                                      "max_tickets_per_order": "0", "country": "USA",
                                      "city": "Chicago <b>"})
    assert answer.status_code == 422
    page = text(answer)
    assert re.search(r'id="name-error">This field is required', page)
    assert 'id="starts_at-error"' in page and 'id="country-error"' in page
    assert 'id="max_tickets_per_order-error"' in page
    assert 'value="Chicago <b>"' in page or "Chicago &lt;b&gt;" in answer.get_data(as_text=True)
    assert 'value="The Ballroom"' in page  # what was typed is still there
    # Rules across fields are the service's: ends before it starts.
    answer = client.submit(NEW, NEW, {**EVENT_FIELDS, "latitude": "91"})
    assert answer.status_code == 422 and 'id="latitude-error"' in text(answer)
    answer = client.submit(NEW, NEW, {**EVENT_FIELDS, "ends_at": "2030-06-05T20:00"})
    assert answer.status_code == 422
    assert re.search(r'id="ends_at-error">must not be before starts_at', text(answer))
    assert count(session, Event) == 0


def test_a_double_submit_creates_one_event_and_one_ticket_type(
    app: Flask, world: World, session: Session
) -> None:
    organizer = world.person("Olive")
    client = PageClient(app, organizer.user.email)
    form = {**hidden_fields(client.get(NEW).get_data(as_text=True)), **EVENT_FIELDS}
    first, second = client.post(NEW, form), client.post(NEW, form)
    assert first.status_code == second.status_code == 302
    assert count(session, Event) == 1
    event_id = session.scalars(sa.select(Event.id)).one()
    assert second.headers["Location"].endswith(f"/organize/events/{event_id}")
    tickets = f"/organize/events/{event_id}/tickets"
    action = f"{tickets}/types"
    form = {**hidden_fields(client.get(tickets).get_data(as_text=True), action),
            "name": "General", "price": "25.00", "quantity_total": "100", "event_day_id": "",
            "min_per_order": "1", "max_per_order": "8", "active": "y"}
    assert client.post(action, form).status_code == 302
    assert client.post(action, form).status_code == 302
    assert count(session, TicketType) == 1
    assert session.scalars(sa.select(TicketType.price_cents)).one() == 2500


def test_bad_ticket_type_and_day_fields_come_back_with_messages(
    app: Flask, world: World, session: Session
) -> None:
    organizer = world.person("Olive")
    event = world.event(organizer, published=False, days=0)
    client = PageClient(app, organizer.user.email)
    tickets = f"/organize/events/{event.id}/tickets"
    answer = client.submit(tickets, f"{tickets}/types", {
        "name": "VIP", "price": "-3", "quantity_total": "abc", "event_day_id": "",
        "min_per_order": "5", "max_per_order": "2"})
    assert answer.status_code == 422
    page = text(answer)
    assert 'id="price-error"' in page and 'id="quantity_total-error"' in page
    assert 'value="VIP"' in page
    answer = client.submit(tickets, f"{tickets}/types", {
        "name": "VIP", "price": "40", "quantity_total": "10", "event_day_id": "",
        "min_per_order": "5", "max_per_order": "2"})
    assert answer.status_code == 422
    assert re.search(r'id="max_per_order-error">must not be less than min_per_order', text(answer))
    answer = client.submit(tickets, f"{tickets}/days", {
        "starts_at": "2030-06-06T20:00", "ends_at": "2030-06-06T19:00"})
    assert answer.status_code == 422
    assert re.search(r'id="ends_at-error">must be after starts_at', text(answer))
    assert count(session, TicketType) == 0 and count(session, EventDay) == 0


def test_a_stale_edit_is_refused_and_says_so(app: Flask, world: World, session: Session) -> None:
    organizer = world.person("Olive")
    event = world.event(organizer, published=False)
    url = f"/organize/events/{event.id}"
    mine, theirs = PageClient(app, organizer.user.email), PageClient(app, organizer.user.email)
    my_form = hidden_fields(mine.get(url).get_data(as_text=True), url)
    their_form = hidden_fields(theirs.get(url).get_data(as_text=True), url)
    assert my_form["version"] == their_form["version"]
    saved = theirs.post(url, {**their_form, **EVENT_FIELDS, "name": "Their name"})
    assert saved.status_code == 302
    stale = mine.post(url, {**my_form, **EVENT_FIELDS, "name": "My name"})
    assert stale.status_code == 409
    page = text(stale)
    assert "Someone else saved this event after you opened it" in page
    assert 'value="My name"' in page  # my typing is kept
    session.expire_all()
    assert session.get(Event, event.id).name == "Their name"  # type: ignore[union-attr]
    # The page now carries the current version: saving again replaces theirs, knowingly.
    again = mine.post(url, {**hidden_fields(stale.get_data(as_text=True), url), **EVENT_FIELDS,
                            "name": "My name"})
    assert again.status_code == 302
    session.expire_all()
    assert session.get(Event, event.id).name == "My name"  # type: ignore[union-attr]
    damaged = mine.post(url, {**my_form, "version": "x", **EVENT_FIELDS, "name": "Nope"})
    assert damaged.status_code == 409


def _png(size: tuple[int, int] = (1600, 900)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 90)).save(out, "PNG")
    return out.getvalue()


def test_pictures_are_checked_kept_and_resized(
    app: Flask, world: World, session: Session
) -> None:
    organizer = world.person("Olive")
    event = world.event(organizer, published=False)
    client = PageClient(app, organizer.user.email)
    url, action = f"/organize/events/{event.id}", f"/organize/events/{event.id}/images"

    def upload(data: bytes, name: str) -> str:
        form = hidden_fields(client.get(url).get_data(as_text=True), action)
        body, content_type = multipart(form, "image", name, data)
        answer = client.client.post(action, data=body, content_type=content_type)
        return f"{answer.status_code} {text(answer)}"

    assert upload(b"%PDF-1.4 not a picture", "flyer.png").startswith("422")
    assert "This file is not a picture" in upload(b"%PDF-1.4 not a picture", "flyer.png")
    big = upload(b"\xff\xd8" + b"0" * (5 * 1024 * 1024 + 10), "huge.jpg")
    assert big.startswith("422") and "a picture may be at most 5 MB" in big
    far_too_big = upload(b"\xff\xd8" + b"0" * (11 * 1024 * 1024), "huge.jpg")
    assert far_too_big.startswith("413") and "What you sent is too big" in far_too_big
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    assert "not a JPEG, PNG or WebP" in upload(gif.getvalue(), "a.gif")
    assert upload(b"", "empty.png").startswith("422")
    assert upload(_png(), "poster.png").startswith("302")
    session.expire_all()
    stored = session.get(Event, event.id)
    assert stored is not None and len(stored.images) == 1
    entry = stored.images[0]
    assert (entry["type"], entry["width"], entry["height"]) == ("image/png", 1600, 900)
    folder = Path(app.instance_path) / "uploads" / "events" / str(event.id)
    with Image.open(folder / entry["thumb"]) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) == 800
    picture = client.get(f"{url}/images/{entry['thumb']}")
    assert picture.status_code == 200 and picture.mimetype == "image/jpeg"
    picture.close()
    assert client.get(f"{url}/images/..%2Fsecret").status_code == 404
    assert client.get(f"{url}/images/other.png").status_code == 404
    removed = client.submit(url, f"{url}/images/{entry['file']}/remove", {})
    assert removed.status_code == 302 and not (folder / entry["thumb"]).exists()
    session.expire_all()
    assert session.get(Event, event.id).images == []  # type: ignore[union-attr]


def test_people_staff_sellers_and_a_door_paired_by_its_qr(
    app: Flask, world: World, session: Session
) -> None:
    organizer, sam, sal = world.person("Olive"), world.person("Sam"), world.person("Sal")
    event = world.event(organizer)
    client = PageClient(app, organizer.user.email)
    people = f"/organize/events/{event.id}/people"
    later = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    answer = client.submit(people, f"{people}/staff", {
        "email": "nobody@example.test", "role": "SCANNER", "access_expires_at": later})
    assert answer.status_code == 422
    assert "no account has this e-mail" in text(answer)
    assert 'value="nobody@example.test"' in text(answer)
    answer = client.submit(people, f"{people}/staff", {
        "email": sam.user.email, "role": "SCANNER", "access_expires_at": "2001-01-01T10:00"})
    assert answer.status_code == 422 and "must be in the future" in text(answer)
    answer = client.submit(people, f"{people}/staff", {
        "email": sam.user.email, "role": "ADMIN", "access_expires_at": later})
    assert answer.status_code == 302 and count(session, EventStaff) == 1
    answer = client.submit(people, f"{people}/sellers", {
        "email": sal.user.email, "allocated_tickets": "40", "commission": "12.5"})
    assert answer.status_code == 302
    page = text(client.get(people))
    assert "Sam" in page and "0 / 40" in page and "12.50 %" in page

    answer = client.submit(people, f"{people}/devices", {"name": "North door"})
    assert answer.status_code == 200
    payload = re.search(r'data-payload="([^"]+)"', text(answer))
    assert payload is not None and payload.group(1).startswith("stepperslife-pair:http")
    assert "<svg" in answer.get_data(as_text=True) and "style=" not in answer.get_data(
        as_text=True).split("<svg", 1)[1].split("</svg>", 1)[0]
    code = payload.group(1).rsplit("#", 1)[1]
    pair_device(session, code=code)
    session.commit()
    page = text(client.get(people))
    assert "North door" in page and "paired" in page
    device_id = session.scalars(sa.select(Device.id)).one()
    answer = client.submit(people, f"{people}/devices/{device_id}/rename", {"name": "Main door"})
    assert answer.status_code == 302
    answer = client.submit(people, f"{people}/devices/{device_id}/revoke", {})
    assert answer.status_code == 302
    session.expire_all()
    device = session.get(Device, device_id)
    assert device is not None and device.name == "Main door" and device.revoked


def test_publish_and_cancel_confirmations_say_what_happens(
    app: Flask, world: World, session: Session
) -> None:
    organizer = world.person("Olive")
    event = world.event(organizer, published=False)
    world.ticket_type(event, organizer, price_cents=0)
    client = PageClient(app, organizer.user.email)
    publish = f"/organize/events/{event.id}/publish"
    assert "go on sale" in text(client.get(publish))
    assert client.submit(publish, publish, {}).status_code == 302
    cancel = f"/organize/events/{event.id}/cancel"
    page = text(client.get(cancel))
    assert "cancel <strong>0</strong> paid or free orders" in page
    assert "paired door devices" in page
    assert client.submit(cancel, cancel, {}).status_code == 302
    session.expire_all()
    assert session.get(Event, event.id).status.value == "CANCELLED"  # type: ignore[union-attr]


def test_discount_codes_create_once_edit_and_deactivate(
    app: Flask, world: World, session: Session
) -> None:
    organizer = world.person("Olive")
    event = world.event(organizer)
    client = PageClient(app, organizer.user.email)
    codes = f"/organize/events/{event.id}/discount-codes"
    fields = {"code": "early10", "discount_type": "PERCENTAGE", "amount": "10",
              "valid_from": "2030-01-01T00:00", "valid_until": "2030-06-01T00:00",
              "max_uses": "50", "description": "early birds"}
    answer = client.submit(codes, f"{codes}/new", {**fields, "amount": "150"})
    assert answer.status_code == 422
    assert re.search(r'id="amount-error">a percentage is between 1 and 100', text(answer))
    assert 'value="early10"' in text(answer)
    form = {**hidden_fields(client.get(codes).get_data(as_text=True), f"{codes}/new"), **fields}
    assert client.post(f"{codes}/new", form).status_code == 302
    assert client.post(f"{codes}/new", form).status_code == 302  # the same form again
    assert count(session, DiscountCode) == 1
    assert "Code EARLY10 created." in text(client.get(codes))
    code_id = session.scalars(sa.select(DiscountCode.id)).one()
    edit = f"{codes}/{code_id}"
    session.execute(sa.update(DiscountCode).values(current_uses=7))
    session.commit()
    assert "Used <strong>7</strong> times so far of 50" in text(client.get(edit))
    answer = client.submit(edit, edit, {**fields, "max_uses": "5"})
    assert answer.status_code == 422 and "already used 7 times" in text(answer)
    answer = client.submit(edit, edit, {**fields, "amount": "15", "max_uses": "60"})
    assert answer.status_code == 302
    session.expire_all()
    row = session.get(DiscountCode, code_id)
    assert row is not None and (row.discount_value, row.max_uses, row.active) == (15, 60, False)
    assert row.current_uses == 7 and row.code == "EARLY10"


def test_removing_days_tiers_and_bundles_follows_the_services_rules(
    app: Flask, world: World, session: Session
) -> None:
    organizer = world.person("Olive")
    event = world.event(organizer, published=False)
    first_day, second_day = event.days
    tier = world.ticket_type(event, organizer, day=first_day)
    client = PageClient(app, organizer.user.email)
    tickets = f"/organize/events/{event.id}/tickets"
    refused = client.submit(tickets, f"{tickets}/days/{first_day.id}/remove", {})
    assert refused.status_code == 409
    assert "ticket types are sold for this day; remove them first" in text(refused)
    assert client.submit(tickets, f"{tickets}/types/{tier.id}/remove", {}).status_code == 302
    assert client.submit(tickets, f"{tickets}/days/{first_day.id}/remove", {}).status_code == 302
    assert count(session, TicketType) == 0 and count(session, EventDay) == 1
    other = world.event(world.person("Other"), published=False)
    foreign = f"/organize/events/{other.id}/tickets/days/{other.days[0].id}/remove"
    token = hidden_fields(client.get(tickets).get_data(as_text=True))
    assert client.post(foreign, token).status_code == 403  # not their event
    stray = client.post(f"{tickets}/days/{other.days[0].id}/remove", token)
    assert stray.status_code == 404  # a day of another event, under theirs
    assert count(session, EventDay) == 1 + len(other.days) and second_day.event_id == event.id


def test_form_nonces_are_kept_a_day(app: Flask, world: World, session: Session) -> None:
    olive = world.person("Olive")
    old = FormNonce(user_id=olive.user.id, nonce="x" * 20, result_url="/organize",
                    created_at=datetime.now(UTC) - timedelta(days=2))
    session.add(old)
    session.commit()
    assert claim(session, olive.user.id, "y" * 20) is None  # a new nonce: taken, the old goes
    assert claim(session, olive.user.id, "y" * 20) == ""  # taken, its result not recorded yet
    session.commit()
    assert session.scalars(sa.select(FormNonce.nonce)).all() == ["y" * 20]
