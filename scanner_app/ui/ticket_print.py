# mypy: allow-subclassing-any, allow-untyped-decorators
# (this PySide6 ships no type stubs, so mypy sees every Qt class as Any)
"""Printed tickets (Qt print support): an 80 mm receipt for the desk printer, or A4 / PDF.

Each ticket of a sale gets its QR (the signed token, ``shared.qr``), the night, the type, the
price and the ticket number; the receipt ends with the total, the cash and the change. Printing
never stops a sale: ``DeskPrinter.print_sale`` answers a ``PrintOutcome`` (ok, or words for the
seller: no printer, out of paper) and the ticket can be reprinted or e-mailed later.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
import zxingcpp
from PySide6.QtCore import QMarginsF, QRectF, QSizeF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPainterPath,
)
from PySide6.QtPrintSupport import QPrinter, QPrinterInfo

from scanner_app.core.box_office import IssuedTicket, Sale, SaleMode, money

logger = logging.getLogger(__name__)

RECEIPT_WIDTH_MM = 80.0
RECEIPT_TICKET_MM = 95.0  # height of one ticket on the receipt roll
BOLD = False  # one font face: each face embedded in a PDF costs milliseconds at every print


class Layout(StrEnum):
    RECEIPT = "receipt"  # 80 mm roll, one ticket after another
    A4 = "a4"  # one ticket per page (and what a PDF gets by default)


@dataclass(frozen=True, slots=True)
class PrintOutcome:
    ok: bool
    message: str = ""


def qr_modules(token: str) -> np.ndarray:
    """The token's QR modules (0 dark, 255 light, quiet zone included): zxing-cpp's writer, or
    ``shared.qr`` (pure Python, 20-50 ms: it tries all eight masks) without it."""
    try:
        code = zxingcpp.create_barcode(token, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
        return np.ascontiguousarray(code.to_image(scale=1, add_quiet_zones=True),
                                    dtype=np.uint8)
    except (AttributeError, RuntimeError, ValueError):
        from shared.qr import qr_matrix  # here only: qrcode costs the window's start ~40 ms

        dark = np.array(qr_matrix(token), dtype=bool)
        return np.ascontiguousarray(np.where(dark, 0, 255), dtype=np.uint8)


def draw_qr(painter: QPainter, box: QRectF, token: str) -> None:
    """The QR as vector squares (one path of runs per row): sharp at any printer resolution,
    and a few hundred bytes in a PDF instead of an image."""
    modules = qr_modules(token)
    size = modules.shape[0]
    unit = box.width() / size
    path = QPainterPath()
    for y, row in enumerate(modules < 128):
        x = 0
        while x < size:
            if row[x]:
                start = x
                while x < size and row[x]:
                    x += 1
                path.addRect(QRectF(box.left() + start * unit, box.top() + y * unit,
                                    (x - start) * unit, unit))
            x += 1
    painter.fillRect(box, QColor("white"))
    painter.fillPath(path, QColor("black"))


def qr_image(token: str, box_size: int = 10) -> QImage:
    """The token's QR (level M, 4-module quiet zone), ``box_size`` pixels per module.

    zxing-cpp's writer (the door's decoder library) makes it in a fraction of a millisecond;
    ``shared.qr`` (pure Python, 20-50 ms: it tries all eight masks) is the fallback.
    """
    modules = qr_modules(token)
    height, width = modules.shape
    small = QImage(modules.data, width, height, width, QImage.Format.Format_Grayscale8).copy()
    return small.scaled(width * box_size, height * box_size,
                        Qt.AspectRatioMode.IgnoreAspectRatio,
                        Qt.TransformationMode.FastTransformation)


def page_size(layout: Layout, tickets: int) -> QPageSize:
    if layout is Layout.A4:
        return QPageSize(QPageSize.PageSizeId.A4)
    height = RECEIPT_TICKET_MM * max(1, tickets) + 45.0
    return QPageSize(QSizeF(RECEIPT_WIDTH_MM, height), QPageSize.Unit.Millimeter, "Receipt")


def setup(printer: QPrinter, layout: Layout, tickets: int) -> None:
    margins = QMarginsF(4, 4, 4, 4) if layout is Layout.RECEIPT else QMarginsF(15, 15, 15, 15)
    printer.setPageLayout(QPageLayout(page_size(layout, tickets), QPageLayout.Orientation.Portrait,
                                      margins, QPageLayout.Unit.Millimeter))


def render(sale: Sale, printer: QPrinter, layout: Layout) -> None:
    """Paint ``sale`` on ``printer`` (already set up): raises RuntimeError if it cannot start."""
    painter = QPainter()
    if not painter.begin(printer):
        raise RuntimeError("the printer did not start (missing, offline or out of paper?)")
    try:
        dpi = printer.resolution()
        mm = dpi / 25.4
        area = printer.pageLayout().paintRectPixels(dpi)
        width = float(area.width())
        if layout is Layout.A4:
            for index, ticket in enumerate(sale.tickets):
                if index:
                    printer.newPage()
                _ticket(painter, sale, ticket, QRectF(0, 0, width, 150 * mm), mm, big=True)
            return
        y = 0.0
        for ticket in sale.tickets:
            _ticket(painter, sale, ticket, QRectF(0, y, width, RECEIPT_TICKET_MM * mm), mm,
                    big=False)
            y += RECEIPT_TICKET_MM * mm
        _summary(painter, sale, QRectF(0, y, width, 40 * mm), mm)
    finally:
        painter.end()


def _font(points: float, bold: bool = False) -> QFont:
    font = QFont("DejaVu Sans")
    font.setPointSizeF(points)
    font.setBold(bold and BOLD)
    return font


def _ticket(painter: QPainter, sale: Sale, ticket: IssuedTicket, box: QRectF, mm: float,
            *, big: bool) -> None:
    scale = 1.6 if big else 1.0
    painter.setFont(_font(11 * scale, bold=True))
    line = 6.5 * mm * scale
    y = box.top()
    painter.drawText(QRectF(box.left(), y, box.width(), line), Qt.AlignmentFlag.AlignLeft,
                     sale.night or "SteppersLife")
    y += line
    painter.setFont(_font(9 * scale))
    painter.drawText(QRectF(box.left(), y, box.width(), line), Qt.AlignmentFlag.AlignLeft,
                     f"{ticket.tier_name}  {money(ticket.price_cents)}")
    y += line
    side = min(box.width(), (110 if big else 60) * mm)
    draw_qr(painter, QRectF(box.left() + (box.width() - side) / 2, y, side, side), ticket.token)
    y += side + 1 * mm
    painter.setFont(_font(8 * scale))
    details = [f"Ticket {ticket.ticket_number}"]
    if sale.buyer_name:
        details.append(sale.buyer_name)
    details.append(f"{sale.order_number or 'Box office sale'}  "
                   f"{sale.sold_at.strftime('%Y-%m-%d %H:%M')} UTC"
                   + ("  (sold offline)" if sale.mode is SaleMode.OFFLINE else ""))
    for text in details:
        painter.drawText(QRectF(box.left(), y, box.width(), 5 * mm * scale),
                         Qt.AlignmentFlag.AlignLeft, text)
        y += 5 * mm * scale


def _summary(painter: QPainter, sale: Sale, box: QRectF, mm: float) -> None:
    painter.setFont(_font(9, bold=True))
    rows = [f"Total {money(sale.total_cents)}", f"Cash {money(sale.tendered_cents)}",
            f"Change {money(sale.change_cents)}", "Thank you. Show the QR at the door."]
    y = box.top() + 2 * mm
    for text in rows:
        painter.drawText(QRectF(box.left(), y, box.width(), 6 * mm), Qt.AlignmentFlag.AlignLeft,
                         text)
        y += 6 * mm


def print_to_pdf(sale: Sale, path: Path, layout: Layout = Layout.A4) -> Path:
    """Write ``sale``'s tickets to a PDF file (the A4 layout by default)."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(path))
    printer.setResolution(300)
    setup(printer, layout, len(sale.tickets))
    render(sale, printer, layout)
    return path


