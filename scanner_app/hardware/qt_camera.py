# mypy: allow-subclassing-any, allow-untyped-decorators
# (this PySide6 ships no type stubs, so mypy sees every Qt class as Any)
"""A USB or built-in camera through Qt Multimedia (``QCamera`` into a ``QVideoSink``).

Why Qt and not OpenCV: Qt Multimedia is in the door app already (sounds), with its FFmpeg
backend that opens V4L2 cameras on Linux (AVFoundation on macOS, Media Foundation on Windows),
while OpenCV would add 158 MB to the package for ``VideoCapture`` alone (docs/packaging.md).

The camera lives on its own thread with an event loop (Qt delivers frames through it); each frame
becomes a greyscale array there, the Y plane copied straight out of YUV frames, and only the
newest one is kept: :meth:`QtCamera.read` waits for a frame newer than the last it returned.
"""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QThread, Slot
from PySide6.QtGui import QImage
from PySide6.QtMultimedia import (
    QCamera,
    QCameraDevice,
    QCameraFormat,
    QMediaCaptureSession,
    QMediaDevices,
    QVideoFrame,
    QVideoFrameFormat,
    QVideoSink,
)

from scanner_app.core.ports import GrayFrame
from scanner_app.hardware.imaging import from_qimage
from scanner_app.hardware.newest_frame import NewestFrame

logger = logging.getLogger(__name__)

PixelFormat = QVideoFrameFormat.PixelFormat
# Formats whose first plane is the luma (Y) plane, one byte a pixel: grey without a conversion.
_PLANAR_Y = frozenset({
    PixelFormat.Format_NV12, PixelFormat.Format_NV21, PixelFormat.Format_YUV420P,
    PixelFormat.Format_YUV422P, PixelFormat.Format_YV12, PixelFormat.Format_IMC1,
    PixelFormat.Format_IMC2, PixelFormat.Format_IMC3, PixelFormat.Format_IMC4,
    PixelFormat.Format_Y8,
})
# Packed 4:2:2: Y on every other byte, starting at byte 0 (YUYV) or byte 1 (UYVY).
_PACKED_Y = {PixelFormat.Format_YUYV: 0, PixelFormat.Format_UYVY: 1}


class CameraError(RuntimeError):
    """The camera cannot be opened; the message says which one and what to try."""


def frame_to_gray(frame: QVideoFrame) -> GrayFrame | None:
    """A video frame as an owned 2-D uint8 array (the Y plane when there is one), or None."""
    if not frame.isValid():
        return None
    width, height = frame.width(), frame.height()
    pixel_format = frame.pixelFormat()
    if (pixel_format in _PLANAR_Y or pixel_format in _PACKED_Y) and frame.map(
        QVideoFrame.MapMode.ReadOnly
    ):
        try:
            stride = frame.bytesPerLine(0)
            rows = np.frombuffer(frame.bits(0), dtype=np.uint8, count=stride * height)
            rows = rows.reshape(height, stride)
            if pixel_format in _PACKED_Y:
                start = _PACKED_Y[pixel_format]
                return np.array(rows[:, start:start + 2 * width:2])
            return np.array(rows[:, :width])
        finally:
            frame.unmap()
    image: QImage = frame.toImage()  # anything else (MJPEG decoded, RGB): Qt converts
    return None if image.isNull() else from_qimage(image)


def choose_format(
    device: QCameraDevice, width: int | None, height: int | None
) -> QCameraFormat | None:
    """The device's format nearest ``width`` x ``height`` (then the fastest), or None for its
    default."""
    formats = list(device.videoFormats())
    if not formats or not (width and height):
        return None
    wanted = width * height

    def distance(option: QCameraFormat) -> tuple[int, float]:
        size = option.resolution()
        return abs(size.width() * size.height() - wanted), -option.maxFrameRate()

    return min(formats, key=distance)


class _Receiver(QObject):
    """Lives on the camera thread; Qt calls its slots there."""

    def __init__(self, camera: QtCamera) -> None:
        super().__init__()
        self._camera = camera

    @Slot(QVideoFrame)
    def frame(self, frame: QVideoFrame) -> None:
        self._camera.deliver(frame_to_gray(frame))

    @Slot(QCamera.Error, str)
    def error(self, _error: QCamera.Error, message: str) -> None:
        self._camera.fail(message)


class _CameraThread(QThread):
    def __init__(self, owner: QtCamera, device: QCameraDevice, fmt: QCameraFormat | None) -> None:
        super().__init__()
        self.setObjectName("camera-grab")
        self._owner, self._device, self._format = owner, device, fmt

    def run(self) -> None:
        camera = QCamera(self._device)
        if self._format is not None:
            camera.setCameraFormat(self._format)
        sink = QVideoSink()
        session = QMediaCaptureSession()
        session.setCamera(camera)
        session.setVideoSink(sink)
        receiver = _Receiver(self._owner)
        sink.videoFrameChanged.connect(receiver.frame)
        camera.errorOccurred.connect(receiver.error)
        camera.start()
        self.exec()
        camera.stop()  # the session, sink and receiver go with this frame's locals


class QtCamera(NewestFrame):
    """Camera number ``index`` in Qt's list of video inputs (0: the first, usually built in)."""

    def __init__(
        self,
        index: int = 0,
        *,
        width: int | None = 1280,
        height: int | None = 720,
        read_timeout: float = 2.0,
    ) -> None:
        if QCoreApplication.instance() is None:
            raise CameraError("cameras open only inside the door app (Qt is not running)")
        devices = list(QMediaDevices.videoInputs())
        if not 0 <= index < len(devices):
            raise CameraError(
                f"camera {index!r} could not be opened: {len(devices)} camera(s) found. Is it "
                "plugged in? Choose another camera in Settings."
            )
        device = devices[index]
        fmt = choose_format(device, width, height)
        size = fmt.resolution() if fmt is not None else None
        self.resolution = (size.width(), size.height()) if size is not None else (0, 0)
        self.description = device.description()
        self._start_hand_out(source=index, read_timeout=read_timeout)
        self._thread = _CameraThread(self, device, fmt)
        self._thread.start()
        logger.info("camera %r (%s) opened at %sx%s", index, self.description, *self.resolution)

    def deliver(self, frame: GrayFrame | None) -> None:
        """Called on the camera thread with each new frame; keeps only the newest."""
        if frame is not None:
            self._hand_over(frame)

    def fail(self, message: str) -> None:
        logger.warning("camera %r stopped: %s", self.source, message)
        self._end()

    def close(self) -> None:
        self._thread.quit()
        if not self._thread.wait(3000):
            logger.error("camera thread did not stop within 3 s")
        with self._cond:
            self._ended = True
            self._cond.notify_all()
