"""One distinct sound per outcome. Silent, never failing, without audio devices or libraries."""

from __future__ import annotations

import logging
from typing import Any

from scanner_app.core.verdict import Colour
from scanner_app.ui.resources import resource_path

logger = logging.getLogger(__name__)

FILES = {Colour.GREEN: "admit.wav", Colour.ORANGE: "used.wav", Colour.RED: "refuse.wav"}


class SoundPlayer:
    """``play(colour)``; ``available`` says whether sound works here, ``played`` counts attempts."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.played: list[Colour] = []
        self._effects: dict[Colour, Any] = {}
        if not enabled:
            return
        try:
            from PySide6.QtCore import QUrl
            from PySide6.QtMultimedia import QSoundEffect
        except Exception as exc:  # ImportError, or a missing libpulse under QtMultimedia
            logger.info("no sound: QtMultimedia is unavailable (%s)", exc)
            return
        for colour, name in FILES.items():
            path = resource_path("sounds", name)
            if not path.is_file():
                logger.info("no sound for %s: %s is missing", colour, path)
                continue
            effect = QSoundEffect()
            effect.setSource(QUrl.fromLocalFile(str(path)))
            effect.setVolume(0.9)
            self._effects[colour] = effect

    @property
    def available(self) -> bool:
        return bool(self._effects)

    def play(self, colour: Colour) -> None:
        if not self.enabled:
            return
        self.played.append(colour)
        effect = self._effects.get(colour)
        if effect is None:
            return
        try:
            effect.play()
        except Exception:  # a sound is a nicety: it must never cost an answer
            logger.exception("could not play %s", colour)
