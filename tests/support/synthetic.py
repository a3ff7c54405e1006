"""Camera-like frames holding real ticket QR codes, clean or degraded, for the bench and tests.

Each frame is a real QR image (``shared.qr.render_png``) of a real signed token
(``shared.ticket_token.sign``) placed on a textured background, then spoiled the way a door
spoils it: motion/focus blur, sensor noise, low contrast (dim hall), perspective (a phone held
at an angle), a small code (far from the lens, ~3.5 px per module), glare (a bright spot on a
phone screen) and inversion (a phone in dark mode: light modules on a dark screen).
Deterministic for a given ``numpy.random.Generator``.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import cv2
import numpy as np

from scanner_app.core.ports import GrayFrame
from shared.keys import Keyring, derive_event_key
from shared.qr import QUIET_ZONE_MODULES, render_png
from shared.ticket_token import TicketClaims, sign

# Bench and test key: a constant that is obviously not a secret, never used by a server.
SAMPLE_MASTER_SECRET = b"synthetic-frames-not-a-secret-000"
SAMPLE_EVENT_ID = 1
DEFAULT_MODULE_PX = 5.0
SMALL_MODULE_PX = 3.5


class Degradation(StrEnum):
    BLUR = "blur"
    NOISE = "noise"
    LOW_CONTRAST = "low_contrast"
    PERSPECTIVE = "perspective"
    SMALL = "small"
    GLARE = "glare"
    INVERTED = "inverted"


def sample_keyring(event_id: int = SAMPLE_EVENT_ID) -> Keyring:
    return Keyring.derived(SAMPLE_MASTER_SECRET, [(event_id, 1)])


def sample_token(ticket_id: int = 1234, event_id: int = SAMPLE_EVENT_ID) -> str:
    key = derive_event_key(SAMPLE_MASTER_SECRET, event_id, 1)
    return sign(TicketClaims(event_id, ticket_id, 1), key)


def qr_image(token: str, module_px: float = DEFAULT_MODULE_PX) -> GrayFrame:
    """The token's QR code (quiet zone included), ``module_px`` pixels per module."""
    png = np.frombuffer(render_png(token, box_size=1), dtype=np.uint8)
    crisp: np.ndarray | None = cv2.imdecode(png, cv2.IMREAD_GRAYSCALE)
    if crisp is None:
        raise ValueError("shared.qr.render_png gave an image OpenCV cannot read")
    side = round(crisp.shape[0] * module_px)
    method = cv2.INTER_NEAREST if module_px == int(module_px) else cv2.INTER_AREA
    resized: GrayFrame = cv2.resize(crisp, (side, side), interpolation=method).astype(np.uint8)
    return np.ascontiguousarray(resized)


