"""Pairing, as the window does it: what a pairing QR says, pairing plus the first download with
progress, and opening the paired door with its sync round. No Qt.

The protocol itself (``POST /api/v1/door/pair``) is :func:`scanner_app.core.sync.pair`.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from scanner_app.core import sync
from scanner_app.core.door import Door
from scanner_app.core.ports import PairedDoor, Progress
from scanner_app.storage.store import DoorStore
from shared import protocol as p

logger = logging.getLogger(__name__)

HTTP_TIMEOUT_S = 20.0
# A bare pairing code, as the server's pairing QR holds it (sync_server/devices/api.py renders
# the code alone: 10 characters of A-Z and 2-9 without look-alikes). Staff may also type it with
# dashes or spaces. Ticket tokens (32 characters) are longer, so one is never taken for a code.
_BARE_CODE = re.compile(r"[A-Z0-9]{6,16}")

ClientFactory = Callable[[str], httpx.Client]  # server URL -> a client whose base_url it is


class PairingFailed(RuntimeError):
    """Pairing or its first download failed; the message is in words for the staff."""


def http_client(server_url: str) -> httpx.Client:
    return httpx.Client(base_url=server_url, timeout=HTTP_TIMEOUT_S)


def open_paired_door(
    data_dir: Path, client_factory: ClientFactory = http_client
) -> PairedDoor | None:
    """The active server's door, opened (its database migrated) with its sync round, or None
    when this device is not paired."""
    door = Door.open(data_dir)
    identity = door.store.identity()
    if identity is None or not identity.paired:
        door.close()
        return None
    engine = sync.SyncEngine(door.store, client_factory(identity.server_url))
    return PairedDoor(door, engine.sync_round)


class _PageCounter:
    """Tickets downloaded so far, and the sum of the snapshots' announced sizes (0: none)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.stored = 0
        self.total = 0

    def __call__(self, page: p.DoorDataPage) -> None:
        self.stored += len(page.tickets)
        self.total += page.total_tickets or 0
        self.progress(self.stored, self.total)


def pair_and_download(
    data_dir: Path,
    server_url: str,
    code: str,
    progress: Progress,
    *,
    device_name: str = "",
    client_factory: ClientFactory = http_client,
) -> None:
    """Pair this device, then download every served event's tickets. Raises ``PairingFailed``.

    ``progress(done, total)``: tickets downloaded so far, and the total the server announced
    (0 until it has; with several events it grows as each event's snapshot starts).
    ``device_name``: empty keeps the name the organiser gave the device when making the code;
    a name renames it on the server (only when staff typed one).
    """
    server_url = server_url.strip().rstrip("/")
    if not urlsplit(server_url).scheme:
        server_url = f"https://{server_url}"
    with client_factory(server_url) as client:
        try:
            sync.pair(client, data_dir, code, device_name=device_name, platform=sys.platform)
        except sync.SyncError as exc:
            raise PairingFailed(_pairing_words(exc)) from exc
        store = DoorStore.open_server(data_dir, server_url)
        try:
            sync.SyncEngine(store, client, on_page=_PageCounter(progress)).sync_once()
        except sync.SyncError as exc:
            raise PairingFailed(
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


@dataclass(frozen=True, slots=True)
class PairingQr:
    """What a scanned pairing code says: the code, and the server when the code names one."""

    code: str
    server_url: str | None  # None: a bare code; staff type the server's address


def read_pairing_qr(text: str) -> PairingQr | None:
    """A pairing QR (with its server, or a bare code), or None when ``text`` is neither."""
    found = parse_pairing_payload(text)
    if found is not None:
        return PairingQr(code=found[1], server_url=found[0])
    code = parse_pairing_code(text)
    return None if code is None else PairingQr(code=code, server_url=None)


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
