"""Glue between the core's objects and the workers' small interfaces. No Qt here.

- :func:`sync_round`: one ``SyncEngine.sync_once`` as a ``SyncOutcome`` (with the engine's backoff);
- :func:`pair_and_download`: pair with a code, then download the ticket list with progress;
- :func:`parse_pairing_payload`, :func:`parse_pairing_code`: what a pairing QR code says.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from scanner_app.core import sync
from scanner_app.storage.database import server_slug
from scanner_app.storage.store import DoorStore
from scanner_app.workers.sync_worker import SyncOutcome, SyncRound
from shared import protocol as p

logger = logging.getLogger(__name__)

HTTP_TIMEOUT_S = 20.0
# A bare pairing code, as the server's pairing QR holds it (sync_server/devices/api.py renders
# the code alone: 10 characters of A-Z and 2-9 without look-alikes). Staff may also type it with
# dashes or spaces. Ticket tokens (32 characters) are longer, so one is never taken for a code.
_BARE_CODE = re.compile(r"[A-Z0-9]{6,16}")


def sync_round(engine: sync.SyncEngine) -> SyncRound:
    def run() -> SyncOutcome:
        now = datetime.now(UTC)
        try:
            report = engine.sync_once()
        except sync.DeviceRevoked:
            return SyncOutcome(online=True, revoked=True, message="device revoked", finished_at=now)
        except sync.NotPaired as exc:
            return SyncOutcome(online=False, message=exc.message, finished_at=now)
        except sync.SyncError as exc:
            delay = engine.backoff.failure(exc.retry_after)
            return SyncOutcome(
                online=False, message=exc.message, finished_at=now, retry_after_s=delay
            )
        engine.backoff.success()
        message = f"sent {report.uploaded} scans, received {report.tickets} tickets"
        return SyncOutcome(online=True, message=message, finished_at=datetime.now(UTC))

    return run


class _ProgressStore(DoorStore):
    """A ``DoorStore`` that reports each stored page: the pairing progress bar."""

    on_page: Callable[[int, int], None] | None = None
    stored = 0
    total = 0  # the sum of the snapshots' announced sizes (0: not announced)

    def store_page(self, event_id: int, page: p.DoorDataPage, revision: int | None) -> int:
        count = super().store_page(event_id, page, revision)
        self.stored += len(page.tickets)
        self.total += page.total_tickets or 0
        if self.on_page is not None:
            self.on_page(self.stored, self.total)
        return count


def pair_and_download(
    data_dir: Path,
    server_url: str,
    code: str,
    progress: Callable[[int, int], None],
    *,
    device_name: str = "",
    client_factory: Callable[[str], httpx.Client] | None = None,
) -> None:
    """Pair this device, then download every served event's tickets. Raises with words for staff.

    ``progress(done, total)``: tickets downloaded so far, and the total the server announced
    (0 until it has; with several events it grows as each event's snapshot starts).
    ``device_name``: empty keeps the name the organiser gave the device when making the code;
    a name renames it on the server (only when staff typed one).
    """
    server_url = server_url.strip().rstrip("/")
    if not urlsplit(server_url).scheme:
        server_url = f"https://{server_url}"
    make_client = client_factory or (lambda url: httpx.Client(base_url=url, timeout=HTTP_TIMEOUT_S))
    with make_client(server_url) as client:
        try:
            sync.pair(client, data_dir, code, device_name=device_name, platform=sys.platform)
        except sync.SyncError as exc:
            raise RuntimeError(_pairing_words(exc)) from exc
        store = _ProgressStore(data_dir, server_slug(server_url))
        store.on_page = progress
        try:
            sync.SyncEngine(store, client).sync_once()
        except sync.SyncError as exc:
            raise RuntimeError(
                f"Paired, but the ticket list did not download: {exc.message}"
            ) from exc
        finally:
            store.close()


def _pairing_words(exc: sync.SyncError) -> str:
    if exc.code == p.ErrorCode.PAIRING_CODE_INVALID:
        return "That pairing code is not valid (unknown, used or expired). Ask for a new one."
    if exc.code == "offline":
        return "Cannot reach the server. Check the address and the network."
    return f"Pairing failed: {exc.message}"


def parse_pairing_code(text: str) -> str | None:
    """A bare pairing code (what the server's pairing QR holds), normalised, or None.

    ``k7qm-2xh9-pa`` -> ``K7QM2XH9PA``; anything with other characters, or too short or long
    to be a code, is None.
    """
    code = re.sub(r"[\s-]", "", text).upper()
    return code if _BARE_CODE.fullmatch(code) else None


def parse_pairing_payload(text: str) -> tuple[str, str] | None:
    """``(server_url, code)`` from a pairing QR, or None when the text is not one.

    Accepted: ``stepperslife-pair:<server-url>#<code>`` and any http(s) URL whose query has a
    ``code`` (``https://tickets.example.com/pair?code=ABCD-1234``: the server is its origin).
    """
    text = text.strip()
    if text.startswith(f"{p.PAIRING_SCHEME}:"):
        rest = text[len(p.PAIRING_SCHEME) + 1 :]
        server, _, code = rest.partition("#")
        parts = urlsplit(server)
        if parts.scheme in ("http", "https") and parts.netloc and code.strip():
            return server.rstrip("/"), code.strip()
        return None
    parts = urlsplit(text)
    codes = parse_qs(parts.query).get("code")
    if parts.scheme in ("http", "https") and parts.netloc and codes and codes[0].strip():
        return f"{parts.scheme}://{parts.netloc}", codes[0].strip()
    return None
