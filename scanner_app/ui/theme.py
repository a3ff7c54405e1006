"""Colours and type for a dark hall at 11 pm: big, high-contrast, never colour alone.

Each outcome has a colour, a symbol and a word, so colour-blind staff and glare on the screen
still leave two cues out of three.
"""

from __future__ import annotations

from dataclasses import dataclass

from scanner_app.core.verdict import Colour
from scanner_app.ui.resources import resource_path


@dataclass(frozen=True, slots=True)
class OutcomeStyle:
    background: str
    foreground: str
    symbol: str


OUTCOMES: dict[Colour, OutcomeStyle] = {
    Colour.GREEN: OutcomeStyle("#0f7b3a", "#ffffff", "✔"),  # white on green: contrast 5.4:1
    Colour.ORANGE: OutcomeStyle("#ffab00", "#111111", "!"),  # near-black on amber: 10:1
    Colour.RED: OutcomeStyle("#b71c1c", "#ffffff", "✖"),  # white on red: 6.6:1
}
READY = OutcomeStyle("#1e2228", "#e8eaed", "▣")
ONLINE = "#2e7d32"
OFFLINE = "#e65100"


def style_sheet() -> str:
    path = resource_path("style.qss")
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""  # the app still works, in Qt's default look
