"""The Qt binding must not drop references to None: PySide6 6.12.0 on Python 3.11 did, once per
void call, and the door app aborted ("none_dealloc") after minutes of scanning."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QLabel

CALLS = 2000


def test_void_qt_calls_keep_their_reference_to_none(qtbot) -> None:
    label = QLabel("ready")
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(CALLS):
        label.update()
        label.setText("ready")
    # Unrelated objects may come and go meanwhile; a leak would show as about -2 * CALLS.
    assert sys.getrefcount(None) > before - CALLS // 4
