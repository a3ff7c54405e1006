"""The few image operations the door needs, with NumPy and Qt only (no OpenCV).

Why not OpenCV: its wheel is 158 MB installed (its own OpenBLAS, FFmpeg with video codecs, one
70 MB library), and the door app's package must stay under 200 MB (docs/packaging.md). What the
door did with it is small: colour to grey, an area shrink, reading an image file, and the glare
rescue's local threshold (a rectangular opening/closing, a Gaussian blur). Each one here follows
OpenCV's definition (same grey weights, same kernel sizes, same borders), and
tests/scanner_hardware/test_imaging.py compares them with OpenCV where the tests have it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage

from scanner_app.core.ports import GrayFrame

# OpenCV's fixed-point BGR -> grey weights (ITU-R BT.601, 15 fractional bits): the same rounding
# as cv2.cvtColor, so frames and thresholds do not move by one grey level.
_B, _G, _R, _SHIFT = 3735, 19235, 9798, 15


def to_gray(image: np.ndarray) -> GrayFrame:
    """A 2-D uint8 frame from grey, BGR or BGRA uint8 pixels (OpenCV's channel order)."""
    if image.ndim == 2:
        return np.ascontiguousarray(image, dtype=np.uint8)
    pixels = image.astype(np.uint32)
    weighted = _B * pixels[..., 0] + _G * pixels[..., 1] + _R * pixels[..., 2]
    return np.ascontiguousarray((weighted + (1 << (_SHIFT - 1))) >> _SHIFT, dtype=np.uint8)


def gray_image(frame: GrayFrame) -> QImage:
    """``frame`` (C-contiguous uint8) as a Grayscale8 QImage that shares its pixels: keep
    ``frame`` alive while the image is used, or copy the image."""
    if frame.dtype != np.uint8 or not frame.flags.c_contiguous:
        raise ValueError("gray_image needs a C-contiguous uint8 frame")
    height, width = frame.shape
    return QImage(frame.data, width, height, int(frame.strides[0]), QImage.Format.Format_Grayscale8)


def from_qimage(image: QImage) -> GrayFrame:
    """A QImage (any format) as a 2-D uint8 array that owns its pixels."""
    grey = image.convertToFormat(QImage.Format.Format_Grayscale8)
    width, height, stride = grey.width(), grey.height(), grey.bytesPerLine()
    rows = np.frombuffer(grey.constBits(), dtype=np.uint8, count=stride * height)
    return np.array(rows.reshape(height, stride)[:, :width])


def shrink(frame: GrayFrame, size: tuple[int, int]) -> GrayFrame:
    """``frame`` scaled to ``size`` (width, height) with Qt's smooth (area-averaging) scaler."""
    frame = np.ascontiguousarray(frame, dtype=np.uint8)
    scaled = gray_image(frame).scaled(QSize(*size), Qt.AspectRatioMode.IgnoreAspectRatio,
                                      Qt.TransformationMode.SmoothTransformation)
    return from_qimage(scaled)


def read_gray(path: str | Path) -> GrayFrame | None:
    """An image file as grey pixels, or None when Qt cannot read it. 16-bit images are scaled
    so their brightest pixel is white (a depth camera's PNG stays visible)."""
    image = QImage(str(path))
    if image.isNull():
        return None
    if image.format() == QImage.Format.Format_Grayscale16:
        width, height, stride = image.width(), image.height(), image.bytesPerLine()
        words = np.frombuffer(image.constBits(), dtype=np.uint16, count=stride * height // 2)
        values = words.reshape(height, stride // 2)[:, :width].astype(np.float64)
        scaled = np.rint(values * (255.0 / max(1.0, float(values.max()))))
        return np.ascontiguousarray(np.clip(scaled, 0, 255), dtype=np.uint8)
    return from_qimage(image)


def _window_extreme(frame: np.ndarray, side: int, axis: int, *, low: bool) -> np.ndarray:
    """Min (``low``) or max over a centred window of ``side`` along ``axis``; pixels outside the
    frame never win (OpenCV's erode/dilate default border). Windows grow by doubling (van Herk
    style in log2(side) steps), so a wide window costs a few passes, not ``side`` of them."""
    half = side // 2
    pad = [(0, 0), (0, 0)]
    pad[axis] = (half, half)
    padded = np.pad(frame, pad, constant_values=255 if low else 0)
    pick = np.minimum if low else np.maximum
    length = padded.shape[axis]

    def cut(array: np.ndarray, start: int, count: int) -> np.ndarray:
        return array[start:start + count] if axis == 0 else array[:, start:start + count]

    result, covered = padded, 1  # result[i] = extreme of padded[i : i + covered]
    while covered * 2 <= side:
        count = length - 2 * covered + 1
        result = pick(cut(result, 0, count), cut(result, covered, count))
        covered *= 2
    if covered < side:  # finish with two overlapping windows of ``covered``
        count = length - side + 1
        result = pick(cut(result, 0, count), cut(result, side - covered, count))
    return cut(result, 0, frame.shape[axis])


def _erode(frame: np.ndarray, side: int) -> np.ndarray:
    rows = _window_extreme(frame, side, 1, low=True)
    return _window_extreme(rows, side, 0, low=True)


def _dilate(frame: np.ndarray, side: int) -> np.ndarray:
    rows = _window_extreme(frame, side, 1, low=False)
    return _window_extreme(rows, side, 0, low=False)


def opening(frame: GrayFrame, side: int) -> GrayFrame:
    """Morphological opening with a ``side`` x ``side`` square: light specks narrower go."""
    return _dilate(_erode(frame, side), side)


def closing(frame: GrayFrame, side: int) -> GrayFrame:
    """Morphological closing with a ``side`` x ``side`` square: dark specks narrower go."""
    return _erode(_dilate(frame, side), side)


def gaussian_kernel(sigma: float) -> np.ndarray:
    """OpenCV's kernel for an 8-bit image and ``ksize=(0, 0)``: ``round(6 sigma + 1) | 1`` taps."""
    taps = int(np.rint(sigma * 3 * 2 + 1)) | 1
    offsets = np.arange(taps, dtype=np.float64) - (taps - 1) / 2
    weights = np.exp(-(offsets**2) / (2 * sigma * sigma))
    kernel: np.ndarray = weights / weights.sum()
    return kernel


def _convolve_axis(frame: np.ndarray, kernel: np.ndarray, axis: int) -> np.ndarray:
    """``frame`` convolved with ``kernel`` along ``axis``, the border reflected as OpenCV's
    default BORDER_REFLECT_101 (numpy's "reflect": the edge pixel not repeated)."""
    half = len(kernel) // 2
    length = frame.shape[axis]
    pad = [(0, 0), (0, 0)]
    pad[axis] = (half, half)
    padded = np.pad(frame, pad, mode="reflect" if length > 1 else "edge")
    out = np.zeros(frame.shape, dtype=np.float32)
    for tap, weight in enumerate(kernel.astype(np.float32)):
        out += weight * (padded[tap:tap + length] if axis == 0 else padded[:, tap:tap + length])
    return out


def gaussian_blur(frame: GrayFrame, sigma: float) -> GrayFrame:
    """``cv2.GaussianBlur(frame, (0, 0), sigma)`` for a uint8 frame (rounded to uint8)."""
    kernel = gaussian_kernel(sigma)
    blurred = _convolve_axis(_convolve_axis(frame.astype(np.float32), kernel, 1), kernel, 0)
    rounded: GrayFrame = np.clip(np.rint(blurred), 0, 255).astype(np.uint8)
    return rounded
