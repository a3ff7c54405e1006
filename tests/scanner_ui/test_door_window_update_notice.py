"""The status strip tells staff when the server reported a newer door app (issue 18): a
notice, never a dialog; scanning goes on."""

from __future__ import annotations

from scanner_app import __version__
from scanner_app.core.door import Door
from scanner_app.storage.store import LATEST_APP_VERSION
from tests.scanner_ui.conftest import VALID, AppFactory, token


def test_the_status_strip_shows_a_newer_door_app(qtbot, make_app: AppFactory,  # type: ignore[no-untyped-def]
                                                  door: Door) -> None:
    door.store.set_setting(LATEST_APP_VERSION, "99.0.0")
    app = make_app(door)
    label = app.window.scan.status.update_notice
    qtbot.waitUntil(lambda: label.isVisible(), timeout=10_000)
    assert label.text() == f"Door app 99.0.0 available (this is {__version__})"
    assert door.check(token(VALID), door="North", source="t").admitted  # nothing blocks


def test_no_notice_when_this_is_the_newest(qtbot, make_app: AppFactory,  # type: ignore[no-untyped-def]
                                           door: Door) -> None:
    door.store.set_setting(LATEST_APP_VERSION, __version__)
    app = make_app(door)
    status = app.window.scan.status
    qtbot.waitUntil(lambda: status.values["cached"].text() != "–", timeout=10_000)
    assert not status.update_notice.isVisible()
