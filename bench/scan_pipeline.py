# mypy: allow-subclassing-any, allow-untyped-decorators
# (this PySide6 ships no type stubs, so mypy sees every Qt class as Any)
# ruff: noqa: E402  (sys.path must be fixed before any import: bench/token.py shadows stdlib `token`)
"""Door scanning figures: decode per backend, the decode -> verdict -> journal pipeline, the longest
GUI-thread stall while scanning at 30 fps, and start-up with 100,000 tickets cached.

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python bench/scan_pipeline.py [--quick]``.
Frames are synthetic but real: real signed tokens rendered by ``shared.qr`` into camera-like
scenes (``tests.support.synthetic``; light-on-dark codes are one of its degradations),
decoded by the real backends. Targets (issue #6):
verdict <= 10 ms median at 720p with the default backend, >= 97% read on degraded frames,
GUI stall <= 16 ms, start-up <= 2 s, <= 300 MB. The door database is encrypted (issue #13): the
last section (``bench/door_storage.py``) prints verdict + journal (<= 1 ms), lookup (<= 50 ms),
storing and opening, encrypted beside plain SQLite in the same run.
"""

from __future__ import annotations

import os
import sys

# Run as a script, bench/ would come first on sys.path and bench/token.py would shadow the
# standard library's `token`; put the project root there instead, before any other import.
sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import argparse
import json
import resource
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from bench.door_storage import build_door, storage_section
from scanner_app.core.ports import Decoder, GrayFrame
from scanner_app.hardware.decoders import AUTO, available_decoders, make_decoder
from scanner_app.settings import Folders, Settings
from tests.support.synthetic import (
    Degradation,
    empty_scene,
    sample_token,
    scene,
    ticket_frames,
    write_frames,
)

RESOLUTIONS = [(640, 480), (1280, 720)]
TARGET_VERDICT_MS = 10.0
TARGET_READ = 0.97
TARGET_STALL_MS = 16.0
TARGET_START_S = 2.0
TARGET_MB = 300.0
BENCH_SERVER = "http://127.0.0.1:9"  # nothing listens there: the app syncs offline, as at a door


@dataclass
class Figures:
    median_ms: float
    p99_ms: float
    read_rate: float
    fps: float


def timed(
    fn: Callable[[GrayFrame], list[str]], frames: Sequence[tuple[GrayFrame, str | None]]
) -> Figures:
    times: list[float] = []
    reads = 0
    for frame, expected in frames:
        start = time.perf_counter()
        texts = fn(frame)
        times.append((time.perf_counter() - start) * 1000)
        reads += (expected in texts) if expected else (texts == [])
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    return Figures(
        statistics.median(times), p99, reads / len(frames), 1000 / statistics.mean(times)
    )


def ratio(value: float, target: float, lower_is_better: bool = True) -> str:
    ok = value <= target if lower_is_better else value >= target
    return f"{'OK  ' if ok else 'MISS'} ({value / target:.2f}x target)"


def frames_for(
    width: int, height: int, kind: Degradation | str | None, n: int, seed: int
) -> list[tuple[GrayFrame, str | None]]:
    rng = np.random.default_rng(seed)
    if kind == "empty":
        return [(empty_scene(width, height, rng), None) for _ in range(n)]
    out: list[tuple[GrayFrame, str | None]] = []
    for i in range(n):
        token = sample_token(1000 + i)
        out.append((scene(token, width, height, kind, rng), token))  # type: ignore[arg-type]
    return out


def decode_section(decoders: dict[str, Decoder], n: int) -> dict[tuple[str, int], float]:
    print("\n== Decode, per frame (median / p99 ms, read rate, frames per second)")
    degraded_read: dict[tuple[str, int], list[float]] = {}
    kinds: list[Degradation | str | None] = [None, *Degradation, "empty"]
    for width, height in RESOLUTIONS:
        print(f"-- {width}x{height}")
        for kind in kinds:
            frames = frames_for(width, height, kind, n, seed=hash((width, str(kind))) & 0xFFFF)
            row = f"  {kind or 'clean'!s:<13}"
            for name, decoder in decoders.items():
                f = timed(decoder.decode, frames)
                row += (
                    f" | {name:<9} {f.median_ms:6.2f} / {f.p99_ms:6.2f} ms"
                    f" {f.read_rate:6.1%} {f.fps:6.0f} fps"
                )
                if isinstance(kind, Degradation):
                    degraded_read.setdefault((name, width), []).append(f.read_rate)
            print(row)
    print("-- all degraded kinds together, per frame")
    summary = {}
    for (name, width), rates in degraded_read.items():
        summary[(name, width)] = statistics.mean(rates)
        print(
            f"  {name:<9} {width}x{dict(RESOLUTIONS)[width]}: {statistics.mean(rates):6.1%}  "
            f"{ratio(statistics.mean(rates), TARGET_READ, False)}"
        )
    return summary


