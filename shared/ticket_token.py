"""The signed ticket token: what a ticket's QR code says, and how a door checks it offline.

Byte layout of format version 1 (20 bytes, big-endian), written down in ``docs/ticket-token.md``::

    offset size field
    0      1    format version (1)
    1      4    event id            (unsigned, 1 .. 2**32-1)
    5      4    ticket instance id  (unsigned, 1 .. 2**32-1)
    9      1    key version         (unsigned, 1 .. 255)
    10     10   HMAC-SHA256(event key, bytes 0..9), truncated to 80 bits

The 20 bytes are written as RFC 4648 base32 without padding: exactly 32 characters from
``A-Z2-7``, all inside QR alphanumeric mode, so the code is a version 2 QR (25x25) at error
correction M. Base32 is read case-insensitively (a keyboard-wedge scanner under caps lock sends
lowercase) and surrounding whitespace (the scanner's Enter) is ignored. Only ASCII is read: a
Unicode look-alike (dotless ``ı``, long ``ſ``, the ``ﬀ`` ligature) would upper-case into a genuine
letter, so any non-ASCII character makes the payload malformed.

There is no issue time and no expiry in the token: when a ticket is valid comes from the event's
days and the ticket type, which the door's rules check. Verification never raises; it returns a
:class:`Verification` whose :class:`Reason` is a stable code.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import struct
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from hashlib import sha256

from shared.keys import MAX_EVENT_ID, MAX_KEY_VERSION, Keyring

FORMAT_VERSION = 1
MAX_RESERVED_VERSION = 15
MAC_LENGTH = 10
HEADER = struct.Struct(">BIIB")
TOKEN_BYTES = HEADER.size + MAC_LENGTH
TOKEN_CHARS = 32
# Anything longer than this cannot be a token of any version we know; refuse before any work.
MAX_PAYLOAD_CHARS = 256
_BASE32_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


class Reason(StrEnum):
    """Why a payload was accepted or refused. The values are stable: they cross the wire."""

    OK = "ok"
    MALFORMED = "malformed"
    UNSUPPORTED_VERSION = "unsupported_version"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    WRONG_EVENT = "wrong_event"


@dataclass(frozen=True, slots=True)
class TicketClaims:
    """What a token says. Trust it only once a :class:`Verification` is ``ok``."""

    event_id: int
    ticket_id: int
    key_version: int

    def __post_init__(self) -> None:
        if not 0 < self.event_id <= MAX_EVENT_ID:
            raise ValueError(f"event id out of range: {self.event_id}")
        if not 0 < self.ticket_id <= 2**32 - 1:
            raise ValueError(f"ticket id out of range: {self.ticket_id}")
        if not 0 < self.key_version <= MAX_KEY_VERSION:
            raise ValueError(f"key version out of range: {self.key_version}")


@dataclass(frozen=True, slots=True)
class Verification:
    reason: Reason
    claims: TicketClaims | None = None

    @property
    def ok(self) -> bool:
        return self.reason is Reason.OK


def _mac(key: bytes, header: bytes) -> bytes:
    return hmac.new(key, header, sha256).digest()[:MAC_LENGTH]


def sign(claims: TicketClaims, key: bytes) -> str:
    """Return the token text for ``claims``, signed with the event key of ``claims.key_version``."""
    header = HEADER.pack(FORMAT_VERSION, claims.event_id, claims.ticket_id, claims.key_version)
    return base64.b32encode(header + _mac(key, header)).decode("ascii")


def _normalise(payload: object) -> str | None:
    if isinstance(payload, bytes | bytearray | memoryview):
        if len(payload) > MAX_PAYLOAD_CHARS:
            return None
        try:
            payload = bytes(payload).decode("ascii")
        except UnicodeDecodeError:
            return None
    if not isinstance(payload, str) or len(payload) > MAX_PAYLOAD_CHARS or not payload.isascii():
        return None
    text = payload.strip().upper()
    if not text or not _BASE32_ALPHABET.issuperset(text):
        return None
    return text


def _parse(payload: object) -> tuple[Verification, bytes]:
    text = _normalise(payload)
    if text is None:
        return Verification(Reason.MALFORMED), b""
    # Decode just enough to tell an unknown future version (maybe another length) from garbage.
    try:
        head = base64.b32decode(text[:8])
    except (binascii.Error, ValueError):
        return Verification(Reason.MALFORMED), b""
    if head[0] != FORMAT_VERSION:
        # Versions 2..15 are reserved for future formats (the text starts "A" or "B"); any
        # other first byte means this is not one of our tokens at all.
        reserved = FORMAT_VERSION < head[0] <= MAX_RESERVED_VERSION
        return Verification(Reason.UNSUPPORTED_VERSION if reserved else Reason.MALFORMED), b""
    if len(text) != TOKEN_CHARS:
        return Verification(Reason.MALFORMED), b""
    raw = base64.b32decode(text)
    _version, event_id, ticket_id, key_version = HEADER.unpack_from(raw)
    if event_id == 0 or ticket_id == 0 or key_version == 0:
        return Verification(Reason.MALFORMED), b""
    return Verification(Reason.OK, TicketClaims(event_id, ticket_id, key_version)), raw


def read_claims(payload: object) -> Verification:
    """Decode ``payload`` without checking its signature.

    The result's reason is ``ok`` only in the sense "well-formed"; use :func:`verify` to decide.
    """
    return _parse(payload)[0]


def verify(
    payload: object, keyring: Keyring, events: Collection[int] | None = None
) -> Verification:
    """Decide whether ``payload`` is a genuine ticket token, for one of ``events`` if given.

    Order of checks: well-formed, known format version, event served here, key version known,
    signature. A token naming another event is ``wrong_event`` before its signature is checked,
    because a door holds no key to check it with. Never raises.
    """
    read, raw = _parse(payload)
    if read.claims is None:
        return read
    claims = read.claims
    if events is not None and claims.event_id not in events:
        return Verification(Reason.WRONG_EVENT, claims)
    key = keyring.get(claims.event_id, claims.key_version)
    if key is None:
        return Verification(Reason.UNKNOWN_KEY, claims)
    if not hmac.compare_digest(_mac(key, raw[: HEADER.size]), raw[HEADER.size :]):
        return Verification(Reason.BAD_SIGNATURE, claims)
    return Verification(Reason.OK, claims)
