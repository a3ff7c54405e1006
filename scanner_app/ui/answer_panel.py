# mypy: allow-subclassing-any, allow-untyped-decorators
# (this PySide6 ships no type stubs, so mypy sees every Qt class as Any)
"""The full-width answer: green admit, orange already used, red refuse, readable from two metres."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from scanner_app.core.verdict import Verdict, VerdictCode
from scanner_app.ui.theme import OUTCOMES, READY, OutcomeStyle

_FLAGS = int(Qt.AlignmentFlag.AlignLeft) | int(Qt.TextFlag.TextWordWrap)
READY_TITLE = "READY"
READY_DETAIL = "Show the next ticket to the camera or scanner"


def when_text(at: datetime, now: datetime | None = None) -> str:
    """'21:43, 12 min ago' in local time: the door person thinks in wall-clock time."""
    now = now or datetime.now(UTC)
    local = at.astimezone()
    minutes = int((now - at).total_seconds() // 60)
    clock = local.strftime("%H:%M")
    if minutes < 1:
        return f"{clock}, just now"
    if minutes < 120:
        return f"{clock}, {minutes} min ago"
    if local.date() == now.astimezone().date():
        return f"{clock} today"
    return local.strftime("%a %d %b, %H:%M")


def ago_text(at: datetime, now: datetime | None = None) -> str:
    minutes = int(((now or datetime.now(UTC)) - at).total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 120:
        return f"{minutes} min ago"
    return f"{minutes // 60} h {minutes % 60:02d} min ago"


def detail_lines(verdict: Verdict) -> list[str]:
    """The plain-words lines under the big title, most important first."""
    lines = []
    if verdict.detail and verdict.detail != verdict.ticket_type:  # the type has its own line
        lines.append(verdict.detail)
    if verdict.code is VerdictCode.ALREADY_SCANNED and verdict.previous_scan_at is not None:
        if verdict.detail:  # the core already says when (in the event's time) and where
            lines.append(ago_text(verdict.previous_scan_at).capitalize())
        else:
            where = f" at {verdict.previous_scan_door}" if verdict.previous_scan_door else ""
            lines.append(f"First scanned {when_text(verdict.previous_scan_at)}{where}")
    if verdict.warning:
        lines.append(f"⚠ {verdict.warning}")
    return lines


class AnswerPanel(QWidget):
    """One ``Verdict``, then READY again after ``hold_ms``, so an old green never lingers.

    It paints itself (no child labels, no style sheet changes): showing an answer then costs a
    repaint, not a style re-polish, so the GUI thread never stalls on it. ``outcome`` is
    ``ready``, ``green``, ``orange`` or ``red``.
    """

    def __init__(self, hold_ms: int = 6000, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("answerPanel")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(220)
        self.outcome = "ready"
        self.verdict: Verdict | None = None
        self._style = READY
        self._title = ""
        self._name = ""
        self._type = ""
        self._detail = ""
        self._hold = QTimer(self)
        self._hold.setSingleShot(True)
        self._hold.setInterval(hold_ms)
        self._hold.timeout.connect(self.show_ready)
        self.show_ready()

    def texts(self) -> list[str]:
        """The lines on screen, big to small (what tests and screen readers read back)."""
        lines = [self._title, self._name, self._type, *self._detail.splitlines()]
        return [line for line in lines if line]

    def show_ready(self) -> None:
        self._hold.stop()
        self.verdict = None
        self.outcome, self._style = "ready", READY
        self._title, self._name, self._type, self._detail = READY_TITLE, "", "", READY_DETAIL
        self.setAccessibleName(f"{READY_TITLE}. {READY_DETAIL}")
        self.update()

    def show_verdict(self, verdict: Verdict) -> None:
        self.verdict = verdict
        colour = verdict.colour
        self.outcome, self._style = colour.value, OUTCOMES[colour]
        self._title = verdict.title.upper()
        self._name = verdict.holder_name or ""
        self._type = " · ".join(p for p in (verdict.ticket_type, verdict.ticket_number) if p)
        self._detail = "\n".join(detail_lines(verdict))
        self.setAccessibleName(". ".join(self.texts()))
        self.update()
        self._hold.start()

    def _font(self, px: int, weight: QFont.Weight) -> QFont:
        font = QFont(self.font())
        font.setPixelSize(max(12, px))
        font.setWeight(weight)
        return font

    def _layout(self, h: float, text_w: float, room: float) -> list[tuple[str, QFont, int]]:
        """Fonts as large as fit: the title on one line, everything within the panel."""
        scale = 1.0
        while True:
            title = self._font(int(h * 0.27 * scale), QFont.Weight.Black)
            width = QFontMetrics(title).horizontalAdvance(self._title)
            if width > text_w:
                title = self._font(int(title.pixelSize() * text_w / width), QFont.Weight.Black)
            blocks = [
                (self._title, title),
                (self._name, self._font(int(h * 0.13 * scale), QFont.Weight.Bold)),
                (self._type, self._font(int(h * 0.075 * scale), QFont.Weight.DemiBold)),
                (self._detail, self._font(int(h * 0.08 * scale), QFont.Weight.DemiBold)),
            ]
            sized = []
            for text, font in blocks:
                if text:
                    bound = QFontMetrics(font).boundingRect(0, 0, int(text_w), 10_000, _FLAGS, text)
                    sized.append((text, font, bound.height()))
            total = sum(height for _, _, height in sized) + 6 * max(0, len(sized) - 1)
            if total <= room or scale <= 0.5:
                return sized
            scale *= 0.9

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        style: OutcomeStyle = self._style
        rect = QRectF(self.rect())
        path = QPainterPath()
        path.addRoundedRect(rect, 14, 14)
        painter.fillPath(path, QColor(style.background))
        painter.setPen(QColor(style.foreground))
        h, w = rect.height(), rect.width()
        pad = max(20.0, h * 0.06)
        symbol_w = h * 0.55
        painter.setFont(self._font(int(h * 0.5), QFont.Weight.Black))
        painter.drawText(
            QRectF(pad, 0, symbol_w, h), int(Qt.AlignmentFlag.AlignCenter), style.symbol
        )
        x = pad + symbol_w + pad
        text_w = max(50.0, w - x - pad)
        sized = self._layout(h, text_w, h - pad)
        total = sum(height for _, _, height in sized) + 6 * max(0, len(sized) - 1)
        y = max(pad / 2, (h - total) / 2)
        for text, font, height in sized:
            painter.setFont(font)
            painter.drawText(QRectF(x, y, text_w, height), _FLAGS, text)
            y += height + 6
        painter.end()
