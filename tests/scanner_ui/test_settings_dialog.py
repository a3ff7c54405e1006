"""The settings dialog edits a copy of the settings; the app applies and saves them."""

from __future__ import annotations

from scanner_app.core.door import Door
from scanner_app.core.kiosk import pin_matches
from scanner_app.settings import Settings
from scanner_app.ui.settings_dialog import SettingsDialog
from tests.scanner_ui.conftest import AppFactory


def test_dialog_refuses_a_bad_pin_and_keeps_the_old_one(qtbot, settings: Settings) -> None:
    dialog = SettingsDialog(settings, ["zxing-cpp", "pyzbar"])
    qtbot.addWidget(dialog)
    dialog.pin.setText("12")
    dialog._accept()
    assert dialog.result_settings is None
    assert "4 to 12 digits" in dialog.error.text()


def test_dialog_result_holds_the_choices(qtbot, settings: Settings) -> None:
    dialog = SettingsDialog(settings, ["zxing-cpp", "pyzbar"])
    qtbot.addWidget(dialog)
    dialog.camera.setCurrentText("2")
    assert dialog.resolution.currentText() == "1280 × 720"  # what the settings say
    dialog.resolution.setCurrentIndex(dialog.resolution.findData("640x480"))
    dialog.decoder.setCurrentIndex(dialog.decoder.findData("pyzbar"))
    dialog.door.setText("VIP entrance")
    dialog.pin.setText("987654")
    dialog.sound.setChecked(False)
    dialog._accept()
    new = dialog.result_settings
    assert new is not None
    assert (new.camera, new.width, new.height, new.decoder, new.door, new.sound) == (
        "2",
        640,
        480,
        "pyzbar",
        "VIP entrance",
        False,
    )
    assert new.kiosk_pin_hash is not None and pin_matches("987654", new.kiosk_pin_hash)


def test_app_applies_and_saves_new_settings(qtbot, make_app: AppFactory, door: Door) -> None:
    app = make_app(door)
    new = app.settings.replace(decoder="pyzbar", door="VIP entrance", sound=False)
    app.apply_settings(new)
    assert app.camera is not None and app.parts.decoder.name == "pyzbar"
    assert app.door_worker is not None and app.door_worker.door_name == "VIP entrance"
    assert app.sound.enabled is False
    assert Settings.load(app.settings.folders) == new
