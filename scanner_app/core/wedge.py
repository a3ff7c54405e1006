"""Keyboard-wedge scanners: tell a USB scanner's burst of keys from a person typing. No Qt.

A wedge scanner "types" its code: a burst of characters a few milliseconds apart, then Enter.
A person types tens to hundreds of milliseconds apart. The window feeds every key press here
*before* any widget sees it. Characters are held back while they could still be the start of a
burst; once it is clear they are not (a long gap, or Enter after too few characters) they are
handed back to be replayed to the focused widget, so typing into the search box still works,
only up to ``max_gap`` later, and a scan never lands in the search box.

Scanners that send their code twice (``CODE⏎CODE⏎`` or ``CODECODE⏎``) give one scan
(the "sent twice" rule of ``core/debounce.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scanner_app.core.debounce import SENT_TWICE_S, Recent

DEFAULT_MAX_GAP_S = 0.035  # scanners send a key every 1-15 ms; people rarely under 50 ms
DEFAULT_MIN_LENGTH = 6  # our tokens are 32 characters; anything shorter is a person


@dataclass(frozen=True, slots=True)
class KeyOutcome:
    """What to do with one key press.

    ``swallow``: keep the key from the focused widget. ``replay``: characters held back earlier
    that turned out to be typing, to be sent to the focused widget now, before this key if it is
    not swallowed. ``scan``: a complete scanned code. ``duplicate``: a scan ignored as a repeat.
    """

    swallow: bool
    replay: str = ""
    scan: str | None = None
    duplicate: bool = False


@dataclass
class WedgeDetector:
    max_gap: float = DEFAULT_MAX_GAP_S
    min_length: int = DEFAULT_MIN_LENGTH
    repeat_window: float = SENT_TWICE_S
    _held: list[str] = field(default_factory=list)
    _last_key_at: float | None = None
    _scans: Recent[None] = field(init=False)

    def __post_init__(self) -> None:
        self._scans = Recent(self.repeat_window)

    @property
    def holding(self) -> bool:
        return bool(self._held)

    def _release(self) -> str:
        text = "".join(self._held)
        self._held.clear()
        return text

    def expire(self, now: float) -> str:
        """Characters held longer than a burst allows: typing, to replay. Call on a short timer."""
        if self._held and self._last_key_at is not None and now - self._last_key_at > self.max_gap:
            return self._release()
        return ""

    def key(self, text: str, now: float) -> KeyOutcome:
        """Feed one key press: ``text`` is its character (``"\\r"`` or ``"\\n"`` for Enter)."""
        gap_ok = self._last_key_at is not None and now - self._last_key_at <= self.max_gap
        self._last_key_at = now
        replay = "" if gap_ok else self._release()
        if text in ("\r", "\n"):
            if not self._held:
                return KeyOutcome(swallow=False, replay=replay)
            if len(self._held) < self.min_length:
                return KeyOutcome(swallow=False, replay=replay + self._release())
            return self._scanned(self._release(), now, replay)
        if len(text) != 1 or not text.isprintable():
            # Tab, arrows, modifiers: never part of a scan; whatever was held is typing.
            return KeyOutcome(swallow=False, replay=replay + self._release())
        self._held.append(text)
        return KeyOutcome(swallow=True, replay=replay)

    def _scanned(self, code: str, now: float, replay: str) -> KeyOutcome:
        half = len(code) // 2
        if len(code) % 2 == 0 and half >= self.min_length and code[:half] == code[half:]:
            code = code[:half]  # a scanner configured to send its code twice
        repeat = self._scans.get(code, now) is not None
        self._scans.note(code, now, None)
        if repeat:
            return KeyOutcome(swallow=True, replay=replay, duplicate=True)
        return KeyOutcome(swallow=True, replay=replay, scan=code)
