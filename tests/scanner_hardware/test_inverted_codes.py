"""Codes shown light-on-dark (a phone in dark mode) are read by each decoder (issue 13)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from scanner_app.hardware.decoders import PyzbarDecoder, ZxingDecoder
from shared.qr import render_png
from tests.support.synthetic import Degradation, empty_scene, sample_token, scene

Backend = type[PyzbarDecoder] | type[ZxingDecoder]
BACKENDS: list[Backend] = [PyzbarDecoder, ZxingDecoder]
PLAIN = {PyzbarDecoder: {"invert_pass": False}, ZxingDecoder: {"try_invert": False}}


def inverted_ticket_png(token: str) -> np.ndarray:
    """A real ticket QR image, as encoded by shared.qr, with its light and dark swapped."""
    png = np.frombuffer(render_png(token, box_size=6), dtype=np.uint8)
    image = cv2.imdecode(png, cv2.IMREAD_GRAYSCALE)
    assert image is not None
    ok, encoded = cv2.imencode(".png", cv2.bitwise_not(image))
    assert ok
    decoded = cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE)
    assert decoded is not None
    return decoded


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda c: c.name)
def test_an_inverted_ticket_image_is_read(backend: Backend) -> None:
    token = sample_token(4242)
    frame = inverted_ticket_png(token)
    assert backend().decode(frame) == [token]
    assert backend(**PLAIN[backend]).decode(frame) == []  # it is the inverted read that reads it


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda c: c.name)
def test_a_dark_mode_phone_in_a_camera_scene_is_read(backend: Backend) -> None:
    rng = np.random.default_rng(5)
    tokens = [sample_token(100 + i) for i in range(6)]
    frames = [scene(t, 640, 480, Degradation.INVERTED, rng) for t in tokens]
    decoder = backend()
    assert sum(decoder.decode(f) == [t] for f, t in zip(frames, tokens, strict=True)) >= 5
    assert decoder.decode(empty_scene(640, 480, rng)) == []
    assert decoder.decode(scene(tokens[0], 640, 480, None, rng)) == [tokens[0]]
