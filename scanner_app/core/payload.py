"""What a scanned code may bring into the journal: printable ASCII, nothing else.

A ticket token is ASCII base32, so a code holding anything else (a NUL that pyzbar passes
through, a control character, a Unicode look-alike of a letter) is not a ticket: it is refused
as malformed and journaled in an escaped, printable form (``\\x00``, ``\\u0131``). The journal
and the upload then never carry a byte the server or its database would choke on, and one odd
code can never stop a door's sync.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from shared import protocol as p
from shared.wire_fields import CONTROL_CHARACTERS

_EDGES = " \t\r\n"  # what a scanner or a QR generator puts around a code


@dataclass(frozen=True, slots=True)
class Payload:
    text: str  # printable ASCII, at most p.MAX_PAYLOAD_CHARS: safe to journal and to send
    clean: bool  # False: the code held something a ticket token never holds


def read_payload(payload: object) -> Payload:
    """The scanned ``payload`` (text or bytes) as printable text, and whether it was clean."""
    if isinstance(payload, bytes | bytearray | memoryview):
        raw = bytes(payload)[: p.MAX_PAYLOAD_CHARS * 4].decode("utf-8", "replace")
    elif isinstance(payload, str):
        raw = payload
    else:
        raw = repr(payload)
    raw = raw[: p.MAX_PAYLOAD_CHARS].strip(_EDGES)
    if raw.isascii() and raw.isprintable():
        return Payload(raw, clean=True)
    escaped = "".join(c if " " <= c <= "~" else c.encode("unicode_escape").decode("ascii")
                      for c in raw)
    return Payload(escaped[: p.MAX_PAYLOAD_CHARS], clean=False)


def without_controls(text: str) -> str:
    """``text`` (a door name, a reason staff typed) without the characters the server refuses
    in a protocol text field (``shared.wire_fields.CONTROL_CHARACTERS``) or invisible format
    characters."""
    kept = CONTROL_CHARACTERS.sub("", text)
    return "".join(c for c in kept if unicodedata.category(c) != "Cf")