def glare_pass_section(n: int) -> None:
    """What zxing-cpp's glare pass (scanner_app/hardware/glare.py) buys, and what it costs."""
    from scanner_app.hardware.decoders import ZxingDecoder

    print("\n== zxing-cpp glare pass: off / on (median / p99 ms, read rate, passes run)")
    for width, height in RESOLUTIONS:
        for kind in (Degradation.GLARE, None, "empty"):
            frames = frames_for(width, height, kind, n, seed=31)
            row = f"  {width}x{height} {kind or 'clean'!s:<6}"
            for glare_pass in (False, True):
                decoder = ZxingDecoder(glare_pass=glare_pass)
                f = timed(decoder.decode, frames)
                row += (
                    f" | {'on ' if glare_pass else 'off'} {f.median_ms:5.2f} / {f.p99_ms:5.2f} ms"
                    f" {f.read_rate:6.1%} ({decoder.glare_passes} passes)"
                )
            print(row)


def interleaved(
    options: dict[str, Callable[[GrayFrame], list[str]]],
    frames: Sequence[tuple[GrayFrame, str | None]],
) -> dict[str, Figures]:
    """``timed`` for several ways at once, taking turns frame by frame, so that a busy machine
    slows each of them alike and their ratios hold."""
    runs: dict[str, list[Figures]] = {label: [] for label in options}
    for frame in frames:
        for label, fn in options.items():
            runs[label].append(timed(fn, [frame]))
    out = {}
    for label, figures in runs.items():
        ms = sorted(f.median_ms for f in figures)
        out[label] = Figures(statistics.median(ms), ms[min(len(ms) - 1, int(len(ms) * 0.99))],
                             statistics.mean(f.read_rate for f in figures),
                             1000 / statistics.mean(ms))
    return out


def inverted_section(n: int) -> None:
    """Light-on-dark codes (a phone in dark mode): what reading them costs, most of all on the
    empty frames a door sees most of the time. zxing-cpp: its ``try_invert`` in the first pass
    (the product's way) or a separate read of the inverted frame when nothing was read;
    pyzbar: that separate read (it has no switch)."""
    import zxingcpp

    from scanner_app.hardware.decoders import PyzbarDecoder, ZxingDecoder

    def zxing_then_inverted(frame: GrayFrame) -> list[str]:
        texts = plain.decode(frame)
        if texts:
            return texts
        found = zxingcpp.read_barcodes(
            cv2.bitwise_not(frame), formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode),
            try_rotate=False, try_invert=False, binarizer=zxingcpp.Binarizer.LocalAverage)
        return [b.text for b in found if b.valid]

    plain = ZxingDecoder(try_invert=False)
    options: dict[str, Callable[[GrayFrame], list[str]]] = {
        "zxing-cpp plain": plain.decode,
        "zxing-cpp try_invert (product)": ZxingDecoder().decode,
        "zxing-cpp + inverted pass": zxing_then_inverted,
    }
    if "pyzbar" in available_decoders():
        options["pyzbar plain"] = PyzbarDecoder(invert_pass=False).decode
        options["pyzbar + inverted pass (product)"] = PyzbarDecoder().decode
    print("\n== Light-on-dark codes (median ms; read rate; empty-frame cost against plain)")
    for width, height in RESOLUTIONS:
        sets = {kind: frames_for(width, height, kind, n, seed=41)
                for kind in (Degradation.INVERTED, None, "empty")}
        figures: dict[str, dict[str, Figures]] = {label: {} for label in options}
        for kind, frames in sets.items():
            for label, f in interleaved(options, frames).items():
                figures[label][str(kind)] = f
        print(f"-- {width}x{height}")
        for label, row in figures.items():
            base = figures[label.split(" ")[0] + " plain"]["empty"].median_ms
            print(f"  {label:<33} inverted {row['inverted'].median_ms:6.2f} ms "
                  f"{row['inverted'].read_rate:6.1%} | clean {row['None'].median_ms:6.2f} ms "
                  f"{row['None'].read_rate:6.1%} | empty {row['empty'].median_ms:6.2f} ms "
                  f"({row['empty'].median_ms / base:4.2f}x plain)")


