"""What the door answers for one scan: a stable code, a colour, and words a door person understands.

The codes cross the wire (scan upload) and are shown in logs: never rename one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class VerdictCode(StrEnum):
    ADMIT = "admit"
    ADMIT_UNCACHED = "admit_uncached"  # genuine signature, ticket not yet in the cache (by setting)
    EXIT = "exit"  # an exit scan on an event with re-entry
    ALREADY_SCANNED = "already_scanned"
    REPEAT = "repeat"  # the same code again within the debounce window: not counted twice
    WRONG_EVENT = "wrong_event"
    NOT_VALID_TODAY = "not_valid_today"
    NOT_YET_VALID = "not_yet_valid"
    NO_LONGER_VALID = "no_longer_valid"
    CANCELLED = "cancelled"
    REVOKED = "revoked"  # transferred or re-issued: this copy of the ticket is void
    UNKNOWN_TICKET = "unknown_ticket"  # genuine signature, not in cache, event refuses uncached
    FORGED = "forged"
    UNKNOWN_KEY = "unknown_key"
    UNSUPPORTED_VERSION = "unsupported_version"
    MALFORMED = "malformed"
    ERROR = "error"  # the door could not record the scan (disk full, data wiped): scan again


class Colour(StrEnum):
    GREEN = "green"
    ORANGE = "orange"
    RED = "red"


COLOURS: dict[VerdictCode, Colour] = {
    VerdictCode.ADMIT: Colour.GREEN,
    VerdictCode.ADMIT_UNCACHED: Colour.GREEN,
    VerdictCode.EXIT: Colour.GREEN,
    VerdictCode.ALREADY_SCANNED: Colour.ORANGE,
    VerdictCode.REPEAT: Colour.ORANGE,
}


@dataclass(frozen=True, slots=True)
class Verdict:
    """One answer. ``title`` is the big word on screen; ``detail`` the plain-words reason."""

    code: VerdictCode
    title: str
    detail: str = ""
    ticket_id: int | None = None
    holder_name: str | None = None
    ticket_type: str | None = None
    ticket_number: str | None = None
    previous_scan_at: datetime | None = None  # for already_scanned: when, and at which door
    previous_scan_door: str | None = None
    warning: str | None = None  # e.g. admitted but not yet in the cache
    scan_id: str | None = None  # the journal entry's id; None when nothing was journalled

    @property
    def colour(self) -> Colour:
        return COLOURS.get(self.code, Colour.RED)

    @property
    def admitted(self) -> bool:
        return self.colour is Colour.GREEN
