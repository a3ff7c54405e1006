"""``scanner-app --self-test``: is this installed copy whole? One JSON report, exit 0 or 1.

Five checks, each in the same process the window would use (a frozen bundle fails here, at the
door of the shop, rather than in front of a queue of dancers). The first three are what a door
needs before its first scan, in the door's own order (the database before Qt):

1. ``data``    a scratch data folder is created, an encrypted (SQLCipher) door database is opened
               and migrated in it, and the folder is removed; the door's scan path (verify ->
               decide -> journal) is loaded and reads the sample text as no ticket;
2. ``window``  the main window is built and shown (offscreen when there is no display);
3. ``decode``  the bundled sample QR (``resources/self-test-qr.png``, no ticket in it) is read by
               both decoders, zxing-cpp and pyzbar (libzbar);

``start_to_ready_seconds`` is taken there: the window is up and a handheld (wedge) scan or a
camera frame can be decided offline. The rest proves the installed copy whole, after ready, as
the door loads them after its window (the camera on its own thread, printing on a sale):

4. ``camera``  Qt Multimedia's backend (FFmpeg), which opens the cameras, is loaded; how many
               cameras it sees is reported (none is not a failure: one may be plugged in later);
5. ``print``   a sample box-office ticket is printed to a PDF (Qt print support);

and the versions: app, Qt, PySide6, NumPy, zxing-cpp, zbar, SQLCipher.

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
from typing import NoReturn

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
    import numpy
    import PySide6
    import sqlcipher3
    from PySide6.QtCore import qVersion

    found = {
        "app": __version__,
        "qt": qVersion(),
        "pyside6": PySide6.__version__,
        "numpy": numpy.__version__,
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


def check_camera() -> str:
    from PySide6.QtMultimedia import QMediaDevices, QMediaFormat
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["scanner-app"])  # Qt Multimedia needs one
    decodable = QMediaFormat().supportedFileFormats(QMediaFormat.ConversionMode.Decode)
    if not decodable:
        raise RuntimeError("Qt Multimedia loaded no media backend: no camera could open")
    cameras = [device.description() for device in QMediaDevices.videoInputs()]
    app.processEvents()
    return f"media backend loaded; {len(cameras)} camera(s) found" + (
        f": {', '.join(cameras)}" if cameras else "")


def check_decode() -> str:
    from scanner_app.hardware.decoders import PyzbarDecoder, ZxingDecoder
    from scanner_app.hardware.imaging import read_gray

    sample = resource_path(SAMPLE_NAME)
    frame = read_gray(sample)
    if frame is None:
        raise RuntimeError(f"the sample QR {sample} is missing or unreadable")
    for decoder in (ZxingDecoder(), PyzbarDecoder()):
        texts = decoder.decode(frame)
        if texts != [SAMPLE_TEXT]:
            raise RuntimeError(f"{decoder.name} read {texts!r} from {sample.name}")
    return "zxing-cpp and pyzbar read the sample QR"


def check_data() -> str:
    from sqlalchemy import text

    from scanner_app.core.door import verification_claims
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
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if verification_claims(SAMPLE_TEXT) is not None:
        raise RuntimeError("the door's scan path read the self-test sample as a ticket")
    return (f"encrypted door database created with {tables} tables, then removed; the door's "
            "scan path is loaded")


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


# What a door needs before its first scan, in the door's order (database, then Qt) ...
READY_CHECKS: dict[str, Callable[[], str]] = {
    "data": check_data,
    "window": check_window,
    "decode": check_decode,
}
# ... and what the door loads after its window is up (the camera on the camera thread).
AFTER_READY_CHECKS: dict[str, Callable[[], str]] = {
    "camera": check_camera,
    "print": check_print,
}
CHECKS = {**READY_CHECKS, **AFTER_READY_CHECKS}


def seconds_since_start() -> float | None:
    """Seconds since this process started (Linux: from /proc; elsewhere None)."""
    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return round(uptime - start_ticks / os.sysconf("SC_CLK_TCK"), 3)


def _run_checks(checks: dict[str, Callable[[], str]], report: dict[str, object]) -> None:
    for name, check in checks.items():
        began = time.perf_counter()
        try:
            report[name] = {"ok": True, "detail": check()}
        except Exception as exc:  # every failure is reported, in words, and the run goes on
            logger.debug("self-test %s failed", name, exc_info=True)
            report[name] = {"ok": False, "reason": f"{type(exc).__name__}: {exc}"}
            report["ok"] = False
        report[name]["seconds"] = round(time.perf_counter() - began, 3)  # type: ignore[index]


def run() -> int:
    """Run every check, print one JSON report on stdout; 0 when all passed, else 1.

    The report says how long each check took, ``start_to_ready_seconds``: from the process's
    start to the ready checks passed (database, window, decoders), with the CPU used meanwhile
    (``start_to_ready_cpu_seconds``: on a busy machine it moves far less than the wall time),
    and ``start_to_report_seconds``: to every check passed."""
    report: dict[str, object] = {"ok": True}
    _run_checks(READY_CHECKS, report)
    report["start_to_ready_seconds"] = seconds_since_start()
    report["start_to_ready_cpu_seconds"] = round(time.process_time(), 3)
    _run_checks(AFTER_READY_CHECKS, report)
    report["start_to_report_seconds"] = seconds_since_start()
    try:
        report["versions"] = versions()
    except Exception as exc:
        report["versions"] = {"error": f"{type(exc).__name__}: {exc}"}
        report["ok"] = False
    report["frozen"] = bool(getattr(sys, "frozen", False))
    print(json.dumps(report, indent=2), flush=True)
    return 0 if report["ok"] else 1


def end_process(code: int) -> NoReturn:
    """End ``scanner-app --self-test`` right after its report, skipping the interpreter's
    teardown: nothing is left to save (the scratch folders are gone, the database closed), and
    tearing down ~1,000 modules, PySide6's wrappers and Qt Multimedia took 0.25-0.3 s of CPU
    after the report (0.5-0.7 s wall under load; installed copy, strace; source tree, rusage
    1.28 s total for 0.98 s at the report), i.e. a quarter of the command's time."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
