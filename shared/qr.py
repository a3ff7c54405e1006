"""Render a ticket token as a QR code (PNG or SVG), with the standard four-module quiet zone."""

from __future__ import annotations

import io

import qrcode
import qrcode.constants

QUIET_ZONE_MODULES = 4


def _code(token: str) -> qrcode.QRCode:  # type: ignore[type-arg]
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, border=QUIET_ZONE_MODULES
    )
    # A token is upper-case base32, so qrcode picks alphanumeric mode by itself.
    code.add_data(token, optimize=0)
    code.make(fit=True)
    return code


def qr_version(token: str) -> int:
    """The QR version (1 = 21x21 modules, 2 = 25x25, ...) ``token`` needs at level M."""
    version = _code(token).version
    assert version is not None
    return int(version)


def qr_matrix(token: str) -> list[list[bool]]:
    """The token's modules, True for dark, the quiet zone included (no imaging library needed:
    the door app's package leaves Pillow out)."""
    return [list(row) for row in _code(token).get_matrix()]


def render_png(token: str, box_size: int = 10) -> bytes:
    """PNG bytes, ``box_size`` pixels per module."""
    from qrcode.image.pil import PilImage  # Pillow: imported only where PNGs are made

    code = _code(token)
    code.box_size = box_size
    out = io.BytesIO()
    code.make_image(image_factory=PilImage).save(out)
    return out.getvalue()


def render_svg(token: str) -> bytes:
    """SVG bytes that scale to any size (one path, millimetre units)."""
    from qrcode.image.svg import SvgPathImage  # its XML library: only where SVGs are made

    out = io.BytesIO()
    _code(token).make_image(image_factory=SvgPathImage).save(out)
    return out.getvalue()
