"""The door's repeat-scan rules, all in one place. No Qt.

One intent (a guest showing a ticket once) reaches the door as many sightings: 30 camera frames a
second while a phone is held up, a handheld scanner that sends its code twice, a guest showing the
same code again a moment later. Three rules turn sightings into one act, each a window over the
same memory, :class:`Recent` (what was noted under a key less than ``window`` seconds ago):

- **in view** (:class:`InView`, ``IN_VIEW_S``): the camera reports a code when it appears, and
  again only after it has been out of view that long (the phone lowered and shown again). Runs on
  the camera thread, so the door hears of a code once, not 30 times a second.
- **sent twice** (``SENT_TWICE_S``): a handheld scanner sending the same code again that soon
  gives one scan (``core/wedge.py``).
- **counted** (``COUNTED_S``): the door answers ``repeat`` and counts nothing when the same code in
  the same direction was *counted* that recently (``core/door.py``); refusals are never turned
  into ``repeat``, so a forged code stays red however often it is shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

IN_VIEW_S = 2.0
SENT_TWICE_S = 1.5
COUNTED_S = 3.0

V = TypeVar("V")


@dataclass
class Recent(Generic[V]):
    """What was noted under each key in the last ``window`` seconds (times: seconds, any epoch).

    Keeps at most about ``keep`` keys: beyond that, keys older than the window are forgotten (a
    door sees a few codes at a time).
    """

    window: float
    keep: int = 64
    _noted: dict[str, tuple[float, V]] = field(default_factory=dict)

    def get(self, key: str, now: float) -> tuple[float, V] | None:
        """``(when, value)`` noted under ``key`` less than ``window`` seconds before ``now``."""
        noted = self._noted.get(key)
        if noted is None or now - noted[0] >= self.window:
            return None
        return noted

    def note(self, key: str, now: float, value: V) -> None:
        self._noted[key] = (now, value)
        if len(self._noted) > self.keep:
            self._noted = {k: v for k, v in self._noted.items() if now - v[0] < self.window}


@dataclass
class InView:
    """The camera's rule: which codes in a frame were not in view a moment ago."""

    window: float = IN_VIEW_S
    _seen: Recent[None] = field(init=False)

    def __post_init__(self) -> None:
        self._seen = Recent(self.window)

    def new_codes(self, codes: Iterable[str], now: float) -> list[str]:
        fresh = []
        for code in codes:
            if self._seen.get(code, now) is None:
                fresh.append(code)
            self._seen.note(code, now, None)  # still in view: the window starts again
        return fresh
