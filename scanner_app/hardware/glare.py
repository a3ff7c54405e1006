"""A rescue pass for a QR code that was found but not decoded, usually because of glare.

A ceiling light on a phone screen adds a bright, smooth spot to part of the code. Inside it the
dark modules are still darker than the light ones, but both are far brighter than elsewhere on
the code, so a binarizer that compares a pixel with the average of its neighbourhood (zxing-cpp's
LocalAverage, 8x8 blocks) gets whole patches of modules wrong and the Reed-Solomon check fails.

The fix is a threshold that follows the spot: the local dark level (a morphological opening,
which keeps only the dark modules' brightness) and the local light level (a closing), both
smoothed over about a module, and a pixel is light when it is above their midpoint. Only the
saturated core of the spot, a few modules, is lost: that is within the error correction of a
level-M code. This costs ~1 ms on a crop, so it only runs around a candidate symbol the first
pass located but could not decode (``read_barcodes(..., return_errors=True)``), never on the
whole frame and never on frames with nothing in them (most frames at a door).

The candidate is often not the ticket's code itself but a Micro QR or rMQR misreading of one of
its finder patterns, so the crop extends a candidate's own size on every side: the real code lies
somewhere around its finder.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from scanner_app.core.ports import GrayFrame
from scanner_app.hardware.imaging import closing, gaussian_blur, opening

# Modules across a symbol whose version the first pass could not read: a version-2 QR code, the
# size of our ticket tokens (shared/qr.py).
FALLBACK_MODULES = 25
# How far around a candidate to look, in candidate sides: a Micro QR misreading of one finder
# pattern covers about half of a version-2 code, and the rest can lie in any direction.
CROP_MARGIN = 1.0
# The structuring element spans ~1.4 modules (it must be wider than one dark or light module to
# find the other level) and the levels are smoothed over ~0.8 module (glare varies smoothly).
# Both measured on synthetic glare frames: see docs/door-app.md.
KERNEL_MODULES = 1.4
SMOOTH_MODULES = 0.8
MIN_MODULE_PX = 1.5
MAX_MODULE_PX = 40.0

_RMQR = re.compile(r"R(\d+)x(\d+)")


@dataclass(frozen=True, slots=True)
class Candidate:
    """Where the first pass saw a symbol: its four corners and its size in modules."""

    corners: np.ndarray  # 4 x 2 float32, in frame pixels
    modules: int

    @property
    def module_px(self) -> float:
        edges = np.linalg.norm(self.corners - np.roll(self.corners, 1, axis=0), axis=1)
        return float(np.clip(edges.min() / self.modules, MIN_MODULE_PX, MAX_MODULE_PX))


def modules_across(version: str) -> int:
    """Modules along a symbol's shorter side, from zxing-cpp's ``extra["Version"]`` text.

    ``"2"`` (QR, 17 + 4v), ``"M4"`` (Micro QR, 9 + 2v), ``"R11x59"`` (rMQR, 11 rows); anything
    else is taken to be a ticket-sized code.
    """
    if version.isdigit() and 1 <= int(version) <= 40:
        return 17 + 4 * int(version)
    if len(version) == 2 and version[0] == "M" and version[1] in "1234":
        return 9 + 2 * int(version[1])
    match = _RMQR.fullmatch(version)
    if match:
        return int(match.group(1))
    return FALLBACK_MODULES


def crop_box(
    shape: tuple[int, ...], candidates: Sequence[Candidate], margin: float = CROP_MARGIN
) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) around every candidate, ``margin`` candidate sides out, inside the frame."""
    points = np.concatenate([c.corners for c in candidates])
    low, high = points.min(axis=0), points.max(axis=0)
    pad = float((high - low).max()) * margin + 4
    height, width = shape[:2]
    x0 = int(np.clip(low[0] - pad, 0, width))
    y0 = int(np.clip(low[1] - pad, 0, height))
    x1 = int(np.clip(high[0] + pad + 1, 0, width))
    y1 = int(np.clip(high[1] + pad + 1, 0, height))
    return x0, y0, x1, y1


def flatten_glare(gray: GrayFrame, module_px: float) -> GrayFrame:
    """``gray`` thresholded at the midpoint of its local dark and light levels: 0 or 255."""
    side = max(3, round(KERNEL_MODULES * module_px) | 1)
    sigma = SMOOTH_MODULES * module_px
    dark = gaussian_blur(opening(gray, side), sigma)
    light = gaussian_blur(closing(gray, side), sigma)
    # A pixel exactly at the midpoint counts as dark (rounded half to even, as OpenCV's
    # addWeighted does).
    middle = np.rint((dark.astype(np.float64) + light) * 0.5)
    return np.where(gray > middle, 255, 0).astype(np.uint8)


def rescue_crop(gray: GrayFrame, candidates: Sequence[Candidate]) -> GrayFrame | None:
    """The glare-flattened crop around ``candidates``, or None when there is nothing to crop."""
    if not candidates:
        return None
    x0, y0, x1, y1 = crop_box(gray.shape, candidates)
    if x1 - x0 < 21 or y1 - y0 < 21:
        return None
    crop = np.ascontiguousarray(gray[y0:y1, x0:x1])
    return np.ascontiguousarray(flatten_glare(crop, min(c.module_px for c in candidates)))
