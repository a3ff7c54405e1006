"""The NumPy/Qt image operations against OpenCV's (the tests still have OpenCV; the package not)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from scanner_app.hardware.imaging import (
    closing,
    gaussian_blur,
    opening,
    read_gray,
    shrink,
    to_gray,
)


def _texture(shape: tuple[int, int], seed: int) -> np.ndarray:
    noise = (np.random.default_rng(seed).random(shape) * 255).astype(np.uint8)
    return cv2.GaussianBlur(noise, (0, 0), 1.5)


def test_grey_conversion_matches_opencv_pixel_for_pixel() -> None:
    rng = np.random.default_rng(3)
    bgr = (rng.random((57, 83, 3)) * 256).astype(np.uint8)
    bgra = (rng.random((57, 83, 4)) * 256).astype(np.uint8)
    assert np.array_equal(to_gray(bgr), cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    assert np.array_equal(to_gray(bgra), cv2.cvtColor(bgra, cv2.COLOR_BGRA2GRAY))


@pytest.mark.parametrize(("shape", "side"), [((120, 97), 3), ((64, 200), 9), ((40, 31), 57)])
def test_opening_and_closing_match_opencv_pixel_for_pixel(shape, side) -> None:
    frame = _texture(shape, side)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (side, side))
    assert np.array_equal(opening(frame, side), cv2.morphologyEx(frame, cv2.MORPH_OPEN, kernel))
    assert np.array_equal(closing(frame, side), cv2.morphologyEx(frame, cv2.MORPH_CLOSE, kernel))


@pytest.mark.parametrize(("shape", "sigma"), [((120, 97), 1.2), ((64, 200), 4.4), ((40, 31), 32.0)])
def test_gaussian_blur_is_within_one_grey_level_of_opencv(shape, sigma) -> None:
    frame = _texture(shape, int(sigma * 10))
    ours = gaussian_blur(frame, sigma).astype(int)
    theirs = cv2.GaussianBlur(frame, (0, 0), sigma).astype(int)
    assert np.abs(ours - theirs).max() <= 1  # OpenCV blurs 8-bit images in fixed point
    assert (ours != theirs).mean() < 0.05


def test_shrink_keeps_the_picture() -> None:
    frame = _texture((800, 1000), 5)
    ours = shrink(frame, (500, 400)).astype(int)
    assert ours.shape == (400, 500)
    area = cv2.resize(frame, (500, 400), interpolation=cv2.INTER_AREA).astype(int)
    assert np.abs(ours - area).mean() < 2.5


def test_read_gray_reads_colour_grey_and_16_bit_images(tmp_path: Path) -> None:
    grey = _texture((50, 70), 8)
    cv2.imwrite(str(tmp_path / "grey.png"), grey)
    cv2.imwrite(str(tmp_path / "colour.png"), cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR))
    deep = (grey.astype(np.uint16) * 64)  # a 16-bit image whose brightest pixel is not white
    cv2.imwrite(str(tmp_path / "deep.png"), deep)
    assert np.array_equal(read_gray(tmp_path / "grey.png"), grey)
    assert np.array_equal(read_gray(tmp_path / "colour.png"), grey)
    stretched = read_gray(tmp_path / "deep.png")
    assert stretched is not None and stretched.max() == 255
    expected = cv2.convertScaleAbs(deep, alpha=255.0 / int(deep.max()))
    assert np.abs(stretched.astype(int) - expected).max() <= 1
    (tmp_path / "bad.png").write_bytes(b"not a png")
    assert read_gray(tmp_path / "bad.png") is None
