"""The seams between the core and its shells (Qt widgets, CLI) and hardware (cameras, decoders).

Shells depend on these Protocols, never on concrete storage or HTTP classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np
import numpy.typing as npt

from scanner_app.core.verdict import Verdict

GrayFrame = npt.NDArray[np.uint8]  # one 8-bit greyscale frame, shape (height, width)


class Decoder(Protocol):
    """Finds QR codes in a greyscale frame. Never raises on any frame."""

    name: str

    def decode(self, frame: GrayFrame) -> list[str]: ...


class FrameSource(Protocol):
    """A camera, or a stand-in that plays a video file or a folder of images."""

    def read(self) -> GrayFrame | None:
        """The newest frame, or None when the source has ended or failed."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class TicketRow:
    """One cached ticket, as the manual-lookup list shows it."""

    ticket_id: int
    event_id: int
    ticket_number: str
    order_number: str
    holder_name: str
    holder_email: str
    ticket_type: str
    status: str
    checked_in_at: datetime | None


@dataclass(frozen=True, slots=True)
class DoorStatus:
    tickets_cached: int
    scans_queued: int
    last_sync_at: datetime | None
    online: bool
    conflicts: int
    admitted: int
    refused: int


class DoorService(Protocol):
    """Everything the window and the CLI ask of the door core. Calls are fast and local."""

    def check(self, payload: str, *, door: str, source: str) -> Verdict:
        """Decide on one scanned payload, journal it, return the answer. Never raises."""
        ...

    def lookup(self, text: str, limit: int = 50) -> Sequence[TicketRow]: ...

    def manual_check_in(self, ticket_id: int, *, reason: str, door: str) -> Verdict: ...

    def status(self) -> DoorStatus: ...
