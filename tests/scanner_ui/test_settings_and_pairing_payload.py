"""Settings survive a restart and a corrupt file; pairing QR texts are read or refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner_app.settings import Folders, Settings
from scanner_app.workers.adapters import parse_pairing_code, parse_pairing_payload
from shared.protocol import pairing_qr_text


def test_settings_round_trip(tmp_path: Path) -> None:
    folders = Folders.for_user(tmp_path)
    saved = Settings(folders, camera="2", width=640, height=480, decoder="pyzbar", door="VIP")
    saved.save()
    assert Settings.load(folders) == saved
    assert json.loads(saved.path.read_text())["door"] == "VIP"


def test_corrupt_or_wrong_settings_fall_back_to_defaults(tmp_path: Path) -> None:
    folders = Folders.for_user(tmp_path)
    folders.create()
    (folders.config / "settings.json").write_text("{ not json")
    assert Settings.load(folders) == Settings(folders)
    (folders.config / "settings.json").write_text(
        json.dumps({"width": "wide", "sound": "yes", "door": "Side door", "height": -5})
    )
    loaded = Settings.load(folders)
    assert (loaded.width, loaded.height, loaded.sound) == (1280, 720, True)
    assert loaded.door == "Side door"


def test_home_variable_puts_everything_under_one_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEPPERSLIFE_DOOR_HOME", str(tmp_path))
    folders = Folders.for_user()
    assert {folders.config.parent, folders.data.parent, folders.logs.parent} == {tmp_path}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "stepperslife-pair:https://tix.example.com#ABCD-1234",
            ("https://tix.example.com", "ABCD-1234"),
        ),
        ("https://tix.example.com/pair?code=XY12", ("https://tix.example.com", "XY12")),
        ("http://127.0.0.1:5000/devices/pair?code=Q&x=1", ("http://127.0.0.1:5000", "Q")),
    ],
)
def test_pairing_qr_texts(text: str, expected: tuple[str, str]) -> None:
    assert parse_pairing_payload(text) == expected


def test_the_servers_pairing_qr_text_is_read_back() -> None:
    # The server renders pairing_qr_text(request.host_url, code) into its pairing QR.
    text = pairing_qr_text("http://door-server.local:5000/", "K7PM-3QXW")
    assert parse_pairing_payload(text) == ("http://door-server.local:5000", "K7PM-3QXW")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "AEAAAAABAAAAAAIBY3L35DQPMT3GA6VK",
        "stepperslife-pair:ftp://x#C",
        "stepperslife-pair:https://x.example",
        "https://x.example/pair",
        "javascript:alert(1)?code=1",
    ],
)
def test_other_texts_are_not_pairing_codes(text: str) -> None:
    assert parse_pairing_payload(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("K7QM2XH9PA", "K7QM2XH9PA"),
        ("k7qm-2xh9-pa", "K7QM2XH9PA"),
        (" K7QM 2XH9 PA\n", "K7QM2XH9PA"),
    ],
)
def test_bare_pairing_codes_as_the_servers_qr_holds_them(text: str, expected: str) -> None:
    assert parse_pairing_code(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ABC",
        "AEAAAAABAAAAAAIBY3L35DQPMT3GA6VK",  # a ticket token is not a pairing code
        "https://tix.example.com/pair?code=XY12",
        "K7QM_2XH9PA",
        "K7QM2XH9PÄ",
    ],
)
def test_other_texts_are_not_bare_pairing_codes(text: str) -> None:
    assert parse_pairing_code(text) is None
