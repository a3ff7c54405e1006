"""``DoorStore``: one paired server's database, its vault, and the short transactions on them.

The scan path (``Door``) and the sync thread (``SyncEngine``) share one store; each call opens
its own session and transaction, so the two never hold a lock for long.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from scanner_app.storage import cache, journal
from scanner_app.storage import database as db
from scanner_app.storage import models as m
from scanner_app.storage.vault import Vault, VaultError, destroy_vault, open_vault
from shared import protocol as p
from shared.vocabulary import ADMITTING_VERDICTS, REFUSING_VERDICTS

logger = logging.getLogger(__name__)

TICKET_CHUNK = 2_000  # tickets per write transaction while storing a page at a door in use
IN_USE_WINDOW = timedelta(minutes=2)  # a scan or a desk sale this recent: the door is in use
_GENERATION = "generation"


@dataclass(frozen=True, slots=True)
class IdentityInfo:
    server_url: str
    device_id: int | None
    device_name: str
    paired_at: datetime | None

    @property
    def paired(self) -> bool:
        return self.device_id is not None


@dataclass(frozen=True, slots=True)
class SyncInfo:
    last_success_at: datetime | None
    last_attempt_at: datetime | None
    last_error: str | None
    online: bool
    clock_skew_seconds: float | None = None


# Settings key: the newest door-app release the server named in its last heartbeat.
LATEST_APP_VERSION = "latest_app_version"


@dataclass(frozen=True, slots=True)
class PreparedPage:
    """A door-data page and its tickets as SQLite will store them (``DoorStore.prepare_page``).

    The download's pipeline (issue #13): with prefetch, the engine's helper thread fetches,
    parses and prepares page n + 1 while the engine's thread stores page n, so the rows' and
    search terms' Python work (~1.3 s of CPU per 100,000 tickets, a third of the door's) no
    longer waits behind SQLite's. Figure (2026-12-03, load 16-24, alternated, pages served by
    a stand-in HTTP process): the storing thread's CPU for 100,000 tickets fell from 3.8-4.2 s
    to 2.6-2.9 s, the helper's rose from 0.45 to 1.7 s; the door's total CPU is unchanged
    (4.2-4.6 s). docs/benchmarks.md, "The door's download as a pipeline".
    """

    page: p.DoorDataPage
    tickets: cache.PreparedTickets


class StoreClosed(RuntimeError):
    """The store was closed or wiped; open it again."""


class DoorStore:
    def __init__(self, data_dir: Path, slug: str, *, encrypt: bool = True) -> None:
        """Open (or create) one server's database. ``encrypt=False``: the benchmarks' baseline.

        Raises ``database.UnreadableDatabase`` when the database cannot be opened.
        """
        self.data_dir = data_dir
        self.slug = slug
        self.folder = db.server_dir(data_dir, slug)
        existing = (self.folder / db.DB_NAME).exists()
        self.vault: Vault = open_vault(self.folder, slug, existing=existing)
        self.engine = db.open_engine(data_dir, slug, self.vault.database_key if encrypt else None)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._lock = threading.Lock()
        self.closed = False

    @classmethod
    def open_active(cls, data_dir: Path) -> DoorStore:
        return cls(data_dir, db.active_slug(data_dir))

    @classmethod
    def open_server(cls, data_dir: Path, server_url: str, *, encrypt: bool = True) -> DoorStore:
        return cls(data_dir, db.server_slug(server_url), encrypt=encrypt)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One short write transaction (BEGIN IMMEDIATE); commits on success."""
        if self.closed:
            raise StoreClosed(self.slug)
        with self._sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.engine.dispose()

    # --- identity and settings ---------------------------------------------------------------

    def identity(self) -> IdentityInfo | None:
        with self.transaction() as s:
            row = s.get(m.Identity, 1)
            if row is None:
                return None
            return IdentityInfo(row.server_url, row.device_id, row.device_name, row.paired_at)

    def save_pairing(self, server_url: str, answer: p.PairResponse) -> None:
        with self.transaction() as s:
            row = s.get(m.Identity, 1) or m.Identity(id=1)
            row.server_url = server_url
            row.device_id = answer.device_id
            row.device_name = answer.device_name
            row.token_encrypted = self.vault.seal(answer.token.encode("utf-8"))
            row.paired_at = answer.server_time or datetime.now(UTC)
            s.add(row)
        db.set_active_slug(self.data_dir, self.slug)

    def device_token(self) -> str | None:
        with self.transaction() as s:
            row = s.get(m.Identity, 1)
            sealed = None if row is None else row.token_encrypted
        if sealed is None:
            return None
        try:
            return self.vault.open(sealed).decode("utf-8")
        except VaultError:
            logger.error("the device token cannot be opened: pair again")
            return None

    def setting(self, key: str, default: str = "") -> str:
        with self.transaction() as s:
            row = s.get(m.Setting, key)
            return default if row is None else row.value

    def set_setting(self, key: str, value: str) -> None:
        with self.transaction() as s:
            s.merge(m.Setting(key=key, value=value))

    @staticmethod
    def generation(s: Session) -> int:
        """Moves whenever events or keys change, so readers know to reload their copies."""
        row = journal.driver(s).execute(
            "SELECT value FROM settings WHERE key = ?", (_GENERATION,)).fetchone()
        return 0 if row is None else int(row[0])

    @staticmethod
    def _bump_generation(s: Session) -> None:
        row = s.get(m.Setting, _GENERATION)
        if row is None:
            s.add(m.Setting(key=_GENERATION, value="1"))
        else:
            row.value = str(int(row.value) + 1)

    # --- server data -------------------------------------------------------------------------

    def served_events(self, s: Session) -> dict[int, p.EventSettings]:
        return {row.event_id: cache.event_settings(row) for row in s.scalars(sa.select(m.Event))}

    def keys(self, s: Session) -> dict[tuple[int, int], bytes]:
        return cache.load_keys(s, self.vault)

    def event_cursors(self) -> dict[int, tuple[str | None, int]]:
        with self.transaction() as s:
            return {
                row.event_id: (row.cursor, row.revision)
                for row in s.scalars(sa.select(m.Event))
            }

    def note_events_served(self, events: Sequence[p.EventSummary]) -> list[int]:
        """Keep the heartbeat's event list; forget events no longer served. Returns those."""
        served = {e.event_id: e for e in events}
        with self.transaction() as s:
            gone = [
                eid for eid in s.scalars(sa.select(m.Event.event_id)) if eid not in served
            ]
            for event_id in gone:
                logger.info("event %s is no longer served here: dropping its cache", event_id)
                cache.forget_event(s, event_id)
            if gone:
                self._bump_generation(s)
        return gone

    def forget_event(self, event_id: int) -> None:
        with self.transaction() as s:
            cache.forget_event(s, event_id)
            self._bump_generation(s)

    def restart_snapshot(self, event_id: int) -> None:
        with self.transaction() as s:
            row = s.get(m.Event, event_id)
            if row is not None:
                row.cursor = None
                row.snapshot_complete = False

    @staticmethod
    def prepare_page(page: p.DoorDataPage) -> PreparedPage:
        """``page`` with its tickets' rows and search terms computed: no lock, no database.

        The sync engine calls this in its prefetch thread, right after parsing the page, so
        that this Python work runs while the other thread's SQLite work (which releases the
        GIL) stores the page before. See ``PreparedPage`` for the figure.
        """
        return PreparedPage(page, cache.prepare_tickets(page.tickets))

    def store_page(self, event_id: int, page: p.DoorDataPage | PreparedPage,
                   revision: int | None) -> int:
        """Store one door-data page; the cursor moves only in the last write. Returns tickets.

        Rows and search terms are computed first, outside any transaction (or already, for a
        ``PreparedPage``): the write lock is held only while SQLite stores a chunk, so a scan
        waits at most that long. A door not in use stores the page in one transaction
        (``in_use``).
        """
        prepared = page.tickets if isinstance(page, PreparedPage) else None
        page = page.page if isinstance(page, PreparedPage) else page
        stored = 0
        tickets = page.tickets
        if not tickets:
            chunks: list[cache.PreparedTickets] = []
        elif self.in_use():
            chunks = [cache.prepare_tickets(tickets[i : i + TICKET_CHUNK])
                      for i in range(0, len(tickets), TICKET_CHUNK)]
        else:
            chunks = [prepared if prepared is not None else cache.prepare_tickets(tickets)]
        for chunk in chunks[:-1]:
            with self.transaction() as s:
                stored += cache.store_tickets(s, chunk)
        with self.transaction() as s:
            cache.store_event(s, page.event)
            s.flush()
            cache.store_keys(s, event_id, page.keys, self.vault)
            if chunks:
                stored += cache.store_tickets(s, chunks[-1])
            cache.store_revocations(s, event_id, page.revocations)
            cache.store_conflicts(s, page.conflicts)
            row = s.get(m.Event, event_id)
            assert row is not None
            row.cursor = page.cursor
            if not page.has_more:
                row.snapshot_complete = True
                if revision is not None:
                    row.revision = revision
            row.synced_at = page.server_time
            self._bump_generation(s)
        return stored

    def in_use(self, now: datetime | None = None) -> bool:
        """Whether this door journaled a scan or made a desk sale in the last ``IN_USE_WINDOW``
        (or dated one later than ``now``: a clock set ahead counts as in use).

        The download's one fast path hangs on this: a door not in use (being set up, the usual
        time of a full download) stores a page in one write transaction; one in use keeps
        ``TICKET_CHUNK`` tickets per transaction, so a scan or a sale waits for the write lock
        at most that long. Why it pays: a chunk's search terms land all over their B-tree, so
        every commit rewrites (and encrypts) most of its pages again. Figure (issue #13,
        2026-12-03, load ~13, alternated): storing 100,000 tickets took 10.4 s of CPU in
        chunks of 2,000 and 8.5 s a page (10,000) at a time; such a page holds the lock about
        0.4 s on a quiet machine, a chunk about 0.1 s.
        """
        now = now or datetime.now(UTC)
        with self.transaction() as s:
            driver = journal.driver(s)
            for table, column in (("scan_journal", "scanned_at"), ("box_sales", "sold_at")):
                row = driver.execute(
                    f"SELECT {column} FROM {table} ORDER BY seq DESC LIMIT 1"  # noqa: S608
                ).fetchone()
                latest = journal.utc_time(row[0]) if row is not None else None
                if latest is not None and latest > now - IN_USE_WINDOW:
                    return True
        return False

    def ticket(self, s: Session, ticket_id: int) -> p.TicketRecord | None:
        return cache.ticket(s, ticket_id)

    def revocation(self, s: Session, ticket_id: int) -> m.Revocation | None:
        """The ticket's revocation, if any (a detached row: read it, do not change it)."""
        return cache.revocation(s, ticket_id)

    def conflicts(self) -> list[p.Conflict]:
        with self.transaction() as s:
            rows = s.scalars(sa.select(m.Conflict).order_by(m.Conflict.scanned_at))
            return [
                p.Conflict(r.scan_id, r.ticket_id, r.scanned_at, r.door, r.winning_scan_id,
                           r.winning_scanned_at, r.winning_door)
                for r in rows
            ]

    # --- journal and queue -------------------------------------------------------------------

    def pending_scans(self, limit: int, skip: Collection[str] = ()) -> list[p.ScanRecord]:
        with self.transaction() as s:
            return journal.pending(s, limit, skip)

    def note_refusals(self, refused: Mapping[str, str], max_refusals: int) -> int:
        """See ``journal.note_refusals``: returns how many scans were set aside."""
        with self.transaction() as s:
            return journal.note_refusals(s, refused, max_refusals, datetime.now(UTC))

    def acknowledge(self, results: Sequence[p.ScanResult]) -> int:
        with self.transaction() as s:
            done = journal.acknowledge(s, results, datetime.now(UTC))
            cache.store_conflicts(s, [r.conflict for r in results if r.conflict is not None])
            return done

    # --- status ------------------------------------------------------------------------------

    def sync_info(self) -> SyncInfo:
        with self.transaction() as s:
            row = s.get(m.SyncState, 1)
            if row is None:
                return SyncInfo(None, None, None, False)
            return SyncInfo(row.last_success_at, row.last_attempt_at, row.last_error, row.online,
                            row.clock_skew_seconds)

    def note_sync(self, *, ok: bool, error: str | None, at: datetime,
                  clock_skew_seconds: float | None = None) -> None:
        with self.transaction() as s:
            row = s.get(m.SyncState, 1) or m.SyncState(id=1, online=False)
            row.last_attempt_at = at
            row.online = ok
            # a round can succeed with an error: its upload failed, its download went on
            row.last_error = (error or "")[:200] if error or not ok else None
            if ok:
                row.last_success_at = at
            if clock_skew_seconds is not None:
                row.clock_skew_seconds = clock_skew_seconds
            s.add(row)

    def counts(self) -> dict[str, int]:
        with self.transaction() as s:
            def count(stmt: sa.Select[int]) -> int:
                return int(s.scalar(stmt) or 0)

            total = sa.select(sa.func.count())
            admitted = m.Scan.verdict.in_(sorted(ADMITTING_VERDICTS))
            refused = m.Scan.verdict.in_(sorted(REFUSING_VERDICTS))
            return {
                "tickets_cached": count(total.select_from(m.Ticket)),
                "scans_queued": journal.count_pending(s),
                "scans_set_aside": journal.count_set_aside(s),
                "scans": count(total.select_from(m.Scan)),
                "admitted": count(total.select_from(m.Scan).where(admitted)),
                "refused": count(total.select_from(m.Scan).where(refused)),
                "conflicts": count(total.select_from(m.Conflict)),
            }

    def checkpoint(self) -> None:
        """Fold the WAL back into the database now (idle time), not in the middle of a scan."""
        with self.driver_connection() as connection:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)")

    @contextmanager
    def driver_connection(self) -> Iterator[Any]:
        """The keyed DB-API connection itself (checks, checkpoints, tests); autocommit."""
        raw = self.engine.raw_connection()
        try:
            driver = raw.driver_connection
            assert driver is not None
            yield driver
        finally:
            raw.close()

    # --- revoke ------------------------------------------------------------------------------

    def wipe(self) -> None:
        """This device was revoked: delete the database, its WAL and the key."""
        logger.warning("device revoked by %s: wiping local data", self.slug)
        with self._lock:
            self.close()
            destroy_vault(self.folder)
            db.remove_server_files(self.data_dir, self.slug)
