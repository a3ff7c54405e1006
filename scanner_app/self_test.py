"""``scanner-app --self-test``: is this installed copy whole? One JSON report, exit 0 or 1.

Four checks, each in the same process the window would use (a frozen bundle fails here, at the
door of the shop, rather than in front of a queue of dancers):

1. ``window``  the main window is built and shown (offscreen when there is no display);
2. ``decode``  the bundled sample QR (``resources/self-test-qr.png``, no ticket in it) is read by
               both decoders, zxing-cpp and pyzbar (libzbar);
3. ``data``    a scratch data folder is created, an encrypted (SQLCipher) door database is opened
               and migrated in it, and the folder is removed;
4. versions    app, Qt, PySide6, OpenCV, zxing-cpp, zbar, SQLCipher.

A failed check names its reason; the others still run, so one run shows everything broken.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from scanner_app import __version__
from scanner_app.ui.resources import resource_path

logger = logging.getLogger(__name__)

SAMPLE_NAME = "self-test-qr.png"
SAMPLE_TEXT = "SteppersLife Door self-test: not a ticket"


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


def _zbar_version() -> str:
    from pyzbar import pyzbar

    library = pyzbar.EXTERNAL_DEPENDENCIES[0]
    # zbar >= 0.23 takes (major, minor, patch); older ones two: the extra pointer is harmless.
    parts = [ctypes.c_uint(0) for _ in range(3)]
    library.zbar_version(*(ctypes.byref(p) for p in parts))
    return ".".join(str(p.value) for p in parts)


def versions() -> dict[str, str]:
    import cv2
    import PySide6
    import sqlcipher3
    from PySide6.QtCore import qVersion

    found = {
        "app": __version__,
        "qt": qVersion(),
        "pyside6": PySide6.__version__,
        "opencv": cv2.__version__,
        "zxing_cpp": _package_version("zxing-cpp"),
        "sqlite": sqlcipher3.sqlite_version,
    }
    try:
        found["zbar"] = _zbar_version()
    except Exception as exc:  # no libzbar: the decode check says so in words
        found["zbar"] = f"missing ({exc})"
    connection = sqlcipher3.connect(":memory:")
    try:
        found["sqlcipher"] = str(connection.execute("PRAGMA cipher_version").fetchone()[0])
    finally:
        connection.close()
    return found


def check_window() -> str:
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from scanner_app.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(["scanner-app"])
    window = MainWindow("self-test")
    try:
        window.show()
        app.processEvents()
        if not window.isVisible():
            raise RuntimeError("the main window did not show")
        return f"shown on the {QApplication.platformName()} platform"
    finally:
        window.close()
        window.deleteLater()
        app.processEvents()


def check_decode() -> str:
    import cv2
    import numpy as np

    from scanner_app.hardware.decoders import PyzbarDecoder, ZxingDecoder

    sample = resource_path(SAMPLE_NAME)
    image = cv2.imread(str(sample), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise RuntimeError(f"the sample QR {sample} is missing or unreadable")
    frame = np.ascontiguousarray(image, dtype=np.uint8)
    for decoder in (ZxingDecoder(), PyzbarDecoder()):
        texts = decoder.decode(frame)
        if texts != [SAMPLE_TEXT]:
            raise RuntimeError(f"{decoder.name} read {texts!r} from {sample.name}")
    return "zxing-cpp and pyzbar read the sample QR"


def check_data() -> str:
    from sqlalchemy import text

    from scanner_app.storage.database import open_engine

    scratch = Path(tempfile.mkdtemp(prefix="scanner-app-self-test-"))
    try:
        engine = open_engine(scratch, "self-test", secrets.token_hex(32))
        try:
            with engine.connect() as connection:
                tables = connection.execute(
                    text("SELECT count(*) FROM sqlite_master WHERE type = 'table'")).scalar()
        finally:
            engine.dispose()
        return f"encrypted door database created with {tables} tables, then removed"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def check_print() -> str:
    """The box office's printing (Qt print support): a sample ticket to a PDF."""
    from datetime import UTC, datetime

    from scanner_app.core.box_office import IssuedTicket, Sale, SaleMode, SaleState
    from scanner_app.ui.ticket_print import Layout, print_to_pdf

    scratch = Path(tempfile.mkdtemp(prefix="scanner-app-self-test-"))
    try:
        sale = Sale("self-test", SaleMode.ONLINE, SaleState.COMPLETED, datetime.now(UTC), 1,
                    "Self-test", "", 0, 0, (IssuedTicket(1, "T-1", 1, "Sample", 0,
                                                          SAMPLE_TEXT),))
        path = print_to_pdf(sale, scratch / "ticket.pdf", Layout.RECEIPT)
        size = path.stat().st_size
        if size < 500:
            raise RuntimeError(f"the printed ticket is only {size} bytes")
        return f"a sample ticket printed to an 80 mm PDF ({size:,} bytes)"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


CHECKS: dict[str, Callable[[], str]] = {
    "window": check_window,
    "decode": check_decode,
    "data": check_data,
    "print": check_print,
}


def seconds_since_start() -> float | None:
    """Seconds since this process started (Linux: from /proc; elsewhere None)."""
    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return round(uptime - start_ticks / os.sysconf("SC_CLK_TCK"), 3)


def run() -> int:
    """Run every check, print one JSON report on stdout; 0 when all passed, else 1. The
    report says how long each check took and ``start_to_ready_seconds``: from the process's
    start to every check passed (window shown, decoders and database working)."""
    report: dict[str, object] = {"ok": True}
    for name, check in CHECKS.items():
        began = time.perf_counter()
        try:
            report[name] = {"ok": True, "detail": check()}
        except Exception as exc:  # every failure is reported, in words, and the run goes on
            logger.debug("self-test %s failed", name, exc_info=True)
            report[name] = {"ok": False, "reason": f"{type(exc).__name__}: {exc}"}
            report["ok"] = False
        report[name]["seconds"] = round(time.perf_counter() - began, 3)  # type: ignore[index]
    report["start_to_ready_seconds"] = seconds_since_start()
    # The CPU the process used to get there: moves far less than the wall time on a busy machine
    report["start_to_ready_cpu_seconds"] = round(time.process_time(), 3)
    try:
        report["versions"] = versions()
    except Exception as exc:
        report["versions"] = {"error": f"{type(exc).__name__}: {exc}"}
        report["ok"] = False
    report["frozen"] = bool(getattr(sys, "frozen", False))
    print(json.dumps(report, indent=2))
    return 0 if report["ok"] else 1
