"""The window's status strip says when scans were set aside (issue 13): a scan the server kept
refusing is no longer sent, and staff see it rather than a queue that silently never empties."""

from __future__ import annotations

from scanner_app.core.door import Door
from scanner_app.core.sync import MAX_REFUSALS
from tests.scanner_ui.conftest import VALID, AppFactory, token


def test_the_status_strip_shows_a_scan_set_aside(qtbot, make_app: AppFactory,  # type: ignore[no-untyped-def]
                                                 door: Door) -> None:
    door.check(token(VALID), door="North", source="t")
    poison = door.check(token(VALID) + "\x00", door="North", source="camera").scan_id
    assert poison is not None
    for _ in range(MAX_REFUSALS):
        door.store.note_refusals({poison: "internal_error"}, MAX_REFUSALS)

    app = make_app(door)
    label = app.window.scan.status.set_aside
    qtbot.waitUntil(lambda: label.isVisible() and label.text() == "1 scan set aside",
                    timeout=10_000)
    assert app.window.scan.status.values["waiting"].text() == "1"  # the other scan still waits
