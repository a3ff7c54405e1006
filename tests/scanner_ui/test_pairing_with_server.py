"""Pairing against the real Flask app (httpx.WSGITransport): the server's own pairing QR, read by
the camera through the real decoder, pairs the window; the device keeps the name the organiser
gave it unless staff type one."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from flask import Flask
from sqlalchemy.orm import Session

from scanner_app.core.door import Door
from scanner_app.core.pairing import pair_and_download, parse_pairing_code, parse_pairing_payload
from scanner_app.core.ports import PairedDoor
from scanner_app.hardware.camera import FileCamera
from scanner_app.hardware.decoders import ZxingDecoder
from scanner_app.settings import Settings
from shared.qr import render_png
from sync_server.devices.models import Device
from sync_server.devices.services import create_pairing_code
from tests.server.conftest import World, api, app, session, world  # noqa: F401 (fixtures)
from tests.support.synthetic import empty_scene, write_frames

SERVER = "http://testserver"
ORGANISER_NAME = "North door"


def new_code(session: Session, world: World) -> str:  # noqa: F811
    organizer = world.person()
    event = world.event(organizer)
    code, _row = create_pairing_code(
        session, by=organizer.user, events=[event], device_name=ORGANISER_NAME
    )
    session.commit()
    return code


def device_names(session: Session) -> list[str]:  # noqa: F811
    session.expire_all()
    return [d.name for d in session.query(Device).order_by(Device.id)]


def server_pairing_qr(api: httpx.Client, world: World) -> tuple[str, np.ndarray]:  # noqa: F811
    """A pairing code made through the API, and a camera frame of the QR the server returned."""
    organizer = world.person()
    event = world.event(organizer)
    made = api.post(f"/events/{event.id}/pairing-codes", headers=organizer.headers,
                    json={"name": ORGANISER_NAME})
    assert made.status_code == 201, made.text
    png = base64.b64decode(made.json()["qr_png_data_url"].split(",", 1)[1])
    qr = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    frame = empty_scene(640, 480, np.random.default_rng(4))
    frame[30 : 30 + qr.shape[0], 30 : 30 + qr.shape[1]] = qr
    return made.json()["code"], frame


def wsgi(flask_app: Flask) -> Callable[[str], httpx.Client]:
    return lambda url: httpx.Client(transport=httpx.WSGITransport(app=flask_app), base_url=url)


def code_only_frame(code: str) -> np.ndarray:
    """A camera frame of a QR holding only the code (a printed code, no server address)."""
    qr = cv2.imdecode(np.frombuffer(render_png(code, box_size=8), np.uint8), cv2.IMREAD_GRAYSCALE)
    frame = empty_scene(640, 480, np.random.default_rng(4))
    frame[30 : 30 + qr.shape[0], 30 : 30 + qr.shape[1]] = qr
    return frame


def test_the_servers_pairing_qr_gives_the_address_and_the_code(
    api: httpx.Client, world: World  # noqa: F811
) -> None:
    code, frame = server_pairing_qr(api, world)
    [text] = ZxingDecoder().decode(frame)
    assert parse_pairing_payload(text) == (SERVER, code)


def test_a_bare_code_is_read_as_a_code(session: Session, world: World) -> None:  # noqa: F811
    code = new_code(session, world)
    assert ZxingDecoder().decode(code_only_frame(code)) == [code]
    assert parse_pairing_code(code) == code


@pytest.mark.parametrize(
    ("typed", "expected"), [("", ORGANISER_NAME), ("  Bar entrance ", "Bar entrance")]
)
def test_pairing_keeps_the_organisers_name_unless_staff_type_one(
    app: Flask, session: Session, world: World, tmp_path: Path, typed: str, expected: str  # noqa: F811
) -> None:
    code = new_code(session, world)
    pair_and_download(
        tmp_path / "door", SERVER, code, lambda _d, _t: None,
        device_name=typed.strip(), client_factory=wsgi(app),
    )
    assert device_names(session) == [expected]


@pytest.mark.parametrize(
    ("typed", "expected"), [("", ORGANISER_NAME), ("Side door", "Side door")]
)
def test_server_pairing_qr_on_camera_pairs_the_window(
    qtbot, app: Flask, api: httpx.Client, session: Session, world: World,  # noqa: F811
    settings: Settings, tmp_path: Path, typed: str, expected: str,
) -> None:
    from scanner_app.app import DoorApp, Parts
    from scanner_app.ui.sounds import SoundPlayer

    code, frame = server_pairing_qr(api, world)
    frames = tmp_path / "camera"
    write_frames([frame], frames)
    data = settings.folders.data
    opened: list[Door] = []

    def open_door() -> PairedDoor | None:
        door = Door.open(data)
        identity = door.store.identity()
        if identity is None or not identity.paired:
            door.close()
            return None
        opened.append(door)
        return PairedDoor(door)

    def pair(
        server: str, code: str, progress: Callable[[int, int], None], /, *, device_name: str = ""
    ) -> None:
        pair_and_download(
            data, server, code, progress, device_name=device_name, client_factory=wsgi(app)
        )

    parts = Parts(
        open_door=open_door,
        pair=pair,
        open_camera=lambda: FileCamera(frames, fps=10, loop=True),
        decoder=ZxingDecoder(),
    )
    door_app = DoorApp(settings, parts, sound=SoundPlayer(enabled=False))
    # Nothing typed but maybe a name: the server's QR brings its address and the code.
    door_app.window.pairing.device_name.setText(typed)
    door_app.start(None)
    try:
        window = door_app.window
        qtbot.waitUntil(lambda: window.stack.currentWidget() is window.scan, timeout=15_000)
        assert window.pairing.code.text() == code
        assert window.pairing.server.text() == SERVER
        assert device_names(session) == [expected]
    finally:
        door_app.stop()
        window.close()


def test_a_code_only_qr_without_an_address_asks_for_one(
    qtbot, session: Session, world: World, settings: Settings, tmp_path: Path  # noqa: F811
) -> None:
    from scanner_app.app import DoorApp, Parts
    from scanner_app.ui.sounds import SoundPlayer

    code = new_code(session, world)
    frames = tmp_path / "camera"
    write_frames([code_only_frame(code)], frames)
    asked: list[str] = []

    def pair(server: str, code: str, progress: Callable[[int, int], None]) -> None:
        asked.append(code)

    parts = Parts(
        open_door=lambda: None,
        pair=pair,
        open_camera=lambda: FileCamera(frames, fps=10, loop=True),
        decoder=ZxingDecoder(),
    )
    door_app = DoorApp(settings, parts, sound=SoundPlayer(enabled=False))
    door_app.start(None)
    try:
        pairing = door_app.window.pairing
        qtbot.waitUntil(lambda: pairing.code.text() == code, timeout=10_000)
        assert "server address" in pairing.error.text()
        assert pairing.pair_button.isEnabled() and asked == []
    finally:
        door_app.stop()
        door_app.window.close()
