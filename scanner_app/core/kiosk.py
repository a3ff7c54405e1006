"""Kiosk mode rules: the staff PIN and the idle timeout. No Qt.

The PIN is kept as a salted PBKDF2 hash (never the digits) and compared in constant time. After
``max_attempts`` wrong PINs in a row, further tries are refused for ``lockout`` seconds, so an
attendee cannot walk the 10,000 four-digit PINs at the kiosk.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field
from enum import StrEnum

PBKDF2_ROUNDS = 200_000
MIN_PIN_LENGTH = 4
MAX_PIN_LENGTH = 12


class PinError(ValueError):
    """A PIN that cannot be used: the message says why."""


def hash_pin(pin: str, salt: bytes | None = None) -> str:
    """``pbkdf2_sha256$<rounds>$<salt hex>$<hash hex>`` for a PIN of 4 to 12 digits."""
    if not (pin.isdigit() and pin.isascii()) or not MIN_PIN_LENGTH <= len(pin) <= MAX_PIN_LENGTH:
        raise PinError(f"a staff PIN is {MIN_PIN_LENGTH} to {MAX_PIN_LENGTH} digits")
    salt = salt or os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, PBKDF2_ROUNDS)
    return f"pbkdf2_sha256${PBKDF2_ROUNDS}${salt.hex()}${digest.hex()}"


def pin_matches(pin: str, stored: str) -> bool:
    """Whether ``pin`` is the one ``stored`` was made from. Never raises; constant-time compare."""
    try:
        scheme, rounds, salt_hex, digest_hex = stored.split("$")
        if scheme != "pbkdf2_sha256":
            return False
        salt, expected = bytes.fromhex(salt_hex), bytes.fromhex(digest_hex)
        candidate = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, int(rounds))
    except (ValueError, UnicodeEncodeError):
        return False
    return hmac.compare_digest(candidate, expected)


class Unlock(StrEnum):
    OK = "ok"
    WRONG = "wrong"
    LOCKED_OUT = "locked_out"


@dataclass
class PinGate:
    """Checks PIN attempts against one stored hash, with a lockout after repeated failures."""

    stored: str
    max_attempts: int = 5
    lockout: float = 60.0
    _failures: int = 0
    _locked_until: float = float("-inf")

    def try_pin(self, pin: str, now: float) -> Unlock:
        if now < self._locked_until:
            return Unlock.LOCKED_OUT
        if pin_matches(pin, self.stored):
            self._failures = 0
            return Unlock.OK
        self._failures += 1
        if self._failures >= self.max_attempts:
            self._failures = 0
            self._locked_until = now + self.lockout
            return Unlock.LOCKED_OUT
        return Unlock.WRONG

    def seconds_locked(self, now: float) -> float:
        return max(0.0, self._locked_until - now)


class KioskScreen(StrEnum):
    ATTRACT = "attract"  # "Hold your ticket up to the camera"
    ANSWER = "answer"  # green / orange / red for the attendee in front
    UNLOCK = "unlock"  # staff PIN pad


@dataclass
class KioskState:
    """Which kiosk screen shows: an answer or the PIN pad falls back to the attract screen itself.

    ``answer_hold``: how long an answer stays up; ``idle_after``: how long the PIN pad waits for
    a digit before giving up.
    """

    answer_hold: float = 4.0
    idle_after: float = 20.0
    screen: KioskScreen = KioskScreen.ATTRACT
    _since: float = field(default=0.0)

    def show_answer(self, now: float) -> None:
        self.screen, self._since = KioskScreen.ANSWER, now

    def open_unlock(self, now: float) -> None:
        self.screen, self._since = KioskScreen.UNLOCK, now

    def back_to_attract(self, now: float) -> None:
        self.screen, self._since = KioskScreen.ATTRACT, now

    def touch(self, now: float) -> None:
        """Someone is using the current screen (a PIN digit): restart its timeout."""
        self._since = now

    def tick(self, now: float) -> KioskScreen:
        """Advance time; returns the screen to show now."""
        limit = {KioskScreen.ANSWER: self.answer_hold, KioskScreen.UNLOCK: self.idle_after}
        if self.screen in limit and now - self._since >= limit[self.screen]:
            self.screen, self._since = KioskScreen.ATTRACT, now
        return self.screen
