"""The live streams over real HTTP (a threaded server on a socket): availability on connect and
after a change; a signed-in person's place in line and offer; a client that does not ask for a
stream gets one round of events."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from flask import Flask
from werkzeug.serving import make_server

from sync_server import create_app
from sync_server.migrate import upgrade
from tests.server.conftest import World, server_config

STREAM = {"Accept": "text/event-stream"}


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[tuple[Flask, str]]:
    upgrade(database_url)
    app = create_app({**server_config(database_url, tmp_path / "instance"),
                      "live_poll_seconds": 0.2, "live_keepalive_seconds": 1.0})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        hub = app.extensions.get("sync_live_hub")
        if hub is not None:
            hub.stop()
        server.shutdown()
        thread.join(timeout=10)
        app.extensions["sync_db_engine"].dispose()


class Events:
    """Reads `event:`/`data:` pairs from an open stream, on a thread of its own."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.seen: list[tuple[str, dict]] = []  # type: ignore[type-arg]
        self.comments = 0
        self.closed = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(5.0, read=30.0))
        self._thread = threading.Thread(target=self._read, args=(url, headers), daemon=True)
        self._thread.start()

    def _read(self, url: str, headers: dict[str, str]) -> None:
        try:
            with self._client.stream("GET", url, headers=headers) as reply:
                assert reply.status_code == 200, reply.read()
                assert reply.headers["content-type"].startswith("text/event-stream")
                kind = None
                for line in reply.iter_lines():
                    if self.closed.is_set():
                        return
                    if line.startswith(":"):
                        self.comments += 1
                    elif line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: ") and kind:
                        self.seen.append((kind, json.loads(line[6:])))
        except (httpx.HTTPError, RuntimeError):
            pass

    def wait_for(self, kind: str, test, timeout: float = 10.0) -> dict:  # type: ignore[no-untyped-def,type-arg]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for seen_kind, data in list(self.seen):
                if seen_kind == kind and test(data):
                    return data
            time.sleep(0.05)
        raise AssertionError(f"no {kind} event passed the test; saw {self.seen}")

    def close(self) -> None:
        self.closed.set()
        self._client.close()


def _tier(data: dict, tier_id: int) -> dict:  # type: ignore[type-arg]
    return next(t for t in data["ticket_types"] if t["id"] == tier_id)


def test_availability_and_offers_arrive_live(served: tuple[Flask, str]) -> None:
    app, base = served
    factory = app.extensions["sync_db_sessionmaker"]
    with factory() as session:
        world = World(app, session)
        organizer, buyer, waiter = world.person(), world.person(), world.person()
        event = world.event(organizer)
        tier = world.ticket_type(event, organizer, price_cents=0, quantity=1)
        event_id, tier_id = event.id, tier.id
    api = httpx.Client(base_url=base + "/api/v1", timeout=10)
    anonymous = Events(f"{base}/api/v1/events/{event_id}/live", STREAM)
    mine = Events(f"{base}/api/v1/events/{event_id}/live", {**STREAM, **waiter.headers})
    try:
        anonymous.wait_for("availability", lambda d: _tier(d, tier_id)["available"] == 1)
        mine.wait_for("queue", lambda d: d["entries"] == [])
        sold = api.post("/checkout", headers=buyer.headers, json={
            "event_id": event_id, "items": [{"ticket_type_id": tier_id, "quantity": 1}]})
        assert sold.status_code == 201, sold.text
        anonymous.wait_for("availability", lambda d: _tier(d, tier_id)["sold_out"])
        joined = api.post("/queue/join", headers=waiter.headers,
                          json={"event_id": event_id, "ticket_type_id": tier_id})
        assert joined.status_code == 201, joined.text
        mine.wait_for("queue", lambda d: [e["position"] for e in d["entries"]] == [1])
        anonymous.wait_for("availability", lambda d: _tier(d, tier_id)["waiting"] == 1)
        cancelled = api.post(f"/events/{event_id}/orders/cancel", headers=organizer.headers,
                             json={"order_id": sold.json()["order"]["id"], "reason": "ill"})
        assert cancelled.status_code == 200, cancelled.text
        offer = mine.wait_for("queue", lambda d: [e["status"] for e in d["entries"]] == ["OFFERED"])
        assert offer["entries"][0]["offer"]["expires_at"]
        # The reserved ticket is held, not available, for everyone else.
        anonymous.wait_for("availability", lambda d: _tier(d, tier_id)["held"] == 1)
        # Never was the freed ticket on sale to everyone (cancel and offer: one transaction).
        after_join = [d for kind, d in anonymous.seen if kind == "availability"]
        assert all(_tier(d, tier_id)["available"] == 0 for d in after_join[2:])
        assert "queue" not in {kind for kind, _ in anonymous.seen}  # nobody's business
        deadline = time.monotonic() + 5
        while anonymous.comments == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert anonymous.comments >= 1  # an idle stream gets keep-alive comments
    finally:
        anonymous.close()
        mine.close()
        api.close()


def test_a_client_not_asking_for_a_stream_gets_one_round(served: tuple[Flask, str]) -> None:
    app, base = served
    with app.extensions["sync_db_sessionmaker"]() as session:
        world = World(app, session)
        organizer = world.person()
        event = world.event(organizer)
        world.ticket_type(event, organizer, price_cents=0, quantity=3)
        draft = world.event(organizer, published=False)
    reply = httpx.get(f"{base}/api/v1/events/{event.id}/live", timeout=10)
    assert reply.status_code == 200
    assert reply.text.startswith("retry: 2000\n\nevent: availability\ndata: {")
    assert httpx.get(f"{base}/api/v1/events/{draft.id}/live", timeout=10).status_code == 401
    page = httpx.get(f"{base}/live/events/{event.id}", timeout=10)
    assert page.status_code == 200 and "event: availability" in page.text
