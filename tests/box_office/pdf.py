"""Read a printed PDF back as the door would read the paper: render each page to pixels with
Qt's own PDF module (QtPdf, in PySide6-Addons: no extra package), composite it on white paper,
and decode the QR codes on it with zxing-cpp (the door's decoder)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import zxingcpp
from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtPdf import QPdfDocument

DPI = 200


def page_images(path: Path, dpi: int = DPI) -> list[QImage]:
    document = QPdfDocument()
    assert document.load(str(path)) == QPdfDocument.Error.None_, f"cannot read {path}"
    images = []
    for page in range(document.pageCount()):
        points = document.pagePointSize(page)
        size = QSize(round(points.width() * dpi / 72), round(points.height() * dpi / 72))
        rendered = document.render(page, size)
        paper = QImage(size, QImage.Format.Format_RGB32)
        paper.fill(QColor("white"))
        painter = QPainter(paper)
        painter.drawImage(0, 0, rendered)
        painter.end()
        images.append(paper)
    document.close()
    return images


def gray(image: QImage) -> np.ndarray:
    g = image.convertToFormat(QImage.Format.Format_Grayscale8)
    array = np.frombuffer(g.constBits(), np.uint8).reshape(g.height(), g.bytesPerLine())
    return np.ascontiguousarray(array[:, : g.width()])


def qr_texts(path: Path) -> list[list[str]]:
    """The QR texts on each page, top to bottom."""
    pages = []
    for image in page_images(path):
        found = zxingcpp.read_barcodes(gray(image))
        pages.append([r.text for r in sorted(found, key=lambda r: r.position.top_left.y)])
    return pages
