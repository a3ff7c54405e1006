"""Report a code held in front of the camera once, not 30 times a second. No Qt.

A ticket stays in view for many frames; the door must decide once. A code is reported when it
appears, and again only after it has been out of view for ``gone_after`` seconds (the attendee
lowered the phone and showed it again, which the door core then answers as a repeat or a re-entry).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

DEFAULT_GONE_AFTER_S = 2.0


@dataclass
class PresenceFilter:
    gone_after: float = DEFAULT_GONE_AFTER_S
    _last_seen: dict[str, float] = field(default_factory=dict)

    def new_codes(self, codes: Iterable[str], now: float) -> list[str]:
        """The codes in this frame that were not in view a moment ago."""
        fresh = []
        for code in codes:
            seen = self._last_seen.get(code)
            if seen is None or now - seen > self.gone_after:
                fresh.append(code)
            self._last_seen[code] = now
        if len(self._last_seen) > 64:  # forget codes long gone; a door sees a few at a time
            self._last_seen = {
                c: t for c, t in self._last_seen.items() if now - t <= self.gone_after
            }
        return fresh
