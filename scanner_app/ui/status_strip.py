# mypy: allow-subclassing-any, allow-untyped-decorators
# (this PySide6 ships no type stubs, so mypy sees every Qt class as Any)
"""Counters (admitted, refused, waiting to sync, last sync), scans set aside, and the
online/offline badge."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from scanner_app import __version__
from scanner_app.core.ports import DoorStatus


def set_aside_text(count: int) -> str:
    """'1 scan set aside': scans the server kept refusing (journaled, no longer sent)."""
    return f"{count:,} scan set aside" if count == 1 else f"{count:,} scans set aside"


def update_text(newer: str | None) -> str:
    """'Door app 0.2.0 available (this is 0.1.0)', or '' when this one is the newest."""
    return f"Door app {newer} available (this is {__version__})" if newer else ""


def last_sync_text(at: datetime | None, now: datetime | None = None) -> str:
    if at is None:
        return "never"
    seconds = int(((now or datetime.now(UTC)) - at).total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    return at.astimezone().strftime("%H:%M")


class OnlineBadge(QLabel):
    """A pill in the header, never over the answer. Offline says the scans are safe."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("badge")
        self.online: bool | None = None
        self.set_online(False)

    def set_online(self, online: bool) -> None:
        self.online = online
        self.setText("● ONLINE" if online else "● OFFLINE · scans kept")
        self.setProperty("online", "true" if online else "false")
        self.style().unpolish(self)
        self.style().polish(self)


class StatusStrip(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values: dict[str, QLabel] = {}
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 4, 6, 4)
        for key, caption in (
            ("admitted", "Admitted"),
            ("refused", "Refused"),
            ("waiting", "Waiting to sync"),
            ("last_sync", "Last sync"),
            ("cached", "Tickets on device"),
        ):
            name = QLabel(caption)
            name.setObjectName("counter")
            value = QLabel("–")
            value.setObjectName("counterValue")
            self.values[key] = value
            row.addWidget(name)
            row.addWidget(value)
            row.addSpacing(18)
        self.set_aside = QLabel()
        self.set_aside.setObjectName("setAside")
        self.set_aside.setToolTip("Scans the server kept refusing: kept in this door's journal, "
                                  "no longer sent. See the log, or `scanner-app status`.")
        self.set_aside.hide()
        row.addWidget(self.set_aside)
        self.update_notice = QLabel()
        self.update_notice.setObjectName("updateNotice")
        self.update_notice.setToolTip("The server reports a newer door app. Scanning goes on "
                                      "as it is; install the new one between events.")
        self.update_notice.hide()
        row.addWidget(self.update_notice)
        row.addStretch(1)

    def show_status(self, status: DoorStatus) -> None:
        self.values["admitted"].setText(f"{status.admitted:,}")
        self.values["refused"].setText(f"{status.refused:,}")
        self.values["waiting"].setText(f"{status.scans_queued:,}")
        self.values["last_sync"].setText(last_sync_text(status.last_sync_at))
        self.values["cached"].setText(f"{status.tickets_cached:,}")
        self.set_aside.setText(set_aside_text(status.set_aside))
        self.set_aside.setVisible(status.set_aside > 0)
        self.update_notice.setText(update_text(status.newer_app_version))
        self.update_notice.setVisible(status.newer_app_version is not None)
