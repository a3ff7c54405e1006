"""What the door answers for one scan: a stable code, a colour, and words a door person understands.

The codes cross the wire (scan upload) and are shown in logs: they are defined once, in
:mod:`shared.vocabulary`, beside the sets of them that count as admissions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.vocabulary import VerdictCode as VerdictCode


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