def per_ticket_section(decoder: Decoder, n: int) -> None:
    """A ticket is held up for a moment: read if any of 5 consecutive frames reads."""
    print(f"\n== Per ticket (any of 5 consecutive frames, {decoder.name}, 1280x720)")
    rates = []
    for kind in Degradation:
        rng = np.random.default_rng(99)
        read = 0
        for i in range(n):
            token = sample_token(5000 + i)
            read += any(
                token in decoder.decode(scene(token, 1280, 720, kind, rng)) for _ in range(5)
            )
        rates.append(read / n)
        print(f"  {kind:<13} {read / n:6.1%}")
    print(
        f"  all degraded  {statistics.mean(rates):6.1%}  "
        f"{ratio(statistics.mean(rates), TARGET_READ, False)}"
    )


def preprocessing_section(decoder: Decoder, n: int) -> None:
    """Does shrinking or cropping a 720p frame buy speed without losing reads?"""
    print(f"\n== Pre-processing a 1280x720 frame before {decoder.name} (median ms, read rate)")
    kinds: list[Degradation | str | None] = [
        None,
        Degradation.SMALL,
        Degradation.NOISE,
        Degradation.PERSPECTIVE,
        "empty",
    ]

    def shrink(factor: float) -> Callable[[GrayFrame], GrayFrame]:
        def run(frame: GrayFrame) -> GrayFrame:
            small: GrayFrame = cv2.resize(
                frame, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA
            ).astype(np.uint8)
            return small

        return run

    options: dict[str, Callable[[GrayFrame], GrayFrame]] = {
        "full frame": lambda f: f,
        "downscale 1/2": shrink(0.5),
        "downscale 2/3": shrink(2 / 3),
        "centre crop 2/3": lambda f: f[
            f.shape[0] // 6 : -f.shape[0] // 6, f.shape[1] // 6 : -f.shape[1] // 6
        ],
    }
    for label, prepare in options.items():
        row = f"  {label:<16}"
        for kind in kinds:
            frames = frames_for(1280, 720, kind, n, seed=7)
            f = timed(lambda frame, p=prepare: decoder.decode(p(frame)), frames)  # type: ignore[misc]
            row += f" | {kind or 'clean'!s:<11} {f.median_ms:5.2f} ms {f.read_rate:6.1%}"
        print(row)


def pipeline_section(decoder: Decoder, n: int, tmp: Path) -> None:
    print(
        f"\n== Decode + verdict + journal (the real Door, SQLite WAL) at 1280x720 ({decoder.name})"
    )
    door = build_door(tmp / "pipeline", tickets=max(1000, n * 4))
    try:
        for kind in (None, Degradation.NOISE, "empty"):
            rng = np.random.default_rng(3)
            frames: list[tuple[GrayFrame, str | None]] = []
            for i in range(n):
                if kind == "empty":
                    frames.append((empty_scene(1280, 720, rng), None))
                    continue
                token = sample_token(1 + i + (n if kind else 0))
                frames.append((scene(token, 1280, 720, kind, rng), token))  # type: ignore[arg-type]

            def pipeline(frame: GrayFrame) -> list[str]:
                texts = decoder.decode(frame)
                for text in texts:
                    verdict = door.check(text, door="Bench", source="camera")
                    if not verdict.admitted:
                        raise AssertionError(f"bench ticket refused: {verdict}")
                return texts

            f = timed(pipeline, frames)
            print(
                f"  {kind or 'clean'!s:<8} median {f.median_ms:6.2f} ms  p99 {f.p99_ms:6.2f} ms  "
                f"{f.fps:5.0f} fps  read {f.read_rate:6.1%}  "
                f"{ratio(f.median_ms, TARGET_VERDICT_MS)}"
            )
        start = time.perf_counter()
        for i in range(200):
            door.check(sample_token(1 + i), door="Bench", source="camera")
        per_check = (time.perf_counter() - start) / 200 * 1000
        print(f"  verdict + journal alone (already-used tickets): {per_check:.3f} ms per scan")
    finally:
        door.close()