class DeskPrinter:
    """The desk's printer: the system's default printer, or PDF files in a folder (a desk
    without a printer, the tests and the benchmark). Never raises: a ``PrintOutcome``."""

    def __init__(self, *, pdf_folder: Path | None = None, layout: Layout = Layout.RECEIPT,
                 printer_name: str = "") -> None:
        self.pdf_folder = pdf_folder
        self.layout = layout
        self.printer_name = printer_name

    def print_sale(self, sale: Sale) -> PrintOutcome:
        try:
            if self.pdf_folder is not None:
                self.pdf_folder.mkdir(parents=True, exist_ok=True)
                path = self.pdf_folder / f"sale-{sale.sale_id}.pdf"
                print_to_pdf(sale, path, self.layout)
                return PrintOutcome(True, f"Saved {path.name}")
            info = (QPrinterInfo.printerInfo(self.printer_name) if self.printer_name
                    else QPrinterInfo.defaultPrinter())
            if info.isNull():
                return PrintOutcome(False, "No printer: the ticket is on screen; reprint or "
                                           "e-mail it later.")
            printer = QPrinter(info, QPrinter.PrinterMode.HighResolution)
            setup(printer, self.layout, len(sale.tickets))
            render(sale, printer, self.layout)
            if printer.printerState() == QPrinter.PrinterState.Error:
                return PrintOutcome(False, "The printer reported an error (paper?): reprint "
                                           "when it is fixed.")
            return PrintOutcome(True, f"Printed on {info.printerName()}")
        except Exception as exc:  # a printer fault must never undo or block a sale
            logger.exception("printing sale %s failed", sale.sale_id)
            return PrintOutcome(False, f"Not printed ({exc}): reprint or e-mail it later.")
