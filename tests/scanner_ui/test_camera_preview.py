"""Preview images are made on the camera thread in the pixmap's own format; hidden views skip."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize
from PySide6.QtGui import QImage

from scanner_app.ui.camera_view import CameraView
from scanner_app.workers.camera_worker import preview_image


def test_preview_is_shrunk_to_the_view_and_keeps_the_grey_levels(qtbot) -> None:
    frame = np.zeros((720, 1280), np.uint8)
    frame[:, 640:] = 200
    frame[0, 0] = 17
    image = preview_image(frame, QSize(640, 480))
    assert image.format() == QImage.Format.Format_RGB32
    assert (image.width(), image.height()) == (640, 360)
    assert image.pixelColor(10, 10).getRgb()[:3] == (0, 0, 0)
    assert image.pixelColor(600, 200).getRgb()[:3] == (200, 200, 200)
    full = preview_image(frame, QSize())  # no size known yet: full size
    assert (full.width(), full.height()) == (1280, 720)
    assert full.pixelColor(0, 0).getRgb() == (17, 17, 17, 255)


def test_only_a_view_on_screen_draws_previews(qtbot) -> None:
    image = preview_image(np.full((240, 320), 90, np.uint8), QSize(320, 240))
    view = CameraView()
    qtbot.addWidget(view)
    view.show_frame(image)
    assert view.frames_shown == 0 and view.pixmap().isNull()
    view.show()
    qtbot.waitExposed(view)
    view.show_frame(image)
    assert view.frames_shown == 1
    assert view.pixmap().toImage().pixelColor(5, 5).getRgb()[:3] == (90, 90, 90)