def gui_stall_section(tmp: Path, seconds: float) -> None:
    """The longest gap between GUI-thread timer ticks while the real app scans at 30 fps."""
    from PySide6.QtCore import QElapsedTimer, QObject, Qt, QTimer, Slot
    from PySide6.QtWidgets import QApplication

    from scanner_app.app import DoorApp, Parts
    from scanner_app.core.ports import PairedDoor
    from scanner_app.hardware.camera import FileCamera
    from scanner_app.settings import Folders, Settings
    from scanner_app.ui.sounds import SoundPlayer
    from scanner_app.ui.theme import style_sheet

    print(f"\n== GUI thread while scanning a 1280x720 camera at 30 fps for {seconds:.0f} s")
    qt_app = QApplication.instance() or QApplication([])
    assert isinstance(qt_app, QApplication)
    qt_app.setStyleSheet(style_sheet())
    folder = tmp / "camera-720p"
    tokens = [sample_token(50_000 + i) for i in range(12)]
    write_frames(ticket_frames(tokens, 1280, 720, gap=8, seed=5), folder)
    door = build_door(tmp / "stall", tickets=60_000)
    folders = Folders(tmp / "config", tmp / "data", tmp / "logs")
    parts = Parts(
        open_door=lambda: PairedDoor(door),
        pair=lambda *_args, **_kwargs: None,
        open_camera=lambda: FileCamera(folder, fps=30, loop=True),
        decoder=make_decoder("auto"),
    )
    app = DoorApp(Settings(folders), parts, sound=SoundPlayer(enabled=True))
    app.window.resize(1280, 800)
    app.start(PairedDoor(door))

    class Counter(QObject):
        """Counts answers on the GUI thread (a QObject slot, never a bare builtin)."""

        answers = 0

        @Slot(object)
        def count(self, _verdict: object) -> None:
            self.answers += 1

    counter = Counter()
    assert app.door_worker is not None
    app.door_worker.ticket_scanned.connect(counter.count)
    gaps: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed()]

    def tick() -> None:
        now = clock.nsecsElapsed()
        gaps.append((now - last[0]) / 1e6)
        last[0] = now

    ticker = QTimer()
    ticker.setTimerType(Qt.TimerType.PreciseTimer)
    ticker.setInterval(1)
    ticker.timeout.connect(tick)
    ticker.start()
    QTimer.singleShot(int(seconds * 1000), qt_app.quit)
    qt_app.exec()
    ticker.stop()
    frames = app.camera.frames_decoded if app.camera else 0
    shown = app.window.scan.camera.frames_shown
    app.stop()
    release_qt(app)
    gaps = gaps[10:]  # start-up settles
    worst = max(gaps) if gaps else float("nan")
    print(
        f"  frames decoded {frames} ({frames / seconds:.1f}/s), previews drawn {shown}, "
        f"answers {counter.answers}"
    )
    load = os.getloadavg()[0]
    cores = os.cpu_count() or 1
    print(
        f"  machine load average {load:.1f} on {cores} cores"
        + ("  (busy: a long gap may be the OS, not the app)" if load > cores else "")
    )
    print(
        f"  GUI timer gap: median {statistics.median(gaps):.2f} ms, "
        f"p99 {sorted(gaps)[int(len(gaps) * 0.99)]:.2f} ms, longest {worst:.2f} ms  "
        f"{ratio(worst, TARGET_STALL_MS)}"
    )


def release_qt(app: object) -> None:
    """Delete the window and its workers while Qt is still up: left to the interpreter's final
    garbage collection, PySide6 6.12 sometimes aborts ("bool_dealloc") after the figures print."""
    import gc

    from PySide6.QtWidgets import QApplication

    window = getattr(app, "window", None)
    if window is not None:
        window.close()
        window.deleteLater()
    QApplication.processEvents()
    del app, window
    gc.collect()


STARTUP_CHILD = "--startup-child"
STALL_CHILD = "--stall-child"


