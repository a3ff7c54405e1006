"""The stream process's side: one ``Hub`` per app and process, one thread, one database
connection for every open stream of that process.

The thread waits for a NOTIFY on :data:`~sync_server.live.publish.CHANNEL` (PostgreSQL) or for
its poll tick (SQLite; PostgreSQL too, every ``poll_seconds``, because a lapsing hold changes
availability without anyone writing). It then recomputes the snapshot of each watched event that
may have changed, once for all its streams (``snapshot(session, event_id, user_ids)`` given by the
domain: the event's availability and each watching person's place in line), and hands each
stream what differs from what it last sent. A stream keeps only the latest value of each kind
(``availability``, ``queue``): a slow client skips states, never piles them up.

Fan-out cost (``bench/live_fanout.py``): per change ONE snapshot of the event whatever the number
of streams (3 statements), its JSON serialised once, and its whole server-sent-event frame
(``event: …\ndata: …\n\n``) encoded to bytes once: every stream of the event is handed the same
bytes object and writes it as is (no per-stream formatting or encoding). What remains per stream
is waking its thread and its socket write (one thread per stream in a gthread worker), or, under
``sync-server streams`` (sync_server/live/server.py), one socket write on its event loop.

The LISTEN connection is the hub's own, detached from the pool (a connection that LISTENs never
goes back to it): the thread closes it when it ends, and :meth:`Hub.stop` wakes the thread with
a NOTIFY so that happens at once, not at the next poll tick.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from sync_server.live.publish import CHANNEL

logger = logging.getLogger(__name__)

# (session, event_id, user ids watching) -> (the event's public data, {user_id: their data})
Snapshot = Callable[[Session, int, frozenset[int]], tuple[Any, dict[int, Any]]]
# Recompute one event at most this often however many NOTIFYs arrive (a flash sale sends many).
MIN_INTERVAL_SECONDS = 0.1
IDLE_SECONDS = 5.0  # the thread ends after this long with no stream open
STOP_PAYLOAD = "hub:stop"  # a NOTIFY that only wakes a hub (names no event or user)
KEEPALIVE = b": keepalive\n\n"


def as_json(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=True, default=str)


def frame(kind: str, text: str) -> bytes:
    """One server-sent event, ready for the socket."""
    return f"event: {kind}\ndata: {text}\n\n".encode()


@dataclass(eq=False)
class Subscription:
    event_id: int
    user_id: int | None
    sent: dict[str, str] = field(default_factory=dict)  # kind -> JSON last handed over
    pending: dict[str, bytes] = field(default_factory=dict)  # kind -> the frame to write
    lock: threading.Lock = field(default_factory=threading.Lock)
    ready: threading.Event = field(default_factory=threading.Event)

    def offer(self, kind: str, data: Any) -> bool:
        text = as_json(data)
        return self.offer_text(kind, text, frame(kind, text))

    def offer_text(self, kind: str, text: str, encoded: bytes) -> bool:
        """Hand ``encoded`` (the frame of ``text``, JSON) over unless ``text`` is what this
        stream last got (the hub passes the same objects to every stream: ``==`` on the same
        string is an identity check). True: something new is pending."""
        with self.lock:
            if self.sent.get(kind) == text:
                return False
            self.sent[kind] = text
            self.pending[kind] = encoded
        self.ready.set()
        return True

    def take(self, timeout: float) -> list[tuple[str, bytes]]:
        """What changed since the last take (waits up to ``timeout``; [] on time-out)."""
        if not self.ready.wait(timeout):
            return []
        with self.lock:
            self.ready.clear()
            items, self.pending = list(self.pending.items()), {}
        return items


class Hub:
    def __init__(self, factory: sessionmaker[Session], snapshot: Snapshot, *,
                 poll_seconds: float = 0.5) -> None:
        self.factory = factory
        self.snapshot = snapshot
        self.poll_seconds = poll_seconds
        self.subs: set[Subscription] = set()
        self.lock = threading.Lock()
        self.dirty: set[int] = set()
        self.dirty_users: set[int] = set()
        self.computed = 0  # snapshots computed (tests, bench)
        # Called with the subscriptions a refresh handed something (from the hub's thread):
        # the asyncio stream server writes them all in one hop (sync_server/live/server.py).
        self.listeners: list[Callable[[list[Subscription]], None]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._idle_since: float | None = None
        self._listening = threading.Event()  # the thread holds its LISTEN connection

    # --- streams ----------------------------------------------------------------------------

    def subscribe(self, event_id: int, user_id: int | None) -> Subscription:
        sub = Subscription(event_id, user_id)
        with self.lock:
            self.subs.add(sub)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True, name="live-hub")
                self._thread.start()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self.lock:
            self.subs.discard(sub)

    def stream(self, sub: Subscription, *, keepalive_seconds: float,
               max_seconds: float | None = None) -> Iterator[bytes]:
        """The ``text/event-stream`` body of ``sub`` (ends after ``max_seconds`` if given; the
        browser's EventSource reconnects by itself): the frames as the hub encoded them."""
        started = time.monotonic()
        try:
            yield b"retry: 2000\n\n"
            while True:
                left = None if max_seconds is None else max_seconds - (time.monotonic() - started)
                items = sub.take(keepalive_seconds if left is None
                                 else max(min(keepalive_seconds, left), 0.0))
                for _kind, encoded in items:
                    yield encoded
                if left is not None and left <= 0:
                    return
                if not items:
                    yield KEEPALIVE
        finally:
            self.unsubscribe(sub)

    def stop(self, timeout: float = 10.0) -> None:
        """End the thread, which closes its LISTEN connection itself: woken by a NOTIFY (at
        once, not at its next poll tick), joined for up to ``timeout`` seconds."""
        self._stop.set()
        thread = self._thread
        if thread is None:
            return
        if self._listening.is_set():
            self._wake()
        thread.join(timeout=timeout)
        if thread.is_alive():
            logger.warning("live hub: the thread did not end within %.0f s", timeout)

    def _wake(self) -> None:
        """A NOTIFY that names nothing: the thread's wait ends, it sees the stop and ends."""
        try:
            with self.factory.kw["bind"].connect() as connection:
                connection.execute(sa.text("SELECT pg_notify(:channel, :payload)"),
                                   {"channel": CHANNEL, "payload": STOP_PAYLOAD})
                connection.commit()
        except Exception:  # the database went away: the thread ends at its next poll tick
            logger.warning("live hub: could not wake the thread to stop it", exc_info=True)

    # --- the thread ---------------------------------------------------------------------------

    def _idle(self) -> bool:
        """No stream for IDLE_SECONDS: the thread ends (the next stream starts another)."""
        with self.lock:
            if self.subs:
                self._idle_since = None
                return False
            if self._idle_since is None:
                self._idle_since = time.monotonic()
            if time.monotonic() - self._idle_since < IDLE_SECONDS and not self._stop.is_set():
                return False
            self._thread = None
            self._idle_since = None
            return True

    def _run(self) -> None:
        while not self._stop.is_set() and self._thread is threading.current_thread():
            try:
                if self.factory.kw["bind"].dialect.name == "postgresql":
                    self._listen_loop()
                else:
                    self._poll_loop()
            except Exception:  # the database went away: keep serving, retry in a moment
                logger.exception("live hub: lost the database; retrying")
                self._stop.wait(1.0)

    def _poll_loop(self) -> None:
        while not self._stop.is_set() and not self._idle():
            self.refresh(None)
            self._stop.wait(self.poll_seconds)

    def _listen_loop(self) -> None:
        engine = self.factory.kw["bind"]
        connection = engine.connect()
        # Never back to the pool (it would keep LISTENing there): closed for real below.
        connection.detach()
        try:
            raw = connection.connection.dbapi_connection
            assert raw is not None
            raw.autocommit = True
            raw.execute(f"LISTEN {CHANNEL}")
            self._listening.set()
            last_poll = time.monotonic()
            while not self._stop.is_set() and not self._idle():
                topics: set[str] = set()
                for note in raw.notifies(timeout=self.poll_seconds, stop_after=1):
                    topics.update(note.payload.split(","))
                if self._stop.is_set():
                    return
                if topics:
                    time.sleep(MIN_INTERVAL_SECONDS)  # let a burst of NOTIFYs gather
                    for note in raw.notifies(timeout=0.001):
                        topics.update(note.payload.split(","))
                if time.monotonic() - last_poll >= self.poll_seconds:
                    last_poll = time.monotonic()
                    self.refresh(None)
                elif topics:
                    self.refresh(topics)
        finally:
            self._listening.clear()
            connection.close()

    def refresh(self, topics: set[str] | None) -> None:
        """Recompute the watched events named by ``topics`` (None: every watched event) and
        hand each stream what changed."""
        with self.lock:
            subs = list(self.subs)
        by_event: dict[int, list[Subscription]] = {}
        for sub in subs:
            by_event.setdefault(sub.event_id, []).append(sub)
        if topics is not None:
            events = {int(t[6:]) for t in topics if t.startswith("event:") and t[6:].isdigit()}
            users = {int(t[5:]) for t in topics if t.startswith("user:") and t[5:].isdigit()}
            by_event = {e: s for e, s in by_event.items()
                        if e in events or any(x.user_id in users for x in s)}
        for event_id, watching in by_event.items():
            if self._stop.is_set():
                return
            users_watching = frozenset(s.user_id for s in watching if s.user_id is not None)
            try:
                with self.factory() as session:
                    public, personal = self.snapshot(session, event_id, users_watching)
                    session.rollback()
            except Exception:  # one event's failure never stops the others' streams
                logger.exception("live hub: snapshot of event %s failed", event_id)
                continue
            self.computed += 1
            public_text = as_json(public)  # once for the event's thousands of streams
            public_frame = frame("availability", public_text)  # encoded once, too
            changed = []
            for sub in watching:
                new = sub.offer_text("availability", public_text, public_frame)
                if sub.user_id is not None:
                    new = sub.offer("queue", personal.get(sub.user_id, {"entries": []})) or new
                if new:
                    changed.append(sub)
            if changed:
                for listener in list(self.listeners):
                    listener(changed)
