"""QR decoders behind the ``Decoder`` protocol, and the registry that picks the default.

Both backends look for QR codes only (our tickets are QR; scanning every symbology costs pyzbar
about 50% more) and never raise, whatever the frame: empty, 1x1, colour, wrong dtype, huge.
Both read codes shown light-on-dark too (a phone in dark mode); docs/benchmarks.md has what it
costs on empty frames.
The default backend is the first of ``DECODERS`` that loads (:func:`make_decoder`): zxing-cpp,
which ``bench/scan_pipeline.py`` measures as the better one on every kind of frame.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from scanner_app.core.ports import Decoder, GrayFrame
from scanner_app.hardware.glare import Candidate, modules_across, rescue_crop
from scanner_app.hardware.imaging import shrink, to_gray

if TYPE_CHECKING:
    import zxingcpp

logger = logging.getLogger(__name__)

# A QR finder pattern is 7 modules wide and needs ~3 px per module: nothing smaller can hold a code.
MIN_SIDE = 21
# Larger frames are shrunk first: no camera we support sends more; decoding time grows with area.
MAX_SIDE = 4096


def as_gray(frame: object) -> GrayFrame | None:
    """``frame`` as a C-contiguous 2-D uint8 array, or None when it cannot hold a QR code."""
    if not isinstance(frame, np.ndarray) or frame.size == 0:
        return None
    array = frame
    if array.ndim == 3 and array.shape[2] in (3, 4):
        if array.dtype != np.uint8:
            return None
        array = to_gray(array)
    if array.ndim != 2:
        return None
    if array.dtype != np.uint8:
        if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.number):
            return None
        finite = np.nan_to_num(array.astype(np.float64), nan=0.0, posinf=255.0, neginf=0.0)
        array = np.clip(finite, 0, 255).astype(np.uint8)
    height, width = array.shape
    if min(height, width) < MIN_SIDE:
        return None
    if max(height, width) > MAX_SIDE:
        scale = MAX_SIDE / max(height, width)
        size = (max(MIN_SIDE, round(width * scale)), max(MIN_SIDE, round(height * scale)))
        array = shrink(array, size)
    return np.ascontiguousarray(array)


def _unique(texts: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(t for t in texts if t))


class PyzbarDecoder:
    """ZBar through pyzbar, QR only; the frame inverted when nothing was read (``invert_pass``:
    pyzbar offers no switch for light-on-dark codes)."""

    name = "pyzbar"

    def __init__(self, *, invert_pass: bool = True) -> None:
        from pyzbar import pyzbar  # the import fails without libzbar: let the registry see it

        self._pyzbar = pyzbar
        self._symbols = [pyzbar.ZBarSymbol.QRCODE]
        self._invert_pass = invert_pass

    def _read(self, gray: GrayFrame) -> list[str]:
        found = self._pyzbar.decode(gray, symbols=self._symbols)
        return [r.data.decode("utf-8", "replace") for r in found]

    def decode(self, frame: GrayFrame) -> list[str]:
        gray = as_gray(frame)
        if gray is None:
            return []
        try:
            texts = self._read(gray)
            if not texts and self._invert_pass:
                texts = self._read(np.invert(gray))
            return _unique(texts)
        except Exception:  # a decoder bug must never stop the door
            logger.exception("pyzbar failed on a %sx%s frame", *gray.shape[::-1])
            return []


class ZxingDecoder:
    """zxing-cpp, QR only, with two fallbacks for frames the first pass cannot read.

    1. Glare pass (``glare_pass``): when the first pass located a symbol but could not decode it
       (a checksum error, usually a bright spot on a phone screen), a crop around it is
       thresholded against its local dark and light levels and read again
       (:mod:`scanner_app.hardware.glare`). Lifts glare reads at error correction M from 65-73%
       to 86-92% per frame; it runs only on such frames, so empty frames cost nothing more.
    2. Histogram pass (``second_pass``): a GlobalHistogram read of the whole frame when nothing
       was decoded. Lifts low-contrast reads (FACTS.md: 35% -> 72% at 640x480) for a fraction
       of a millisecond.

    Light-on-dark codes (a phone in dark mode) are read by zxing-cpp's ``try_invert`` in the
    first pass: zxing-cpp looks again in an inverted copy of the bitmap it has already
    binarized. That lifts inverted codes from 0% to the clean read rate, and an empty frame
    costs 1.0-1.3x the plain decode, where a separate read of the inverted frame after the
    other passes (the pyzbar way) costs 1.35-3x (bench/scan_pipeline.py prints both;
    docs/benchmarks.md).

    ``try_rotate`` is off: QR detection is rotation-invariant already, rotation only helps 1-D
    codes. ``try_downscale`` stays on: it finds codes held close to the lens, and blurred ones.
    The QR family (Model 2, Micro QR, rMQR) is searched, not Model 2 alone: a glare-spoiled
    ticket code is often first seen as a Micro QR misreading of one finder pattern, which is
    what tells the glare pass where to look.
    """

    name = "zxing-cpp"

    def __init__(
        self, *, second_pass: bool = True, glare_pass: bool = True, try_invert: bool = True
    ) -> None:
        import zxingcpp

        self._zx = zxingcpp
        # The enum member, not a BarcodeFormats set: a set held until interpreter exit makes
        # nanobind print "leaked instance" warnings at shutdown. A set per call costs ~1 µs.
        self._format = zxingcpp.BarcodeFormat.QRCode
        self._second_pass = second_pass
        self._glare_pass = glare_pass
        self._try_invert = try_invert
        self.glare_passes = 0  # how often the glare pass ran (the bench reports it)

    def _read(
        self, gray: GrayFrame, binarizer: zxingcpp.Binarizer, *, errors: bool = False,
        invert: bool = False,
    ) -> list[zxingcpp.Barcode]:
        found: list[zxingcpp.Barcode] = self._zx.read_barcodes(
            gray,
            formats=self._zx.BarcodeFormats(self._format),
            try_rotate=False,
            try_downscale=True,
            try_invert=invert,
            binarizer=binarizer,
            return_errors=errors,
        )
        return found

    def _read_glare(self, gray: GrayFrame, failed: Sequence[zxingcpp.Barcode]) -> list[str]:
        candidates = [Candidate(_corners(b), modules_across(_version(b))) for b in failed]
        crop = rescue_crop(gray, candidates)
        self.glare_passes += 1
        if crop is None:
            return []
        return [b.text for b in self._read(crop, self._zx.Binarizer.FixedThreshold) if b.valid]

    def decode(self, frame: GrayFrame) -> list[str]:
        gray = as_gray(frame)
        if gray is None:
            return []
        try:
            binarizer = self._zx.Binarizer
            found = self._read(gray, binarizer.LocalAverage, errors=self._glare_pass,
                               invert=self._try_invert)
            texts = [b.text for b in found if b.valid]
            failed = [b for b in found if not b.valid]
            if not texts and failed:
                texts = self._read_glare(gray, failed)
            if not texts and self._second_pass:
                texts = [b.text for b in self._read(gray, binarizer.GlobalHistogram) if b.valid]
            return _unique(texts)
        except Exception:  # a decoder bug must never stop the door
            logger.exception("zxing-cpp failed on a %sx%s frame", *gray.shape[::-1])
            return []


def _version(barcode: zxingcpp.Barcode) -> str:
    extra = barcode.extra  # a dict for QR symbols; typed as object by zxing-cpp's stubs
    return str(extra.get("Version", "")) if isinstance(extra, dict) else ""


def _corners(barcode: zxingcpp.Barcode) -> np.ndarray:
    p = barcode.position
    points = (p.top_left, p.top_right, p.bottom_right, p.bottom_left)
    return np.array([(q.x, q.y) for q in points], dtype=np.float32)


DECODERS: dict[str, Callable[[], Decoder]] = {
    ZxingDecoder.name: ZxingDecoder,
    PyzbarDecoder.name: PyzbarDecoder,
}
AUTO = "auto"


def _loadable() -> Iterator[tuple[str, Decoder]]:
    """Each backend that loads on this machine, in ``DECODERS`` order (a missing libzbar just
    drops pyzbar)."""
    for name, factory in DECODERS.items():
        try:
            yield name, factory()
        except Exception as exc:  # ImportError, or OSError from a missing shared library
            logger.warning("decoder %s is unavailable: %s", name, exc)


def available_decoders() -> dict[str, Decoder]:
    """Every backend that loads on this machine, by name."""
    return dict(_loadable())


def make_decoder(name: str = AUTO) -> Decoder:
    """The backend called ``name``; for ``auto`` (or an unknown or unloadable name) the first
    backend of ``DECODERS`` that loads here: zxing-cpp, else pyzbar.

    The order is a measured fact, not a guess: ``bench/scan_pipeline.py`` measures both backends
    and prints whether it still holds (docs/door-app.md). It is not measured again at every start.
    """
    if name != AUTO and name in DECODERS:
        try:
            return DECODERS[name]()
        except Exception as exc:
            logger.warning("decoder %s failed to load (%s); using the preferred one", name, exc)
    elif name != AUTO:
        logger.warning("unknown decoder %r; using the preferred one", name)
    for _, decoder in _loadable():
        return decoder
    raise RuntimeError("no QR decoder is available: install zxing-cpp or libzbar0 + pyzbar")
