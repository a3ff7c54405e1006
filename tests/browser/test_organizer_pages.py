"""The organizer's pages in Chromium, on a phone and a laptop: every page as the organizer
(screenshot + axe-core on each), and the 403 other roles get; forms refused and kept."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Page, expect

from sync_server.events.models import Bundle, Event, EventDay
from tests.browser.look import look
from tests.browser.organizer_world import cast, session_of, sign_in

PAGES = {  # name -> path under /organize/events/<id>
    "event": "", "tickets": "/tickets", "people": "/people", "discounts": "/discount-codes",
    "publish": "/publish", "cancel": "/cancel",
}


def test_every_organizer_page_as_each_role(live_app: tuple[Flask, str], screen: Page) -> None:
    app, base = live_app
    session = session_of(app)
    people = cast(app, session)
    event_id, size = people.event.id, screen.screen_name  # type: ignore[attr-defined]
    edits = {"day-edit": f"/tickets/days/{people.event.days[0].id}",
             "bundle-edit": f"/tickets/bundles/{people.event.bundles[0].id}"}
    sign_in(screen, base, people.organizer.user.email)
    screen.goto(f"{base}/organize")
    expect(screen.get_by_role("heading", name="Your events")).to_be_visible()
    expect(screen.get_by_role("link", name="Spring Fling Weekend", exact=True)).to_be_visible()
    look(screen, f"organizer-dashboard-{size}")
    screen.goto(f"{base}/organize/events/new")
    look(screen, f"organizer-new-event-{size}")
    for name, path in PAGES.items():
        answer = screen.goto(f"{base}/organize/events/{event_id}{path}")
        assert answer is not None and answer.status == 200, name
        look(screen, f"organizer-{name}-{size}")
    code_row = screen
    code_row.goto(f"{base}/organize/events/{event_id}/discount-codes")
    code_row.get_by_role("link", name="Edit EARLY10").click()
    expect(code_row.get_by_text("Used 0 times so far of 100")).to_be_visible()
    look(code_row, f"organizer-discount-edit-{size}")
    screen.goto(f"{base}/organize/events/{event_id}/tickets")
    screen.get_by_role("link", name=re.compile(r"^Edit Tier")).first.click()
    look(screen, f"organizer-ticket-type-edit-{size}")
    screen.goto(f"{base}/organize/events/{event_id}/tickets")
    screen.get_by_role("link", name="Edit day 1").click()
    expect(screen.get_by_label("Doors open")).not_to_have_value("")
    look(screen, f"organizer-day-edit-{size}")
    screen.goto(f"{base}/organize/events/{event_id}/tickets")
    screen.get_by_role("link", name="Edit Both nights").click()
    expect(screen.get_by_label("Name", exact=True)).to_have_value("Both nights")
    look(screen, f"organizer-bundle-edit-{size}")

    for role, person in (("staff", people.staff), ("seller", people.seller),
                         ("stranger", people.stranger)):
        screen.context.clear_cookies()
        sign_in(screen, base, person.user.email)
        for name, path in {**PAGES, **edits}.items():
            answer = screen.goto(f"{base}/organize/events/{event_id}{path}")
            assert answer is not None and answer.status == 403, (role, name)
        expect(screen.get_by_text("not yours to see")).to_be_visible()
        look(screen, f"organizer-403-{role}-{size}")
        screen.goto(f"{base}/organize")  # their own (empty) dashboard
        expect(screen.get_by_role("link", name="Spring Fling Weekend", exact=True)).to_have_count(0)
    screen.context.clear_cookies()
    answer = screen.goto(f"{base}/organize/events/{event_id}/people")
    assert answer is not None and "/sign-in" in screen.url
    session.close()


def test_bad_input_is_refused_next_to_the_field_and_kept(
    live_app: tuple[Flask, str], laptop: Page
) -> None:
    app, base = live_app
    session = session_of(app)
    people = cast(app, session)
    sign_in(laptop, base, people.organizer.user.email)
    laptop.goto(f"{base}/organize/events/new")
    laptop.locator("form.form-narrow").evaluate("form => { form.noValidate = true; }")
    laptop.get_by_label("Name", exact=True).fill("")
    laptop.get_by_label("Venue").fill("The Ballroom")
    laptop.get_by_label("Country (2 letters)").fill("U")
    laptop.get_by_role("button", name="Create draft").click()
    expect(laptop.locator("#name-error")).to_have_text("This field is required.")
    expect(laptop.locator("#starts_at-error")).to_be_visible()
    expect(laptop.locator("#country-error")).to_be_visible()
    expect(laptop.get_by_label("Venue")).to_have_value("The Ballroom")
    expect(laptop.get_by_label("Name", exact=True)).to_have_attribute("aria-invalid", "true")
    look(laptop, "organizer-new-event-errors-laptop")
    # Corrected and sent with a double click: one event.
    laptop.get_by_label("Name", exact=True).fill("Winter Ball")
    laptop.get_by_label("Starts").fill("2031-01-10T20:00")
    laptop.get_by_label("Country (2 letters)").fill("US")
    laptop.get_by_role("button", name="Create draft").dblclick()
    expect(laptop.get_by_text("Event created as a draft")).to_be_visible()
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count()).select_from(Event).where(
        Event.name == "Winter Ball")) == 1

    people_url = f"{base}/organize/events/{people.event.id}/people"
    laptop.goto(people_url)
    laptop.get_by_text("Invite door staff").click()
    staff_form = laptop.locator("form", has=laptop.get_by_role("button", name="Invite"))
    staff_form.get_by_label("E-mail of their account").fill("nobody@example.test")
    staff_form.get_by_label("Access ends").fill("2031-01-01T02:00")
    staff_form.get_by_role("button", name="Invite").click()
    expect(laptop.get_by_text("no account has this e-mail; ask them to sign up")).to_be_visible()
    expect(laptop.get_by_label("E-mail of their account").first).to_have_value(
        "nobody@example.test")
    look(laptop, "organizer-people-errors-laptop")
    session.close()


def test_a_bundle_and_a_day_edited_in_the_browser_and_a_stale_edit_refused(
    live_app: tuple[Flask, str], laptop: Page
) -> None:
    app, base = live_app
    session = session_of(app)
    people = cast(app, session)
    bundle = people.event.bundles[0]
    sign_in(laptop, base, people.organizer.user.email)
    tickets = f"{base}/organize/events/{people.event.id}/tickets"
    laptop.goto(tickets)
    laptop.get_by_role("link", name="Edit Both nights").click()
    laptop.get_by_label("Name", exact=True).fill("Weekend pass")
    laptop.get_by_label("Saving to show buyers (%)").fill("20")
    laptop.get_by_label("Price ($)").fill("45")
    laptop.get_by_role("button", name="Save").click()
    expect(laptop.get_by_text("Saved.")).to_be_visible()
    expect(laptop.get_by_role("cell", name="Weekend pass", exact=True)).to_be_visible()
    session.expire_all()
    saved = session.get(Bundle, bundle.id)
    assert saved is not None and (saved.name, saved.price_cents, saved.discount_percentage,
                                  saved.version) == ("Weekend pass", 4500, 20, 2)
    # Someone else saves the day while this page is open: this save is refused, in words.
    laptop.get_by_role("link", name="Edit day 1").click()
    day = people.event.days[0]
    session.execute(sa.update(EventDay).where(EventDay.id == day.id).values(
        venue_name_override="Their annex", version=EventDay.version + 1))
    session.commit()
    laptop.get_by_label("Venue, if not the event's").fill("My annex")
    laptop.get_by_role("button", name="Save").click()
    expect(laptop.get_by_text("Someone else saved this day after you opened it")).to_be_visible()
    expect(laptop.get_by_label("Venue, if not the event's")).to_have_value("My annex")
    look(laptop, "organizer-day-stale-laptop")
    laptop.get_by_role("button", name="Save").click()  # again, knowingly
    expect(laptop.get_by_text("Saved.")).to_be_visible()
    expect(laptop.get_by_role("cell", name="My annex", exact=True)).to_be_visible()
    session.close()