def _background(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A dim, uneven backdrop with some texture, like a hand and a coat behind a phone."""
    ramp = np.linspace(60, 140, width, dtype=np.float32)[None, :].repeat(height, axis=0)
    blobs = rng.normal(0, 30, (max(1, height // 40), max(1, width // 40))).astype(np.float32)
    texture = cv2.resize(blobs, (width, height), interpolation=cv2.INTER_CUBIC)
    return ramp + texture


def scene(
    token: str,
    width: int,
    height: int,
    kind: Degradation | None = None,
    rng: np.random.Generator | None = None,
    module_px: float = DEFAULT_MODULE_PX,
) -> GrayFrame:
    """A ``width`` x ``height`` frame showing ``token``'s QR code, spoiled by ``kind``."""
    rng = rng or np.random.default_rng()
    if kind is Degradation.SMALL:
        module_px = SMALL_MODULE_PX
    code = qr_image(token, module_px).astype(np.float32)
    if kind is Degradation.INVERTED:
        code = 255 - code  # light-on-dark, quiet zone included: the screen around it is dark
    # Paper/screen white is never 255 through a camera, nor black 0.
    code = 35 + code * (200 / 255)
    frame = _background(width, height, rng)
    side = code.shape[0]
    if side >= min(width, height):
        raise ValueError(f"a {side}px code does not fit a {width}x{height} frame")
    x = int(rng.integers(0, width - side))
    y = int(rng.integers(0, height - side))
    if kind is Degradation.PERSPECTIVE:
        _paste_tilted(frame, code, x, y, rng)
    else:
        frame[y : y + side, x : x + side] = code
    if kind is Degradation.LOW_CONTRAST:
        frame = 105 + (frame - frame.mean()) * 0.14
        frame += rng.normal(0, 2.5, frame.shape).astype(np.float32)
    elif kind is Degradation.BLUR:
        frame = cv2.GaussianBlur(frame, (0, 0), sigmaX=module_px * 0.3)
    elif kind is Degradation.NOISE:
        frame += rng.normal(0, 40, frame.shape).astype(np.float32)
    elif kind is Degradation.GLARE:
        _add_glare(frame, x, y, side, rng)
    # A camera's own softness on every frame.
    frame = cv2.GaussianBlur(frame, (0, 0), sigmaX=0.6)
    return np.ascontiguousarray(np.clip(frame, 0, 255).astype(np.uint8))


def _paste_tilted(
    frame: np.ndarray, code: np.ndarray, x: int, y: int, rng: np.random.Generator
) -> None:
    side = code.shape[0]
    src = np.array([[0, 0], [side, 0], [side, side], [0, side]], np.float32)
    # Up to ~30% foreshortening on one axis and a little shear: a phone tilted towards the door.
    shrink = side * rng.uniform(0.18, 0.30)
    shear = side * rng.uniform(-0.08, 0.08)
    if rng.integers(0, 2):
        dst = [[shear, 0], [side, shrink], [side, side - shrink], [shear, side]]
    else:
        dst = [[0, 0], [side, 0], [side - shrink + shear, side], [shrink + shear, side]]
    matrix = cv2.getPerspectiveTransform(src, np.array(dst, np.float32))
    warped = cv2.warpPerspective(code, matrix, (side, side), borderValue=-1.0)
    region = frame[y : y + side, x : x + side]
    inside = warped >= 0
    region[inside] = warped[inside]


def _add_glare(frame: np.ndarray, x: int, y: int, side: int, rng: np.random.Generator) -> None:
    """A soft saturated spot over one part of the code (a ceiling light on a phone screen)."""
    height, width = frame.shape
    cx = x + side * rng.uniform(0.25, 0.75)
    cy = y + side * rng.uniform(0.25, 0.75)
    radius = side * rng.uniform(0.10, 0.16)
    yy, xx = np.ogrid[:height, :width]
    spot = np.exp(-(((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * radius**2))).astype(np.float32)
    frame += spot * 230


def empty_scene(width: int, height: int, rng: np.random.Generator | None = None) -> GrayFrame:
    """A frame with no code at all: most frames at a door look like this."""
    rng = rng or np.random.default_rng()
    frame = _background(width, height, rng) + rng.normal(0, 4, (height, width))
    return np.ascontiguousarray(np.clip(frame, 0, 255).astype(np.uint8))


def write_frames(frames: list[GrayFrame], folder: Path) -> list[Path]:
    """Write ``frames`` as numbered PNGs (``--camera FOLDER`` plays them in name order)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, frame in enumerate(frames):
        path = folder / f"frame-{index:04d}.png"
        if not cv2.imwrite(str(path), frame):
            raise OSError(f"could not write {path}")
        paths.append(path)
    return paths


def ticket_frames(
    tokens: list[str], width: int = 640, height: int = 480, gap: int = 3, seed: int = 0
) -> list[GrayFrame]:
    """For each token: one frame showing its code, then ``gap`` frames with no code.

    The gaps let the door's repeat-scan debounce see each ticket leave the camera.
    """
    rng = np.random.default_rng(seed)
    frames: list[GrayFrame] = []
    for token in tokens:
        frames.append(scene(token, width, height, None, rng))
        frames.extend(empty_scene(width, height, rng) for _ in range(gap))
    return frames


__all__ = [
    "QUIET_ZONE_MODULES",
    "Degradation",
    "empty_scene",
    "qr_image",
    "sample_keyring",
    "sample_token",
    "scene",
    "ticket_frames",
    "write_frames",
]
