"""Kiosk PIN and idle rules, without Qt."""

from __future__ import annotations

import pytest

from scanner_app.core.kiosk import (
    KioskScreen,
    KioskState,
    PinError,
    PinGate,
    Unlock,
    hash_pin,
    pin_matches,
)


def test_pin_hash_round_trip_and_salted() -> None:
    stored = hash_pin("2468")
    assert pin_matches("2468", stored)
    assert not pin_matches("2469", stored)
    assert "2468" not in stored
    assert hash_pin("2468") != stored  # a fresh salt each time


@pytest.mark.parametrize("bad", ["", "123", "12ab", "1234567890123", "١٢٣٤", " 1234"])
def test_unusable_pins_are_refused_with_a_reason(bad: str) -> None:
    with pytest.raises(PinError, match="4 to 12 digits"):
        hash_pin(bad)


@pytest.mark.parametrize("stored", ["", "garbage", "md5$1$00$00", "pbkdf2_sha256$x$zz$00"])
def test_corrupt_stored_hash_never_matches_and_never_raises(stored: str) -> None:
    assert not pin_matches("1234", stored)


def test_pin_with_non_ascii_never_raises() -> None:
    assert not pin_matches("12\udc8034", hash_pin("1234"))


def test_gate_locks_out_after_repeated_failures() -> None:
    gate = PinGate(hash_pin("1357"), max_attempts=3, lockout=30.0)
    assert gate.try_pin("0000", 0.0) is Unlock.WRONG
    assert gate.try_pin("0001", 1.0) is Unlock.WRONG
    assert gate.try_pin("0002", 2.0) is Unlock.LOCKED_OUT
    assert gate.try_pin("1357", 3.0) is Unlock.LOCKED_OUT  # even the right PIN, while locked
    assert gate.seconds_locked(3.0) == pytest.approx(29.0)
    assert gate.try_pin("1357", 33.0) is Unlock.OK


def test_answer_returns_to_attract_by_itself() -> None:
    state = KioskState(answer_hold=4.0)
    state.show_answer(10.0)
    assert state.tick(13.9) is KioskScreen.ANSWER
    assert state.tick(14.0) is KioskScreen.ATTRACT


def test_pin_pad_gives_up_when_idle_but_not_while_used() -> None:
    state = KioskState(idle_after=20.0)
    state.open_unlock(0.0)
    state.touch(15.0)
    assert state.tick(30.0) is KioskScreen.UNLOCK
    assert state.tick(35.0) is KioskScreen.ATTRACT


def test_attract_stays_attract() -> None:
    assert KioskState().tick(1e9) is KioskScreen.ATTRACT
