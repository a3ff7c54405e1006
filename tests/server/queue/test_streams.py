"""The live streams over real HTTP, under both servers (Werkzeug's threaded server, a thread per
stream as under gunicorn's gthread; and ``sync-server streams``, one asyncio thread): availability
on connect and after a change; a signed-in person's place in line and offer; a client that does
not ask for a stream gets one round of events."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from flask import Flask
from werkzeug.serving import make_server

from sync_server import create_app
from sync_server.live.server import StreamServer
from tests.server.conftest import World, server_config
from tests.support.apps import close_app

STREAM = {"Accept": "text/event-stream"}


@contextmanager
def threaded(app: Flask) -> Iterator[int]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(timeout=10)


@contextmanager
def on_asyncio(app: Flask) -> Iterator[int]:
    """``sync-server streams``' server on a thread of its own, stopped through its event."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    port: list[int] = []
    bound = threading.Event()
    server = StreamServer(app, keepalive_seconds=1.0)

    def ready(number: int) -> None:
        port.append(number)
        bound.set()

    thread = threading.Thread(target=loop.run_until_complete,
                              args=(server.serve("127.0.0.1", 0, ready, stop),), daemon=True)
    thread.start()
    assert bound.wait(10)
    try:
        yield port[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)
        loop.close()


@pytest.fixture(params=[threaded, on_asyncio], ids=["threads", "asyncio"])
def served(request: pytest.FixtureRequest, database_at_head: str,
           tmp_path: Path) -> Iterator[tuple[Flask, str]]:
    app = create_app({**server_config(database_at_head, tmp_path / "instance"),
                      "live_poll_seconds": 0.2, "live_keepalive_seconds": 1.0})
    try:
        with request.param(app) as port:
            yield app, f"http://127.0.0.1:{port}"
    finally:
        close_app(app)


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
        event = world.event(organizer, allow_waitlist=True)
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
        event = world.event(organizer, allow_waitlist=True)
        world.ticket_type(event, organizer, price_cents=0, quantity=3)
        draft = world.event(organizer, published=False)
    reply = httpx.get(f"{base}/api/v1/events/{event.id}/live", timeout=10)
    assert reply.status_code == 200
    assert reply.text.startswith("retry: 2000\n\nevent: availability\ndata: {")
    assert httpx.get(f"{base}/api/v1/events/{draft.id}/live", timeout=10).status_code == 401
    page = httpx.get(f"{base}/live/events/{event.id}", timeout=10)
    assert page.status_code == 200 and "event: availability" in page.text


def test_the_asyncio_server_refuses_bad_requests_and_forgets_closed_streams(
        database_at_head: str, tmp_path: Path) -> None:
    app = create_app({**server_config(database_at_head, tmp_path / "instance"),
                      "live_poll_seconds": 0.2, "live_keepalive_seconds": 1.0})
    with app.extensions["sync_db_sessionmaker"]() as session:
        world = World(app, session)
        organizer = world.person()
        event = world.event(organizer)
        world.ticket_type(event, organizer, price_cents=0, quantity=3)
        event_id = event.id
    try:
        with on_asyncio(app) as port:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as bad:
                bad.sendall(b"NONSENSE\r\n\r\n")
                assert bad.recv(4096).startswith(b"HTTP/1.1 400 ")
            stream = socket.create_connection(("127.0.0.1", port), timeout=10)
            stream.sendall(f"GET /api/v1/events/{event_id}/live HTTP/1.1\r\nHost: x\r\n"
                           "Accept: text/event-stream\r\n\r\n".encode())
            received = b""
            while b"event: availability" not in received:
                chunk = stream.recv(4096)
                assert chunk, received
                received += chunk
            assert received.startswith(b"HTTP/1.1 200 OK\r\n")
            assert b"Content-Type: text/event-stream" in received
            hub = app.extensions["sync_live_hub"]
            assert len(hub.subs) == 1
            stream.close()
            deadline = time.monotonic() + 5
            while hub.subs and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not hub.subs  # the closed stream's subscription is gone
    finally:
        close_app(app)
