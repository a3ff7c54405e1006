"""``Door``: the DoorService the window and the CLI use. Decide, journal, answer — offline.

Each scan is one SQLite transaction: read what the cache knows, decide, write the journal row
and its outbound row, commit; only then is the verdict returned (journal first). Event rules and
keys are kept in memory and reloaded when the sync engine bumps the data generation.
"""

from __future__ import annotations

import logging
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from scanner_app import __version__
from scanner_app.core import rules
from scanner_app.core.debounce import COUNTED_S, Recent
from scanner_app.core.payload import read_payload, without_controls
from scanner_app.core.ports import DoorService, DoorStatus, TicketRow
from scanner_app.core.releases import newer_release
from scanner_app.core.verdict import Verdict, VerdictCode
from scanner_app.storage import cache, journal
from scanner_app.storage import models as m
from scanner_app.storage.store import LATEST_APP_VERSION, DoorStore
from shared import protocol as p
from shared.keys import Keyring
from shared.ticket_token import Reason, TicketClaims, Verification, read_claims, verify

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
DEFAULT_DEBOUNCE = timedelta(seconds=COUNTED_S)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Door:
    """Implements ``scanner_app.core.ports.DoorService``. Thread-safe: one scan at a time."""

    def __init__(
        self,
        store: DoorStore,
        *,
        clock: Clock = utc_now,
        debounce: timedelta = DEFAULT_DEBOUNCE,
    ) -> None:
        self.store = store
        self._clock = clock
        self._lock = threading.RLock()
        self._generation = -1
        self._events: dict[int, p.EventSettings] = {}
        self._keyring = Keyring()
        # key -> (when, the counted verdict, its door): the "counted" rule of core/debounce.py
        self._recent: Recent[tuple[datetime, Verdict, str]] = Recent(
            debounce.total_seconds(), keep=500
        )

    @classmethod
    def open(
        cls,
        data_dir: Path,
        *,
        server_url: str | None = None,
        clock: Clock = utc_now,
        debounce: timedelta = DEFAULT_DEBOUNCE,
    ) -> Door:
        """The door of the active paired server (or of ``server_url``) under ``data_dir``."""
        store = (DoorStore.open_active(data_dir) if server_url is None
                 else DoorStore.open_server(data_dir, server_url))
        return cls(store, clock=clock, debounce=debounce)

    def close(self) -> None:
        self.store.close()

    # --- what this door is ------------------------------------------------------------------

    @property
    def door_name(self) -> str:
        """The name the CLI records scans under by default: the device's, else the host's.
        (The window keeps its own, in its settings.)"""
        identity = self.store.identity()
        if identity is not None and identity.device_name:
            return identity.device_name
        return socket.gethostname()

    def events(self) -> list[p.EventSettings]:
        with self.store.transaction() as s:
            return sorted(self.store.served_events(s).values(), key=lambda e: e.event_id)

    # --- the scan path -----------------------------------------------------------------------

    def _reload(self, s: Session) -> None:
        generation = self.store.generation(s)
        if generation != self._generation:
            self._events = self.store.served_events(s)
            self._keyring = Keyring(self.store.keys(s))
            self._generation = generation

    def check(
        self, payload: str, *, door: str, source: str, direction: p.Direction | None = None
    ) -> Verdict:
        """Decide on one scanned payload, journal it, return the answer. Never raises."""
        try:
            with self._lock:
                return self._check(payload, door=door, source=source,
                                   direction=direction or p.Direction.ENTRY)
        except Exception:
            logger.exception("scan could not be decided or recorded")
            return rules.verdict(VerdictCode.ERROR,
                                 "This scan could not be recorded. Scan the ticket again.")

    def _check(self, payload: object, *, door: str, source: str,
               direction: p.Direction) -> Verdict:
        read = read_payload(payload)
        text, door = read.text, without_controls(door)
        now = self._clock()
        key = f"{direction.value}:{text.strip().upper()}"
        with self.store.transaction() as s:
            recent = self._recent.get(key, now.timestamp())
            if recent is not None:
                first_at, first, first_door = recent[1]
                seconds = max(0, round((now - first_at).total_seconds()))
                answer = rules.verdict(
                    VerdictCode.REPEAT,
                    f"{first.title} {seconds} s ago: counted once, not twice.",
                    ticket_id=first.ticket_id, holder_name=first.holder_name,
                    ticket_type=first.ticket_type, ticket_number=first.ticket_number,
                    previous_scan_at=first_at, previous_scan_door=first_door,
                )
            else:
                self._reload(s)
                verification = (verify(text, self._keyring, self._events.keys()) if read.clean
                                else Verification(Reason.MALFORMED))
                answer = rules.decide(self._facts(s, verification), now, direction)
            scan_id = str(uuid.uuid4())
            claims = verification_claims(text)
            journal.append(s, journal.JournalEntry(
                scan_id=scan_id, scanned_at=now, door=door, source=source, payload=text,
                verdict=answer.code.value, counted=answer.code in rules.COUNTED,
                direction=direction, scan_type=p.ScanType.QR_SCAN,
                event_id=claims.event_id if claims else None,
                ticket_id=claims.ticket_id if claims else None,
            ))
        if answer.code in rules.COUNTED:
            self._recent.note(key, now.timestamp(), (now, answer, door))
        return _with_scan_id(answer, scan_id)

    def _facts(self, s: Session, verification: Verification) -> rules.Facts:
        claims = verification.claims
        if not verification.ok or claims is None:
            return rules.Facts(verification)
        revocation = self.store.revocation(s, claims.ticket_id)
        history = [
            rules.PastScan(h.scanned_at, h.door, h.direction)
            for h in journal.counted_scans(s, claims.ticket_id)
        ]
        return rules.Facts(
            verification=verification,
            event=self._events.get(claims.event_id),
            ticket=self.store.ticket(s, claims.ticket_id),
            revoked=None if revocation is None else p.RevocationReason(revocation.reason),
            history=history,
        )

    # --- lookup and manual check-in ----------------------------------------------------------

    def lookup(self, text: str, limit: int = 50) -> Sequence[TicketRow]:
        with self.store.transaction() as s:
            ids = cache.lookup_ticket_ids(s, text, limit)
            if not ids:
                return []
            tickets = list(s.scalars(sa.select(m.Ticket).where(m.Ticket.ticket_id.in_(ids))))
            local = cache.last_entry_times(s, ids)
        rows = [
            TicketRow(
                ticket_id=t.ticket_id, event_id=t.event_id, ticket_number=t.ticket_number,
                order_number=t.order_number, holder_name=t.holder_name,
                holder_email=t.holder_email, ticket_type=t.ticket_type, status=t.status,
                checked_in_at=max(
                    (x for x in (local.get(t.ticket_id), t.scanned_at) if x is not None),
                    default=None,
                ),
            )
            for t in tickets
        ]
        return sorted(rows, key=lambda r: (r.holder_name.casefold(), r.ticket_id))

    def manual_check_in(
        self, ticket_id: int, *, reason: str, door: str, direction: p.Direction | None = None
    ) -> Verdict:
        """Check a cached ticket in by hand (no code). A reason is required (ValueError)."""
        reason, door = without_controls(reason).strip(), without_controls(door)
        if not reason:
            raise ValueError("a manual check-in needs a reason")
        direction = direction or p.Direction.ENTRY
        with self._lock:
            now = self._clock()
            with self.store.transaction() as s:
                self._reload(s)
                ticket = self.store.ticket(s, ticket_id)
                if ticket is None:
                    answer = rules.verdict(VerdictCode.UNKNOWN_TICKET,
                                           "No such ticket in this door's cache.",
                                           ticket_id=ticket_id)
                    event_id = None
                else:
                    event_id = ticket.event_id
                    claims = TicketClaims(ticket.event_id, ticket.ticket_id, 1)
                    answer = rules.decide(
                        self._facts(s, Verification(Reason.OK, claims)), now, direction
                    )
                scan_id = str(uuid.uuid4())
                journal.append(s, journal.JournalEntry(
                    scan_id=scan_id, scanned_at=now, door=door, source="manual", payload="",
                    verdict=answer.code.value, counted=answer.code in rules.COUNTED,
                    direction=direction, scan_type=p.ScanType.MANUAL_LOOKUP,
                    event_id=event_id, ticket_id=ticket_id, manual_reason=reason,
                ))
        return _with_scan_id(answer, scan_id)

    # --- status ------------------------------------------------------------------------------

    def status(self) -> DoorStatus:
        counts = self.store.counts()
        info = self.store.sync_info()
        return DoorStatus(
            tickets_cached=counts["tickets_cached"], scans_queued=counts["scans_queued"],
            last_sync_at=info.last_success_at, online=info.online,
            conflicts=counts["conflicts"], admitted=counts["admitted"],
            refused=counts["refused"], set_aside=counts["scans_set_aside"],
            newer_app_version=newer_release(self.store.setting(LATEST_APP_VERSION), __version__),
        )

    def conflicts(self) -> list[p.Conflict]:
        return self.store.conflicts()


def verification_claims(text: str) -> TicketClaims | None:
    """What the payload names (even when refused), for the journal and the server's log."""
    return read_claims(text).claims


def _with_scan_id(answer: Verdict, scan_id: str) -> Verdict:
    return replace(answer, scan_id=scan_id)


if TYPE_CHECKING:  # mypy proves Door is a DoorService (the window codes against the Protocol)
    def _is_a_door_service(door: Door) -> DoorService:
        return door
