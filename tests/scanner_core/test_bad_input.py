"""Payloads of every shape get a verdict and a journal row, never an exception."""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner_app.core import rules
from scanner_app.core.door import Door
from scanner_app.core.verdict import VerdictCode
from shared import protocol as p
from shared.ticket_token import Reason, TicketClaims, Verification
from tests.scanner_core import conftest
from tests.scanner_core.conftest import (
    DAY1,
    DAY2,
    EVENT,
    OTHER_EVENT,
    FakeClock,
    page,
    ticket,
    token,
)

V = VerdictCode


@pytest.fixture(scope="module")
def shared_door(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Door]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STEPPERSLIFE_DOOR_NO_KEYRING", "1")
        d = Door.open(Path(tmp_path_factory.mktemp("fuzz")), server_url="http://fuzz.test",
                      clock=FakeClock(), debounce=timedelta(0))
        d.store.store_page(EVENT, page((ticket(1),)), revision=1)
        yield d
        d.close()


def _journal_size(door: Door) -> int:
    return door.store.counts()["scans"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])
@given(payload=st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567abc =\n\t", min_size=30, max_size=34),
))
def test_any_payload_gets_a_verdict_and_a_journal_row(shared_door: Door,
                                                      payload: str | bytes) -> None:
    before = _journal_size(shared_door)
    verdict = shared_door.check(payload, door="Fuzz", source="hypothesis")  # type: ignore[arg-type]
    assert isinstance(verdict.code, VerdictCode)
    assert verdict.code is not V.ERROR
    assert verdict.scan_id is not None
    assert _journal_size(shared_door) == before + 1


def _raw_token(version: int, event_id: int, ticket_id: int, key_version: int) -> str:
    return base64.b32encode(struct.pack(">BIIB", version, event_id, ticket_id, key_version)
                            + b"\0" * 10).decode()


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("", V.MALFORMED),
        ("   \r\n", V.MALFORMED),
        ("A" * 1_000_000, V.MALFORMED),  # huge
        ("\x00\x01\x02\xff", V.MALFORMED),  # binary as text
        ("\udcff lone surrogate", V.MALFORMED),
        ("ÄÖÜ" * 11, V.MALFORMED),
        (token(1)[:-1], V.MALFORMED),  # almost valid: one character short
        (token(1) + "A", V.MALFORMED),  # one too many
        (token(1)[:-1] + "1", V.MALFORMED),  # a character outside base32
        (_raw_token(1, EVENT, 1, 1), V.FORGED),  # right shape, zero signature
        (_raw_token(1, EVENT, 0, 1), V.MALFORMED),  # ticket id 0
        (_raw_token(3, EVENT, 1, 1), V.UNSUPPORTED_VERSION),
        (_raw_token(200, EVENT, 1, 1), V.MALFORMED),
        (token(1, event_id=OTHER_EVENT), V.WRONG_EVENT),
        (token(1, version=9), V.UNKNOWN_KEY),
        (token(1).lower(), V.ADMIT),
    ],
    ids=["empty", "blank", "huge", "binary", "surrogate", "unicode", "short", "long",
         "non-base32", "zero-mac", "ticket-0", "future-version", "garbage-version",
         "other-event", "other-key-version", "lowercase"],
)
def test_named_bad_shapes(door: Door, payload: str, expected: VerdictCode) -> None:
    verdict = door.check(payload, door="North", source="test")
    assert verdict.code is expected
    assert verdict.scan_id is not None


def test_bytes_from_a_decoder_are_accepted(door: Door) -> None:
    assert door.check(token(2).encode(), door="N", source="t").code is V.ADMIT  # type: ignore[arg-type]
    assert door.check(b"\xff\xfe" * 1000, door="N", source="t").code is V.MALFORMED  # type: ignore[arg-type]


def test_huge_payload_is_stored_truncated(door: Door) -> None:
    door.check("X" * 100_000, door="North", source="test")
    record = door.store.pending_scans(10)[-1]
    assert len(record.payload) == 1024


_times = st.datetimes(min_value=datetime(2026, 4, 28), max_value=datetime(2026, 5, 6),
                      timezones=st.just(UTC))


@settings(max_examples=300, deadline=None)
@given(
    now=_times,
    direction=st.sampled_from(list(p.Direction)),
    reentry=st.booleans(),
    policy=st.sampled_from(list(p.UncachedPolicy)),
    cancelled=st.booleans(),
    no_days=st.booleans(),
    cached=st.booleans(),
    status=st.sampled_from(list(p.TicketStatus)),
    valid=st.one_of(st.none(), st.lists(st.dates(date(2026, 4, 30), date(2026, 5, 3)),
                                        max_size=3)),
    scanned=st.one_of(st.none(), _times),
    revoked=st.one_of(st.none(), st.sampled_from(list(p.RevocationReason))),
    history=st.lists(st.tuples(_times, st.sampled_from(list(p.Direction))), max_size=4),
    reason=st.sampled_from(list(Reason)),
)
def test_the_rules_decide_every_combination_without_raising(
    now: datetime, direction: p.Direction, reentry: bool, policy: p.UncachedPolicy,
    cancelled: bool, no_days: bool, cached: bool, status: p.TicketStatus,
    valid: list[date] | None, scanned: datetime | None, revoked: p.RevocationReason | None,
    history: list[tuple[datetime, p.Direction]], reason: Reason,
) -> None:
    event = conftest.settings(reentry_allowed=reentry, uncached_policy=policy,
                              cancelled=cancelled, days=() if no_days else (DAY1, DAY2))
    record = ticket(1, status=status, valid_dates=None if valid is None else tuple(valid),
                    scanned_at=scanned, scanned_door="South" if scanned else None)
    facts = rules.Facts(
        verification=Verification(reason, TicketClaims(EVENT, 1, 1)),
        event=event, ticket=record if cached else None, revoked=revoked,
        history=[rules.PastScan(at, "North", d)
                 for at, d in sorted(history, reverse=True)],
    )
    verdict = rules.decide(facts, now, direction)
    assert verdict.title == rules.TITLES[verdict.code]
    if reason is not Reason.OK:
        assert not verdict.admitted
    if verdict.code is VerdictCode.ALREADY_SCANNED:
        assert verdict.previous_scan_at is not None
