"""Every verdict code, decided by the real door on a real SQLite file."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from scanner_app.core.door import Door
from scanner_app.core.verdict import Colour, VerdictCode
from shared import protocol as p
from tests.scanner_core.conftest import (
    DAY1,
    DAY2,
    DURING_DAY1,
    EVENT,
    OTHER_EVENT,
    FakeClock,
    page,
    settings,
    ticket,
    token,
)

V = VerdictCode


def scan(door: Door, payload: str, **kw: object) -> VerdictCode:
    return door.check(payload, door="North", source="test", **kw).code  # type: ignore[arg-type]


def test_admit_shows_the_holder_and_is_journalled(door: Door) -> None:
    verdict = door.check(token(3), door="North", source="test")
    assert verdict.code is V.ADMIT and verdict.colour is Colour.GREEN
    assert (verdict.holder_name, verdict.ticket_number) == ("Guest 3", "T-000003")
    assert verdict.scan_id is not None
    assert door.status().scans_queued == 1


def test_second_entry_is_already_scanned_with_when_and_where(
    door: Door, clock: FakeClock
) -> None:
    assert scan(door, token(3)) is V.ADMIT
    first_at = clock.now
    clock.advance(minutes=5)
    again = door.check(token(3), door="South", source="test")
    assert again.code is V.ALREADY_SCANNED and again.colour is Colour.ORANGE
    assert again.previous_scan_at == first_at
    assert again.previous_scan_door == "North"
    assert "North" in again.detail


def test_same_code_within_seconds_is_repeat_and_not_counted(
    door: Door, clock: FakeClock
) -> None:
    assert scan(door, token(3)) is V.ADMIT
    clock.advance(seconds=1)
    assert scan(door, token(3).lower() + "\n") is V.REPEAT  # a wedge under caps lock, Enter
    clock.advance(seconds=1)
    assert scan(door, token(3)) is V.REPEAT
    assert door.status().admitted == 1
    clock.advance(seconds=10)
    assert scan(door, token(3)) is V.ALREADY_SCANNED


def test_refusals_are_not_debounced_into_repeat(door: Door, clock: FakeClock) -> None:
    forged = token(3)[:-1] + ("A" if token(3)[-1] != "A" else "B")
    assert scan(door, forged) is V.FORGED
    clock.advance(seconds=1)
    assert scan(door, forged) is V.FORGED


def test_server_knows_another_door_admitted_it(door: Door) -> None:
    seen = DURING_DAY1 - timedelta(minutes=30)
    door.store.store_page(EVENT, page((ticket(4, status=p.TicketStatus.SCANNED, revision=2,
                                              scanned_at=seen, scanned_door="South"),)), 6)
    verdict = door.check(token(4), door="North", source="test")
    assert verdict.code is V.ALREADY_SCANNED
    assert (verdict.previous_scan_at, verdict.previous_scan_door) == (seen, "South")


def test_weekend_pass_gets_in_once_each_day(door: Door, clock: FakeClock) -> None:
    assert scan(door, token(5)) is V.ADMIT
    clock.now = DAY2.starts_at + timedelta(minutes=10)
    assert scan(door, token(5)) is V.ADMIT
    clock.advance(minutes=1)
    assert scan(door, token(5)) is V.ALREADY_SCANNED


def test_day_rules_in_the_event_time_zone(door: Door, clock: FakeClock) -> None:
    saturday_only = ticket(6, valid_dates=(date(2026, 5, 2),), revision=2)
    door.store.store_page(EVENT, page((saturday_only,)), 6)
    assert scan(door, token(6)) is V.NOT_YET_VALID  # Friday 9:30 pm Chicago
    friday_only = ticket(7, valid_dates=(date(2026, 5, 1),), revision=2)
    door.store.store_page(EVENT, page((friday_only,)), 7)
    clock.now = DAY2.starts_at + timedelta(hours=1)
    assert scan(door, token(7)) is V.NO_LONGER_VALID
    # Friday 1:30 am Saturday local time is still Friday's night
    clock.now = DAY1.ends_at - timedelta(minutes=30)
    assert scan(door, token(7)) is V.ADMIT


def test_between_days_is_not_valid_today(door: Door, clock: FakeClock) -> None:
    clock.now = DAY1.ends_at + timedelta(hours=5)  # Saturday noon: no day open
    verdict = door.check(token(8), door="North", source="test")
    assert verdict.code is V.NOT_VALID_TODAY and verdict.colour is Colour.RED


def test_too_early_and_too_late_for_the_whole_event(door: Door, clock: FakeClock) -> None:
    clock.now = DAY1.starts_at - timedelta(hours=3)  # doors open 60 min before
    assert scan(door, token(8)) is V.NOT_YET_VALID
    clock.now = DAY1.starts_at - timedelta(minutes=59)
    assert scan(door, token(8)) is V.ADMIT
    clock.now = DAY2.ends_at + timedelta(minutes=1)
    assert scan(door, token(9)) is V.NO_LONGER_VALID


def test_cancelled_ticket_event_and_revocation(door: Door) -> None:
    door.store.store_page(EVENT, page(
        (ticket(10, status=p.TicketStatus.CANCELLED, revision=2),),
        revocations=(p.Revocation(11, p.RevocationReason.CANCELLED, DURING_DAY1),),
    ), 6)
    assert scan(door, token(10)) is V.CANCELLED
    assert scan(door, token(11)) is V.CANCELLED
    door.store.store_page(EVENT, page(event=settings(cancelled=True)), 7)
    assert scan(door, token(12)) is V.CANCELLED


def test_transferred_ticket_is_revoked_even_when_not_cached(door: Door) -> None:
    door.store.store_page(EVENT, page(
        (ticket(13, status=p.TicketStatus.TRANSFERRED, revision=2),),
        revocations=(p.Revocation(5000, p.RevocationReason.TRANSFERRED, DURING_DAY1),),
    ), 6)
    assert scan(door, token(13)) is V.REVOKED
    assert scan(door, token(5000)) is V.REVOKED


def test_uncached_ticket_admitted_with_warning_or_refused_by_setting(door: Door) -> None:
    verdict = door.check(token(4000), door="North", source="test")
    assert verdict.code is V.ADMIT_UNCACHED and verdict.admitted and verdict.warning
    door.store.store_page(EVENT, page(event=settings(uncached_policy=p.UncachedPolicy.REFUSE)), 6)
    assert scan(door, token(4001)) is V.UNKNOWN_TICKET


def test_token_level_refusals(door: Door) -> None:
    good = token(3)
    flipped = good[:20] + ("A" if good[20] != "A" else "B") + good[21:]
    assert scan(door, flipped) is V.FORGED
    assert scan(door, token(3)[:-1] + ("Q" if token(3)[-1] != "Q" else "R")) is V.FORGED
    assert scan(door, token(3, event_id=OTHER_EVENT)) is V.WRONG_EVENT
    assert scan(door, token(3, version=2)) is V.UNKNOWN_KEY
    assert scan(door, "B" + "A" * 31) is V.UNSUPPORTED_VERSION
    assert scan(door, "https://example.com/not-a-ticket") is V.MALFORMED
    assert scan(door, "") is V.MALFORMED


def test_a_retired_key_version_stops_verifying(door: Door) -> None:
    door.store.store_page(EVENT, page(versions=(1, 2)), 6)
    assert scan(door, token(14, version=2)) is V.ADMIT
    door.store.store_page(EVENT, page(versions=(2,)), 7)
    assert scan(door, token(15, version=1)) is V.UNKNOWN_KEY


def test_exit_and_reentry(door: Door, clock: FakeClock) -> None:
    door.store.store_page(EVENT, page(event=settings(reentry_allowed=True)), 6)
    assert scan(door, token(16)) is V.ADMIT
    clock.advance(minutes=1)
    assert scan(door, token(16)) is V.ALREADY_SCANNED  # inside already
    clock.advance(minutes=1)
    assert scan(door, token(16), direction=p.Direction.EXIT) is V.EXIT
    clock.advance(minutes=30)
    assert scan(door, token(16)) is V.ADMIT


def test_no_reentry_means_out_is_out(door: Door, clock: FakeClock) -> None:
    assert scan(door, token(17)) is V.ADMIT
    clock.advance(minutes=1)
    exit_verdict = door.check(token(17), door="North", source="t", direction=p.Direction.EXIT)
    assert exit_verdict.code is V.EXIT and "cannot come back" in exit_verdict.detail
    clock.advance(minutes=30)
    assert scan(door, token(17)) is V.ALREADY_SCANNED


def test_a_scan_without_a_direction_is_an_entry(door: Door) -> None:
    assert scan(door, token(18)) is V.ADMIT
    [queued] = [q for q in door.store.pending_scans(100) if q.ticket_id == 18]
    assert queued.direction is p.Direction.ENTRY


def test_manual_check_in_needs_a_reason_and_follows_the_rules(door: Door) -> None:
    verdict = door.manual_check_in(19, reason="phone battery dead", door="North")
    assert verdict.code is V.ADMIT and verdict.scan_id
    assert door.manual_check_in(19, reason="again", door="North").code is V.ALREADY_SCANNED
    assert door.manual_check_in(999_999, reason="x", door="North").code is V.UNKNOWN_TICKET
    try:
        door.manual_check_in(20, reason="  ", door="North")
    except ValueError as exc:
        assert "reason" in str(exc)
    else:
        raise AssertionError("an empty reason must be refused")
    record = door.store.pending_scans(10)[0]
    assert record.scan_type is p.ScanType.MANUAL_LOOKUP
    assert record.manual_reason == "phone battery dead"


def test_a_closed_store_gives_an_error_verdict_not_an_exception(door: Door) -> None:
    door.store.close()
    verdict = door.check(token(3), door="North", source="test")
    assert verdict.code is V.ERROR and not verdict.admitted and verdict.scan_id is None


def test_times_in_words_use_the_event_zone(door: Door, clock: FakeClock) -> None:
    clock.now = datetime(2026, 5, 2, 2, 14, tzinfo=UTC)  # 9:14 pm in Chicago
    scan(door, token(20))
    clock.advance(minutes=2)
    assert "9:14 pm" in door.check(token(20), door="N", source="t").detail


def test_an_entry_today_at_another_door_known_from_sync(door: Door, clock: FakeClock) -> None:
    friday = DAY1.starts_at + timedelta(hours=1)
    saturday = DAY2.starts_at + timedelta(minutes=20)
    door.store.store_page(EVENT, page((ticket(
        21, status=p.TicketStatus.SCANNED, revision=2, scanned_at=friday, scanned_door="South",
        last_entry_at=saturday, last_entry_door="West"),)), 6)
    clock.now = DAY2.starts_at + timedelta(hours=1)
    verdict = door.check(token(21), door="North", source="test")
    assert verdict.code is V.ALREADY_SCANNED
    assert (verdict.previous_scan_at, verdict.previous_scan_door) == (saturday, "West")