def stall_in_fresh_process(seconds: float) -> None:
    """The stall figure from a fresh process, like the real app: this bench's own heap (frames,
    earlier sections) would make Python's garbage collector pause longer than the app's does."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "STEPPERSLIFE_DOOR_NO_KEYRING": "1"}
    out = subprocess.run(
        [sys.executable, __file__, STALL_CHILD, str(seconds)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    print(out.stdout, end="")
    if out.returncode != 0:
        print(f"  (the measuring process exited with {out.returncode})")


def startup_child(home: Path) -> int:
    """Run in a fresh process: start the real app on ``home`` and report when it is ready."""
    start = time.perf_counter()
    from PySide6.QtCore import QObject, QTimer, Slot
    from PySide6.QtWidgets import QApplication

    from scanner_app.app import DoorApp, default_parts
    from scanner_app.core.pairing import open_paired_door
    from scanner_app.settings import Folders, Settings
    from scanner_app.ui.theme import style_sheet

    settings = Settings.load(Folders.for_user(home))
    paired = open_paired_door(settings.folders.data)  # before Qt, as scanner_app.app.main does
    qt_app = QApplication([])
    qt_app.setStyleSheet(style_sheet())
    app = DoorApp(settings, default_parts(settings))
    ready: dict[str, float] = {}

    class Probe(QObject):
        """On the GUI thread, so the door worker's status arrives queued, inside ``exec``."""

        @Slot(object)
        def on_status(self, status: object) -> None:
            if "ready" not in ready and getattr(status, "tickets_cached", 0) > 0:
                ready["ready"] = time.perf_counter() - start
                ready["tickets"] = float(getattr(status, "tickets_cached", 0))
                qt_app.quit()

    probe = Probe()
    app.start(paired)
    assert app.door_worker is not None, "the bench door is not paired"
    app.door_worker.status_changed.connect(probe.on_status)
    app.door_worker.request_status()
    QTimer.singleShot(60_000, qt_app.quit)  # never hang the bench
    qt_app.exec()
    app.stop()
    release_qt(app)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({**ready, "peak_rss_mb": rss_mb}))
    return 0


def startup_section(tmp: Path, tickets: int) -> None:
    print(f"\n== Start-up to ready with {tickets:,} tickets cached (a fresh process)")
    home = tmp / "startup-home"
    folders = Folders.for_user(home)
    folders.create()
    build_start = time.perf_counter()
    build_door(folders.data, tickets).close()
    print(f"  (building the cache took {time.perf_counter() - build_start:.1f} s, not counted)")
    frames = tmp / "startup-camera"
    write_frames([empty_scene(1280, 720, np.random.default_rng(0))], frames)
    Settings(folders, camera=str(frames)).save()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "STEPPERSLIFE_DOOR_NO_KEYRING": "1"}
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, STARTUP_CHILD, str(home)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    wall = time.perf_counter() - start
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"  process start to first answer-ready status: {wall:.2f} s wall "
        f"({figures['ready']:.2f} s after Python started)  {ratio(wall, TARGET_START_S)}"
    )
    print(f"  tickets reported: {int(figures['tickets']):,}")
    print(
        f"  peak memory (RSS): {figures['peak_rss_mb']:.0f} MB  "
        f"{ratio(figures['peak_rss_mb'], TARGET_MB)}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer frames, for a smoke run")
    parser.add_argument(STARTUP_CHILD, type=Path, help=argparse.SUPPRESS)
    parser.add_argument(STALL_CHILD, type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.startup_child:
        return startup_child(args.startup_child)
    if args.stall_child:
        with tempfile.TemporaryDirectory(prefix="scan-bench-stall-") as folder:
            gui_stall_section(Path(folder), seconds=args.stall_child)
        return 0
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("STEPPERSLIFE_DOOR_NO_KEYRING", "1")
    n = 10 if args.quick else 40
    decoders = available_decoders()
    default = make_decoder(AUTO).name
    print(f"backends: {', '.join(decoders)}; default (first that loads): {default}")
    read = decode_section(decoders, n)
    best = max(decoders, key=lambda name: sum(r for (d, _), r in read.items() if d == name))
    verdict = "holds" if best == default else f"does NOT hold: {best} read more"
    print(f"-- the product's preference order ({default} first) {verdict}")
    glare_pass_section(n * 2)
    inverted_section(n * 2)
    per_ticket_section(decoders[default], max(10, n // 2))
    preprocessing_section(decoders[default], n)
    with tempfile.TemporaryDirectory(prefix="scan-bench-") as folder:
        tmp = Path(folder)
        pipeline_section(decoders[default], n * 2, tmp)
        stall_in_fresh_process(seconds=3.0 if args.quick else 10.0)
        startup_section(tmp, tickets=10_000 if args.quick else 100_000)
        storage_section(tmp / "storage", tickets=10_000 if args.quick else 100_000)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
