"""The Qt Multimedia camera: frame conversion, newest-frame hand-out, a missing camera.

No camera is attached here, so frames are built as QVideoFrames in the formats cameras send
(NV12, YUYV, UYVY, RGB) and handed to the same code the camera thread runs.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QImage
from PySide6.QtMultimedia import QVideoFrame, QVideoFrameFormat

from scanner_app.hardware.camera import open_source
from scanner_app.hardware.qt_camera import CameraError, QtCamera, frame_to_gray

Format = QVideoFrameFormat.PixelFormat
HEIGHT, WIDTH = 48, 64


def _luma() -> np.ndarray:
    return (np.arange(HEIGHT * WIDTH) % 251).astype(np.uint8).reshape(HEIGHT, WIDTH)


def _frame(pixel_format: QVideoFrameFormat.PixelFormat, fill) -> QVideoFrame:
    frame = QVideoFrame(QVideoFrameFormat(QSize(WIDTH, HEIGHT), pixel_format))
    assert frame.map(QVideoFrame.MapMode.WriteOnly)
    fill(frame)
    frame.unmap()
    return frame


def _plane(frame: QVideoFrame, plane: int) -> np.ndarray:
    stride = frame.bytesPerLine(plane)
    data = np.frombuffer(frame.bits(plane), dtype=np.uint8)
    return data.reshape(-1, stride)


def test_nv12_frames_give_their_luma_plane(qapp) -> None:
    def fill(frame: QVideoFrame) -> None:
        _plane(frame, 0)[:HEIGHT, :WIDTH] = _luma()
        _plane(frame, 1)[:] = 77  # chroma must not leak into the grey frame

    grey = frame_to_gray(_frame(Format.Format_NV12, fill))
    assert grey is not None and grey.shape == (HEIGHT, WIDTH)
    assert np.array_equal(grey, _luma())


@pytest.mark.parametrize(("pixel_format", "luma_at"), [(Format.Format_YUYV, 0),
                                                        (Format.Format_UYVY, 1)])
def test_packed_yuv_frames_give_every_other_byte(qapp, pixel_format, luma_at) -> None:
    def fill(frame: QVideoFrame) -> None:
        packed = _plane(frame, 0)[:HEIGHT, :2 * WIDTH]
        packed[:] = 128
        packed[:, luma_at::2] = _luma()

    grey = frame_to_gray(_frame(pixel_format, fill))
    assert grey is not None and np.array_equal(grey, _luma())


def test_rgb_frames_are_converted_by_qt(qapp) -> None:
    image = QImage(WIDTH, HEIGHT, QImage.Format.Format_RGB32)
    image.fill(0xFF808080)
    grey = frame_to_gray(QVideoFrame(image))
    assert grey is not None and grey.shape == (HEIGHT, WIDTH)
    assert abs(int(grey.mean()) - 128) <= 1


def test_invalid_frames_are_skipped() -> None:
    assert frame_to_gray(QVideoFrame()) is None


def test_only_the_newest_delivered_frame_is_handed_out() -> None:
    camera = QtCamera.__new__(QtCamera)  # the hand-out alone: no device here to open
    QtCamera._start_hand_out(camera, source=0, read_timeout=0.2)
    for level in range(10):
        camera.deliver(np.full((4, 4), level, np.uint8))
    newest = camera.read()
    assert newest is not None and int(newest[0, 0]) == 9
    assert camera.read() is None  # nothing newer within the timeout: never the same frame twice
    camera.deliver(np.full((4, 4), 42, np.uint8))
    again = camera.read()
    assert again is not None and int(again[0, 0]) == 42
    camera.fail("unplugged")
    assert camera.ended and camera.read() is None
    assert camera.frames_grabbed == 11


def test_a_camera_number_that_is_not_there_says_so(qapp) -> None:
    with pytest.raises(CameraError, match="could not be opened"):
        QtCamera(97)
    with pytest.raises(CameraError):
        open_source("96")
