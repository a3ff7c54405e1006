"""The newest frame of a camera, handed to one reader: what both camera backends share.

A camera's own thread hands each frame over (:meth:`NewestFrame._hand_over`), replacing the one
not yet read, so the scanner always decodes what the camera sees now, never a queue of old
frames (docs/door-app.md, camera buffering); :meth:`NewestFrame.read` waits for a frame newer
than the last one it returned.
"""

from __future__ import annotations

import logging
import threading
import time

from scanner_app.core.ports import GrayFrame

logger = logging.getLogger(__name__)


class NewestFrame:
    source: int | str

    def _start_hand_out(self, *, source: int | str, read_timeout: float) -> None:
        """The newest-frame state, apart from the device (the tests drive it without one)."""
        self.source = source
        self._read_timeout = read_timeout
        self._cond = threading.Condition()
        self._frame: GrayFrame | None = None
        self._sequence = 0
        self._handed_out = 0
        self._ended = False

    @property
    def frames_grabbed(self) -> int:
        return self._sequence

    @property
    def ended(self) -> bool:
        """True once the source stopped sending (a file played to its end, a camera unplugged
        or failed, or the camera closed)."""
        return self._ended

    def _hand_over(self, frame: GrayFrame) -> None:
        with self._cond:
            self._frame = frame
            self._sequence += 1
            self._cond.notify_all()

    def _end(self) -> None:
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def read(self) -> GrayFrame | None:
        """A frame newer than the last one read; None after ``read_timeout`` seconds without
        one, or once the source ended and its last frame was read."""
        deadline = time.monotonic() + self._read_timeout
        with self._cond:
            while self._sequence == self._handed_out and not self._ended:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    logger.warning(
                        "camera %r sent no frame for %.1f s", self.source, self._read_timeout
                    )
                    return None
                self._cond.wait(remaining)
            if self._sequence == self._handed_out:
                return None  # ended, and the last frame was already handed out
            self._handed_out = self._sequence
            return self._frame
