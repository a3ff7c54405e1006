"""Settings survive a restart and a corrupt file (pairing QR texts: scanner_core)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner_app.settings import Folders, Settings


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
