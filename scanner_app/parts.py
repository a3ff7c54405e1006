"""What the door app is built from (``Parts``), and the real parts (``default_parts``).

Tests and benchmarks build their own ``Parts`` from real pieces (a door on a test server, a
folder of frames as the camera, PDF files as the printer).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scanner_app.core.pairing import open_paired_door, pair_and_download
from scanner_app.core.ports import (
    Decoder,
    DeskService,
    FrameSource,
    PairedDoor,
    PairFunction,
    Progress,
)
from scanner_app.hardware.camera import open_source
from scanner_app.hardware.decoders import make_decoder
from scanner_app.settings import Settings
from scanner_app.ui.ticket_print import DeskPrinter

# A folder: the box office "prints" PDF files there instead of on the default printer.
PRINT_TO_VARIABLE = "STEPPERSLIFE_DOOR_PRINT_TO"


@dataclass
class Parts:
    """What the app is built from; tests swap in their own (real) parts."""

    open_door: Callable[[], PairedDoor | None]  # after pairing; None: cannot be opened
    pair: PairFunction
    open_camera: Callable[[], FrameSource]
    decoder: Decoder
    sync_interval_ms: int = 15_000
    # the box office (docs/box-office.md): a desk on the paired server, and where tickets print
    open_desk: Callable[[], DeskService | None] | None = None
    printer: DeskPrinter | None = None
    start_on_sale_screen: bool = False  # a device paired as BOX_OFFICE


def default_parts(settings: Settings) -> Parts:
    from scanner_app.core.desk import open_desk

    data = settings.folders.data

    def pair(server: str, code: str, progress: Progress, /, *, device_name: str = "") -> None:
        pair_and_download(data, server, code, progress, device_name=device_name)

    folder = os.environ.get(PRINT_TO_VARIABLE)
    return Parts(
        open_door=lambda: open_paired_door(data),
        pair=pair,
        open_camera=lambda: open_source(
            settings.camera, width=settings.width, height=settings.height
        ),
        decoder=make_decoder(settings.decoder),
        open_desk=lambda: open_desk(data),
        printer=DeskPrinter(pdf_folder=Path(folder) if folder else None),
    )
