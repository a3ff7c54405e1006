"""The seams between the core and its shells (Qt widgets, CLI) and hardware (cameras, decoders).

Shells depend on these Protocols and values, never on concrete storage or HTTP classes: what a
shell asks of the core is declared here, so a shell never probes a core object for what it can
do. The composition root (``scanner_app/app.py``) is the one place that names concrete classes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from scanner_app.core.box_office import Sale, SaleRequest, SellerTotals, Tier
from scanner_app.core.verdict import Verdict
from shared import protocol as p

if TYPE_CHECKING:  # the desk imports nothing Qt-side; this keeps ports free of its imports
    from scanner_app.core.box_api import Seller
    from scanner_app.core.desk_upload import RefreshReport

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
    set_aside: int = 0  # scans the server kept refusing: journaled, no longer sent
    newer_app_version: str | None = None  # a newer door-app release the server reported


class DoorService(Protocol):
    """Everything the window and the CLI ask of the door core. Calls are fast and local."""

    def check(self, payload: str, *, door: str, source: str) -> Verdict:
        """Decide on one scanned payload, journal it, return the answer. Never raises."""
        ...

    def lookup(self, text: str, limit: int = 50) -> Sequence[TicketRow]: ...

    def manual_check_in(self, ticket_id: int, *, reason: str, door: str) -> Verdict: ...

    def status(self) -> DoorStatus: ...

    def events(self) -> Sequence[p.EventSettings]:
        """The events this door serves (from the last sync), by id."""
        ...

    def close(self) -> None:
        """Release the database; no call is made after this one."""
        ...


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    """How one sync round went, in the shell's terms."""

    online: bool
    revoked: bool = False  # the server revoked this device: its data is wiped, scanning stops
    message: str = ""
    finished_at: datetime | None = None
    retry_after_s: float | None = None  # wait this long before the next round (backoff)


class SyncRound(Protocol):
    """One sync round: upload the journal, then download door data. Never raises."""

    def __call__(self) -> SyncOutcome: ...


@dataclass(frozen=True, slots=True)
class PairedDoor:
    """A door paired with a server, open, and the sync round that keeps it current (``None``:
    this door never syncs, e.g. in a benchmark)."""

    door: DoorService
    sync_round: SyncRound | None = None


Progress = Callable[[int, int], None]  # progress(done, total); total 0 when not known


class PairFunction(Protocol):
    """Pair with ``server_url`` using ``code`` and download its tickets, reporting ``progress``;
    raises with a message for the staff.

    ``device_name`` is passed only when staff typed one: the server renames the device then.
    Without it the device keeps the name the organiser gave it, so a pair function that never
    renames may take just the three positional arguments.
    """

    def __call__(
        self, server_url: str, code: str, progress: Progress, /, *, device_name: str = ""
    ) -> None: ...


class DeskService(Protocol):
    """Everything the sale screen and ``scanner-app sell`` ask of the box office
    (``scanner_app.core.desk.Desk``). ``sell`` and ``void`` raise ``SaleRefused`` in words."""

    def events(self) -> Sequence[tuple[int, str]]: ...

    def is_box_office(self) -> bool | None: ...

    def sign_in(self, event_id: int, email: str, code: str, password: str = "") -> Seller: ...

    def seller(self) -> Seller | None: ...

    def sign_out(self) -> None: ...

    def return_stock(self) -> int: ...

    def tiers(self) -> Sequence[Tier]: ...

    def sell(self, request: SaleRequest) -> Sale: ...

    def retry(self, sale_id: str) -> Sale: ...

    def sale(self, sale_id: str) -> Sale | None: ...

    def sales(self, since: datetime | None = None) -> Sequence[Sale]: ...

    def void(self, sale_id: str, reason: str) -> Sale: ...

    def note_printed(self, sale_id: str) -> None: ...

    def totals(self, since: datetime | None = None) -> SellerTotals: ...

    def refresh(self) -> RefreshReport: ...

    def close(self) -> None: ...
