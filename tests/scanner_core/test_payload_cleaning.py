"""A code is cleaned before the door decides and journals (issue 13): a ticket token is ASCII
base32, so control characters and Unicode look-alikes are refused as malformed, and the journal
(hence the upload) holds only printable ASCII."""

from __future__ import annotations

import sqlalchemy as sa

from scanner_app.core.door import Door
from scanner_app.core.payload import read_payload, without_controls
from scanner_app.core.verdict import VerdictCode
from scanner_app.storage import models as m
from shared import protocol as p
from tests.scanner_core.conftest import token

LOOK_ALIKES = {"I": "\u0131", "S": "\u017f"}  # dotless i and long s upper-case to I and S


def _journaled(door: Door, scan_id: str | None) -> m.Scan:
    with door.store.transaction() as s:
        row = s.scalar(sa.select(m.Scan).where(m.Scan.scan_id == scan_id))
        assert row is not None
        s.expunge(row)
        return row


def test_a_nul_is_refused_and_journaled_printable(door: Door) -> None:
    verdict = door.check(token(3) + "\x00", door="North\x00", source="camera")
    assert verdict.code is VerdictCode.MALFORMED
    row = _journaled(door, verdict.scan_id)
    assert row.payload == token(3) + "\\x00"
    assert row.door == "North"
    assert door.store.pending_scans(1)[0].payload == token(3) + "\\x00"
    assert door.check(token(3), door="North", source="camera").code is VerdictCode.ADMIT


def test_control_characters_inside_bytes_too(door: Door) -> None:
    verdict = door.check(b"\x1b[2J" + token(4).encode(), door="N", source="t")  # type: ignore[arg-type]
    assert verdict.code is VerdictCode.MALFORMED
    assert _journaled(door, verdict.scan_id).payload == "\\x1b[2J" + token(4)


def test_unicode_look_alikes_never_fold_into_a_token(door: Door) -> None:
    genuine = next(token(i) for i in range(1, 21) if set(token(i)) & LOOK_ALIKES.keys())
    letter = next(c for c in genuine if c in LOOK_ALIKES)
    forged = genuine.replace(letter, LOOK_ALIKES[letter], 1).lower()
    verdict = door.check(forged, door="N", source="t")
    assert verdict.code is VerdictCode.MALFORMED
    assert _journaled(door, verdict.scan_id).payload.isascii()
    assert door.check(genuine.lower(), door="N", source="t").code is VerdictCode.ADMIT


def test_what_a_scanner_puts_around_a_code_is_not_dirt(door: Door) -> None:
    assert door.check(f" {token(5)}\r\n", door="N", source="wedge").code is VerdictCode.ADMIT
    assert read_payload("\tABC \n") == read_payload("ABC")


def test_escaping_is_bounded_and_printable() -> None:
    cleaned = read_payload("\x00" * 5000)
    assert not cleaned.clean and cleaned.text.isascii() and cleaned.text.isprintable()
    assert len(cleaned.text) == p.MAX_PAYLOAD_CHARS
    assert without_controls("Side\u200b door\x07") == "Side door"
    assert without_controls("Entrée") == "Entrée"
