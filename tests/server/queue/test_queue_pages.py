"""The waiting list's forms on the buyer's event page (``buyers.queue_pages``), what a browser
test does not reach: an event without a waiting list, someone else's or a made-up entry, a
stranger, a form without its CSRF token. Each is refused in words or by the usual gate, never a
500, and nothing is written."""

from __future__ import annotations

import re

import httpx
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from sync_server.queue.models import WaitingListEntry, WaitingStatus
from tests.server.conftest import World
from tests.server.pages_client import PageClient, hidden_fields, text
from tests.server.queue.conftest import SoldOut, join


def _entries(session: Session) -> list[tuple[int, WaitingStatus]]:
    session.expire_all()
    return [(e.user_id, e.status) for e in session.scalars(
        sa.select(WaitingListEntry).order_by(WaitingListEntry.id))]


def test_no_waiting_list_where_the_event_allows_none(
    app: Flask, world: World, session: Session, sold_out: SoldOut
) -> None:
    sold_out.event.allow_waitlist = False  # the organizer turned the waiting list off
    session.commit()
    me = world.person()
    web = PageClient(app, me.user.email)
    url = f"/events/{sold_out.event.id}"
    page = text(web.get(url))
    assert "Sold out" in page and "Join the waiting list" not in page
    answer = web.post(f"{url}/waiting-list/join", {
        **hidden_fields(page), "ticket_type_id": str(sold_out.tier.id)})
    assert answer.status_code == 302 and answer.headers["Location"].endswith(
        f"{url}#waiting-list")
    assert "This event does not take a waiting list: buy a ticket if one comes back on sale." \
        in text(web.get(url))
    assert _entries(session) == []

    sold_out.event.allow_waitlist = True
    session.commit()
    page = text(web.get(url))
    assert "Join the waiting list" in page
    web.submit(url, f"{url}/waiting-list/join", {"ticket_type_id": str(sold_out.tier.id)})
    assert "You are number 1 in line" in re.sub(r"<[^>]+>", "", text(web.get(url)))
    assert _entries(session) == [(me.user.id, WaitingStatus.WAITING)]


def test_someone_elses_or_a_made_up_entry_is_no_such_entry(
    app: Flask, api: httpx.Client, world: World, session: Session, sold_out: SoldOut
) -> None:
    other, me = world.person(), world.person()
    theirs = join(api, other, sold_out.event, sold_out.tier)
    assert theirs.status_code == 201, theirs.text
    web = PageClient(app, me.user.email)
    url = f"/events/{sold_out.event.id}"
    fields = hidden_fields(text(web.get(url)))
    for action in ("leave", "accept", "decline"):
        for entry_id in (str(theirs.json()["entry"]["id"]), "abc", "99999999999999999999", ""):
            answer = web.post(f"{url}/waiting-list/{action}", {**fields, "entry_id": entry_id})
            assert answer.status_code == 302, (action, entry_id)
            assert "No such waiting-list entry." in text(web.get(url))
    assert _entries(session) == [(other.user.id, WaitingStatus.WAITING)]


def test_a_stranger_is_sent_to_sign_in_and_a_form_needs_its_token(
    app: Flask, world: World, session: Session, sold_out: SoldOut
) -> None:
    url = f"/events/{sold_out.event.id}"
    stranger = PageClient(app)
    page = text(stranger.get(url))
    assert f'href="/sign-in?next=/events/{sold_out.event.id}"' in page
    answer = stranger.post(f"{url}/waiting-list/join", {  # a token from the sign-in page
        **hidden_fields(text(stranger.get("/sign-in"))), "ticket_type_id": str(sold_out.tier.id)})
    assert answer.status_code == 302 and "/sign-in" in answer.headers["Location"]
    me = PageClient(app, world.person().user.email)
    answer = me.post(f"{url}/waiting-list/join", {"ticket_type_id": str(sold_out.tier.id)})
    assert answer.status_code == 400  # no CSRF token
    assert _entries(session) == []
