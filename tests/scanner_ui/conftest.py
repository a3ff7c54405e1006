"""A real door (``scanner_app.core.door.Door`` on a SQLite file) holding real signed tickets,
and the real app around it, offscreen.

Tickets are signed with keys derived from ``tests.support.synthetic``'s bench secret; the
event's day spans the current time, so the real clock is used throughout.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scanner_app.core.door import Door
from scanner_app.core.kiosk import hash_pin
from scanner_app.core.ports import DoorService, FrameSource, PairedDoor, SyncRound
from scanner_app.hardware.camera import FileCamera
from scanner_app.hardware.decoders import ZxingDecoder
from scanner_app.settings import Folders, Settings
from scanner_app.ui.sounds import SoundPlayer
from shared import protocol as p
from shared.keys import derive_event_key
from shared.ticket_token import TicketClaims, sign
from tests.support.synthetic import SAMPLE_MASTER_SECRET, sample_token

EVENT = 1
STAFF_PIN = "4321"
VALID, USED, CANCELLED, SMITH = 1, 2, 3, 7
SERVER_URL = "http://door-ui.test"

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _no_os_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEPPERSLIFE_DOOR_NO_KEYRING", "1")


def token(ticket_id: int) -> str:
    return sample_token(ticket_id, EVENT)


def forged_token(ticket_id: int = VALID) -> str:
    """Right layout, right event, signed with a key the door does not hold."""
    return sign(TicketClaims(EVENT, ticket_id, 1), b"\x01" * 32)


def event_settings() -> p.EventSettings:
    now = datetime.now(UTC)
    day = p.EventDay(now.date(), now - timedelta(hours=2), now + timedelta(hours=6))
    return p.EventSettings(
        event_id=EVENT,
        name="Chicago Steppers Summer Weekend",
        time_zone="America/Chicago",
        days=(day,),
        reentry_allowed=False,
    )


def ticket(ticket_id: int, **changes: object) -> p.TicketRecord:
    values: dict[str, object] = dict(
        ticket_id=ticket_id,
        event_id=EVENT,
        ticket_number=f"T-{ticket_id:06d}",
        order_number=f"SL-{1000 + ticket_id}",
        holder_name=f"Guest {ticket_id}",
        holder_email=f"guest{ticket_id}@example.com",
        ticket_type="Weekend pass",
        valid_dates=None,
        status=p.TicketStatus.VALID,
        revision=1,
    )
    values.update(changes)
    return p.TicketRecord(**values)  # type: ignore[arg-type]


def door_page() -> p.DoorDataPage:
    key = base64.b64encode(derive_event_key(SAMPLE_MASTER_SECRET, EVENT, 1)).decode()
    earlier = datetime.now(UTC) - timedelta(minutes=42)
    tickets = [ticket(i) for i in range(1, 21) if i not in (USED, CANCELLED, SMITH)]
    tickets += [
        ticket(
            USED,
            holder_name="Dana Brooks",
            status=p.TicketStatus.SCANNED,
            scanned_at=earlier,
            scanned_door="Side door",
        ),
        ticket(CANCELLED, holder_name="Chris Cole", status=p.TicketStatus.CANCELLED),
        ticket(
            SMITH,
            holder_name="Jordan Smith",
            holder_email="jordan.smith@example.com",
            ticket_type="Friday night",
        ),
    ]
    return p.DoorDataPage(
        event=event_settings(),
        keys=(p.EventKey(1, key),),
        tickets=tuple(tickets),
        revocations=(),
        conflicts=(),
        cursor="c1",
        has_more=False,
        full=True,
        server_time=datetime.now(UTC),
    )


@pytest.fixture
def folders(tmp_path: Path) -> Folders:
    f = Folders(tmp_path / "config", tmp_path / "data", tmp_path / "logs")
    f.create()
    return f


@pytest.fixture
def door(folders: Folders) -> Iterator[Door]:
    d = Door.open(folders.data, server_url=SERVER_URL, debounce=timedelta(seconds=2))
    d.store.store_page(EVENT, door_page(), revision=1)
    yield d
    d.close()


@pytest.fixture
def settings(folders: Folders) -> Settings:
    return Settings(folders, camera="unused", kiosk_pin_hash=hash_pin(STAFF_PIN))


@dataclass
class AppFactory:
    """Builds the real ``DoorApp`` with the given real parts, and stops it after the test."""

    settings: Settings
    idle_folder: Path
    apps: list[object] = field(default_factory=list)

    def idle_camera(self) -> FrameSource:
        """A camera that shows an empty scene forever, slowly."""
        return FileCamera(self.idle_folder, fps=10, loop=True)

    def __call__(
        self,
        door: DoorService | None,
        *,
        camera: Callable[[], FrameSource] | None = None,
        sync_round: SyncRound | None = None,
        pair: Callable[[str, str, Callable[[int, int], None]], None] | None = None,
        sync_interval_ms: int = 15_000,
    ):  # type: ignore[no-untyped-def]
        from scanner_app.app import DoorApp, Parts

        def no_pairing(server: str, code: str, progress: Callable[[int, int], None]) -> None:
            raise RuntimeError("pairing is not part of this test")

        paired = None if door is None else PairedDoor(door, sync_round)
        parts = Parts(
            open_door=lambda: paired,
            pair=pair or no_pairing,
            open_camera=camera or self.idle_camera,
            decoder=ZxingDecoder(),
            sync_interval_ms=sync_interval_ms,
        )
        app = DoorApp(self.settings, parts, sound=SoundPlayer(enabled=True))
        self.apps.append(app)
        app.start(paired)
        return app


@pytest.fixture
def make_app(settings: Settings, tmp_path: Path, qtbot) -> Iterator[AppFactory]:  # type: ignore[no-untyped-def]
    import numpy as np

    from tests.support.synthetic import empty_scene, write_frames

    idle = tmp_path / "idle"
    write_frames([empty_scene(320, 240, np.random.default_rng(0))], idle)
    factory = AppFactory(settings, idle)
    yield factory
    for app in factory.apps:
        app.stop()  # type: ignore[attr-defined]
        if app.window.in_kiosk:  # type: ignore[attr-defined]
            app.window.leave_kiosk()  # type: ignore[attr-defined]
        app.window.close()  # type: ignore[attr-defined]
