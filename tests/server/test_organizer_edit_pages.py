"""Organizer pages over HTTP: editing a day, a ticket type and a bundle (the service's rules, a
stale edit refused in words), and every create form sent twice making one thing (on SQLite and
PostgreSQL, through the ``app`` fixture)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from sync_server.devices.models import PairingCode
from sync_server.events.models import Bundle, Event, EventDay, TicketType
from sync_server.orders.discounts import applicable_ticket_type_ids
from sync_server.orders.models import DiscountCode, Order
from sync_server.staff.models import AuthorizedSeller, EventStaff
from tests.server.conftest import World
from tests.server.pages_client import PageClient, hidden_fields, text
from tests.server.test_organizer_pages import count


def _bundle(session: Session, event: Event, organizer_id: int, **values: object) -> Bundle:
    row = Bundle(event_id=event.id, name="Both nights", price_cents=4000, quantity_total=40,
                 quantity_sold=0, **values)
    row.days = list(event.days)
    session.add(row)
    session.commit()
    return row


def test_a_day_and_a_bundle_are_edited_by_the_services_rules(
    app: Flask, world: World, session: Session
) -> None:
    organizer = world.person("Olive")
    event = world.event(organizer, published=False)
    first, second = event.days
    bundle = _bundle(session, event, organizer.user.id)
    client = PageClient(app, organizer.user.email)
    tickets = f"/organize/events/{event.id}/tickets"
    page = text(client.get(tickets))
    assert "Edit day 1" in page and "Edit Both nights" in page
    day_url = f"{tickets}/days/{first.id}"
    form = text(client.get(day_url))
    assert 'value="2030-06-06T18:00"' in form  # 23:00 UTC shown on Chicago's wall clock
    refused = client.submit(day_url, day_url, {"starts_at": "2030-06-06T20:00",
                                               "ends_at": "2030-06-06T19:00"})
    assert refused.status_code == 422
    assert re.search(r'id="ends_at-error">must be after starts_at', text(refused))
    saved = client.submit(day_url, day_url, {
        "starts_at": "2030-06-06T19:00", "ends_at": "2030-06-07T02:00",
        "venue_name_override": "The Annex", "city_override": "Evanston",
        "description_override": "Workshop day"})
    assert saved.status_code == 302
    session.expire_all()
    day = session.get(EventDay, first.id)
    assert day is not None and day.starts_at == datetime(2030, 6, 7, 0, 0, tzinfo=UTC)
    assert (day.venue_name_override, day.city_override, day.address_override) == (
        "The Annex", "Evanston", None)
    assert day.description_override == "Workshop day" and day.version == 2
    assert "The Annex" in text(client.get(tickets))

    bundle_url = f"{tickets}/bundles/{bundle.id}"
    assert 'value="40.00"' in text(client.get(bundle_url))
    saved = client.submit(bundle_url, bundle_url, {
        "name": "Weekend pass", "description": "Friday and Saturday", "price": "45.50",
        "discount_percentage": "20", "quantity_total": "30", "event_day_ids": [str(second.id)],
        "active": "y"})
    assert saved.status_code == 302, text(saved)
    session.execute(sa.update(Bundle).values(quantity_sold=12))
    session.commit()
    refused = client.submit(bundle_url, bundle_url, {
        "name": "Weekend pass", "price": "45.50", "quantity_total": "10",
        "event_day_ids": [str(second.id)]})
    assert refused.status_code == 422
    assert re.search(r'id="quantity_total-error">must not be less than the bundles sold',
                     text(refused))
    session.expire_all()
    row = session.get(Bundle, bundle.id)
    assert row is not None
    assert (row.name, row.price_cents, row.discount_percentage, row.quantity_total) == (
        "Weekend pass", 4550, 20, 30)
    assert [d.id for d in row.days] == [second.id] and row.description == "Friday and Saturday"
    assert row.active  # the refused save (box unticked) changed nothing


@pytest.mark.parametrize("kind", ["days", "types", "bundles"])
def test_a_stale_edit_of_a_day_ticket_type_or_bundle_is_refused_in_words(
    app: Flask, world: World, session: Session, kind: str
) -> None:
    organizer = world.person("Olive")
    event = world.event(organizer, published=False)
    tier = world.ticket_type(event, organizer)
    bundle = _bundle(session, event, organizer.user.id)
    row_id, model, what, fields = {
        "days": (event.days[0].id, EventDay, "day",
                 {"starts_at": "2030-06-06T18:00", "ends_at": "2030-06-07T00:00"}),
        "types": (tier.id, TicketType, "ticket type",
                  {"price": "25", "quantity_total": "100", "event_day_id": "",
                   "min_per_order": "1", "max_per_order": "10", "active": "y"}),
        "bundles": (bundle.id, Bundle, "bundle",
                    {"price": "40", "quantity_total": "40",
                     "event_day_ids": [str(d.id) for d in event.days], "active": "y"}),
    }[kind]
    named = "venue_name_override" if kind == "days" else "name"
    url = f"/organize/events/{event.id}/tickets/{kind}/{row_id}"
    mine, theirs = PageClient(app, organizer.user.email), PageClient(app, organizer.user.email)
    my_form = hidden_fields(mine.get(url).get_data(as_text=True), url)
    their_form = hidden_fields(theirs.get(url).get_data(as_text=True), url)
    assert my_form["version"] == their_form["version"] == "1"
    assert theirs.post(url, {**their_form, **fields, named: "Theirs"}).status_code == 302
    stale = mine.post(url, {**my_form, **fields, named: "Mine"})
    assert stale.status_code == 409
    page = text(stale)
    assert f"Someone else saved this {what} after you opened it" in page
    assert 'value="Mine"' in page  # my typing is kept
    session.expire_all()
    assert getattr(session.get(model, row_id), named) == "Theirs"
    # The page now carries the current version: saving again replaces theirs, knowingly.
    again = mine.post(url, {**hidden_fields(stale.get_data(as_text=True), url), **fields,
                            named: "Mine"})
    assert again.status_code == 302
    session.expire_all()
    assert getattr(session.get(model, row_id), named) == "Mine"
    damaged = mine.post(url, {**my_form, "version": "x", **fields, named: "Nope"})
    assert damaged.status_code == 409


def test_edit_pages_are_the_organizers_only_and_rows_of_other_events_are_not_found(
    app: Flask, world: World, session: Session
) -> None:
    organizer, staff, seller, stranger = (world.person(n) for n in
                                          ("Olive", "Sam Staff", "Sal Seller", "Stranger"))
    event = world.event(organizer)
    world.staff(event, organizer, staff)
    world.seller(event, organizer, seller)
    bundle = _bundle(session, event, organizer.user.id)
    other = world.event(world.person("Other"), published=False)
    base = f"/organize/events/{event.id}/tickets"
    urls = [f"{base}/days/{event.days[0].id}", f"{base}/bundles/{bundle.id}"]
    owner = PageClient(app, organizer.user.email)
    for url in urls:
        assert owner.get(url).status_code == 200, url
        for person in (staff, seller, stranger):
            client = PageClient(app, person.user.email)
            assert client.get(url).status_code == 403, (person.user.name, url)
            token = hidden_fields(client.get("/organize").get_data(as_text=True))
            assert client.post(url, token).status_code == 403
        signed_out = PageClient(app).get(url)
        assert signed_out.status_code == 302 and "/sign-in" in signed_out.headers["Location"]
    stray_day = owner.get(f"{base}/days/{other.days[0].id}")
    assert stray_day.status_code == 404 and "no such day" in text(stray_day)
    assert owner.get(f"{base}/bundles/999999").status_code == 404
    assert owner.get(f"/organize/events/999999/tickets/days/{event.days[0].id}"
                     ).status_code == 404


def _twice(client: PageClient, page_url: str, action: str, fields: dict[str, object]) -> None:
    """Send the form that posts to ``action`` twice, as a double click or a reload would."""
    form = {**hidden_fields(client.get(page_url).get_data(as_text=True), action), **fields}
    first, second = client.post(action, form), client.post(action, form)
    assert first.status_code in (200, 302), text(first)
    assert second.status_code == 302, text(second)


def test_every_create_form_sent_twice_makes_one_thing(
    app: Flask, world: World, session: Session
) -> None:
    organizer, sam, sal = world.person("Olive"), world.person("Sam"), world.person("Sal")
    event = world.event(organizer, days=1)
    tier = world.ticket_type(event, organizer)
    client = PageClient(app, organizer.user.email)
    e = f"/organize/events/{event.id}"
    tickets, people, orders = f"{e}/tickets", f"{e}/people", f"{e}/orders"
    later = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    _twice(client, tickets, f"{tickets}/days", {"starts_at": "2030-06-08T18:00",
                                                "ends_at": "2030-06-09T00:00"})
    assert count(session, EventDay) == 2
    _twice(client, tickets, f"{tickets}/bundles", {
        "name": "Weekend", "price": "40", "quantity_total": "20",
        "event_day_ids": [str(i) for i in session.scalars(sa.select(EventDay.id))],
        "active": "y"})
    assert count(session, Bundle) == 1
    _twice(client, people, f"{people}/staff", {"email": sam.user.email, "role": "SCANNER",
                                               "access_expires_at": later})
    assert count(session, EventStaff) == 1
    _twice(client, people, f"{people}/sellers", {"email": sal.user.email,
                                                 "allocated_tickets": "10"})
    assert count(session, AuthorizedSeller) == 1
    _twice(client, people, f"{people}/devices", {"name": "North door"})
    assert count(session, PairingCode) == 1
    _twice(client, orders, f"{orders}/complimentary", {
        "comp-ticket_type": str(tier.id), "comp-quantity": "2",
        "comp-holder_name": "Guest Dancer", "comp-holder_email": "guest@example.com"})
    assert count(session, Order) == 1
    session.expire_all()
    assert session.get(TicketType, tier.id).quantity_sold == 2  # type: ignore[union-attr]
    # A new form (a new nonce) is a new thing: the guard is per form, not per content.
    _twice(client, orders, f"{orders}/complimentary", {
        "comp-ticket_type": str(tier.id), "comp-quantity": "1",
        "comp-holder_name": "Guest Dancer", "comp-holder_email": "guest@example.com"})
    assert count(session, Order) == 2


def test_a_discount_code_only_for_some_ticket_types_and_the_seed_fields_on_the_add_forms(
    app: Flask, world: World, session: Session
) -> None:
    organizer = world.person("Olive")
    event = world.event(organizer, days=1)
    general, vip = world.ticket_type(event, organizer), world.ticket_type(event, organizer)
    foreign = world.ticket_type(world.event(world.person("Other")), organizer)
    client = PageClient(app, organizer.user.email)
    codes = f"/organize/events/{event.id}/discount-codes"
    fields = {"code": "viponly", "discount_type": "FIXED_AMOUNT", "amount": "5",
              "valid_from": "2030-01-01T00:00", "valid_until": "2030-06-01T00:00"}
    refused = client.submit(codes, f"{codes}/new", {**fields, "ticket_type_ids": [
        str(foreign.id)]})
    assert refused.status_code == 422 and 'id="ticket_type_ids-error"' in text(refused)
    made = client.submit(codes, f"{codes}/new", {**fields, "ticket_type_ids": [str(vip.id)]})
    assert made.status_code == 302
    code = session.scalars(sa.select(DiscountCode)).one()
    assert applicable_ticket_type_ids(session, code) == [vip.id]
    assert f"Only for {vip.name} (chosen" in text(client.get(f"{codes}/{code.id}"))
    assert general.id != vip.id

    tickets = f"/organize/events/{event.id}/tickets"
    added = client.submit(tickets, f"{tickets}/types", {
        "name": "Early bird", "description": "Until May", "price": "20",
        "quantity_total": "50", "event_day_id": "", "min_per_order": "2",
        "max_per_order": "4", "sales_start": "2030-01-01T10:00",
        "sales_end": "2030-05-01T10:00", "active": "y"})
    assert added.status_code == 302
    row = session.scalars(sa.select(TicketType).where(TicketType.name == "Early bird")).one()
    assert (row.description, row.price_cents, row.min_per_order, row.max_per_order) == (
        "Until May", 2000, 2, 4)
    assert row.sales_start == datetime(2030, 1, 1, 16, 0, tzinfo=UTC)  # 10:00 in Chicago
    added = client.submit(tickets, f"{tickets}/bundles", {
        "name": "All in", "description": "Every night", "price": "30",
        "discount_percentage": "25", "quantity_total": "10",
        "event_day_ids": [str(event.days[0].id)], "active": "y"})
    assert added.status_code == 302
    bundle = session.scalars(sa.select(Bundle)).one()
    assert (bundle.description, bundle.discount_percentage) == ("Every night", 25)
    added = client.submit(tickets, f"{tickets}/days", {
        "starts_at": "2030-06-08T18:00", "ends_at": "2030-06-09T00:00",
        "address_override": "2 Side St", "state_override": "IN"})
    assert added.status_code == 302
    day = session.scalars(sa.select(EventDay).where(EventDay.event_id == event.id,
                                                    EventDay.day_number == 2)).one()
    assert (day.address_override, day.state_override, day.city_override) == (
        "2 Side St", "IN", None)
