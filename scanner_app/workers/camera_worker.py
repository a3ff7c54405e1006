# mypy: allow-subclassing-any, allow-untyped-decorators
# (this PySide6 ships no type stubs, so mypy sees every Qt class as Any)
"""Capture and decode on a worker thread; the GUI thread only receives small preview images."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QSize, Qt, QThread, Signal, Slot
from PySide6.QtGui import QImage

from scanner_app.core.debounce import InView
from scanner_app.core.ports import Decoder, FrameSource, GrayFrame
from scanner_app.hardware.imaging import gray_image
from scanner_app.workers.threads import keep_until_finished

logger = logging.getLogger(__name__)

PREVIEW_FPS = 20.0  # the preview needs no more; every frame is still decoded


def preview_image(frame: GrayFrame, size: QSize) -> QImage:
    """``frame`` shrunk (off the GUI thread) to fit ``size``, as a QImage that owns its pixels.

    The image is RGB32, the format a QPixmap keeps on every platform we ship: the GUI thread's
    ``QPixmap.fromImage`` is then a copy (~1 µs at 960x540) instead of a conversion from
    greyscale (~0.2 ms, up to 3 ms on a busy machine); the conversion (~0.1 ms) happens here.
    """
    frame = np.ascontiguousarray(frame, dtype=np.uint8)
    height, width = frame.shape
    scale = min(size.width() / width, size.height() / height, 1.0) if size.isValid() else 1.0
    image = gray_image(frame)  # shares ``frame``'s pixels until the conversion below copies them
    if scale < 1.0:
        target = QSize(max(1, int(width * scale)), max(1, int(height * scale)))
        image = image.scaled(target, Qt.AspectRatioMode.IgnoreAspectRatio,
                             Qt.TransformationMode.SmoothTransformation)
    return image.convertToFormat(QImage.Format.Format_RGB32)


class CameraWorker(QThread):
    """Reads frames from a ``FrameSource`` as fast as it gives them, decodes every one.

    Signals (queued to the GUI thread): ``frame_captured(QImage)`` at most ``PREVIEW_FPS`` times a
    second; ``code_decoded(str)`` once per code appearing in view; ``camera_failed(str)`` with
    words for the staff; ``camera_stopped()`` when the source ends.
    """

    frame_captured = Signal(QImage)
    code_decoded = Signal(str)
    camera_failed = Signal(str)
    camera_stopped = Signal()

    def __init__(
        self,
        open_source: Callable[[], FrameSource],
        decoder: Decoder,
        in_view: InView | None = None,
    ) -> None:
        super().__init__()
        self.setObjectName("camera")
        self._open_source = open_source
        self._decoder = decoder
        self._in_view = in_view or InView()
        self._stop = threading.Event()
        self._preview_size = QSize(960, 540)
        self._lock = threading.Lock()
        self.frames_decoded = 0

    @Slot(QSize)
    def set_preview_size(self, size: QSize) -> None:
        with self._lock:
            self._preview_size = QSize(size)

    def set_decoder(self, decoder: Decoder) -> None:
        self._decoder = decoder  # one attribute write: safe to swap while running

    def stop(self) -> None:
        self._stop.set()
        if not self.wait(3000):
            logger.error("camera thread did not stop within 3 s")
            keep_until_finished(self)  # destroying a running QThread aborts the process

    def run(self) -> None:
        try:
            source = self._open_source()
        except Exception as exc:
            logger.warning("camera failed to open: %s", exc)
            self.camera_failed.emit(str(exc))
            return
        next_preview = 0.0
        try:
            while not self._stop.is_set():
                frame = source.read()
                if frame is None:
                    self.camera_stopped.emit()
                    return
                codes = self._decoder.decode(frame)
                self.frames_decoded += 1
                now = time.monotonic()
                for code in self._in_view.new_codes(codes, now):
                    self.code_decoded.emit(code)
                if now >= next_preview:
                    next_preview = now + 1.0 / PREVIEW_FPS
                    with self._lock:
                        size = QSize(self._preview_size)
                    self.frame_captured.emit(preview_image(frame, size))
        except Exception as exc:  # a camera error must show on screen, not kill the thread silently
            logger.exception("camera loop failed")
            self.camera_failed.emit(f"The camera stopped: {exc}")
        finally:
            source.close()
