"""Printed tickets: both layouts printed to PDF, rendered back to pixels, and every ticket's QR
decoded to its exact token (the door would admit the paper). A missing printer never fails."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from scanner_app.core.box_office import IssuedTicket, Sale, SaleMode, SaleState
from scanner_app.ui.ticket_print import DeskPrinter, Layout, print_to_pdf
from tests.box_office.conftest import ARTIFACTS
from tests.box_office.pdf import page_images, qr_texts
from tests.support.synthetic import sample_token


def a_sale(tickets: int = 2, mode: SaleMode = SaleMode.ONLINE) -> Sale:
    issued = tuple(IssuedTicket(100 + i, f"T7K2-{i:04d}", 1, "Weekend pass", 2500,
                                sample_token(100 + i, 1)) for i in range(tickets))
    return Sale("0b9f6c1e-5d0c-4d55-9a55-3c2f1c0d9e01", mode, SaleState.COMPLETED,
                datetime(2026, 12, 4, 2, 15, tzinfo=UTC), 1, "Friday Night Steppers",
                "SL-ABCDE-FGHJK", 2500 * tickets, 6000, issued, buyer_name="Ann Lee")


@pytest.mark.parametrize("layout", list(Layout))
def test_every_printed_qr_decodes_to_its_ticket(qtbot: QtBot, tmp_path: Path,
                                                layout: Layout) -> None:
    sale = a_sale(2)
    path = print_to_pdf(sale, tmp_path / f"tickets-{layout}.pdf", layout)
    pages = qr_texts(path)
    tokens = [t.token for t in sale.tickets]
    if layout is Layout.A4:  # one ticket per page
        assert pages == [[tokens[0]], [tokens[1]]]
    else:  # one receipt, tickets one after another
        assert pages == [tokens]
    ARTIFACTS.mkdir(exist_ok=True)
    page_images(path, dpi=100)[0].save(str(ARTIFACTS / f"box_office_ticket_{layout}.png"))


def test_the_receipt_is_80_mm_wide(qtbot: QtBot, tmp_path: Path) -> None:
    from PySide6.QtPdf import QPdfDocument

    path = print_to_pdf(a_sale(3), tmp_path / "r.pdf", Layout.RECEIPT)
    document = QPdfDocument()
    document.load(str(path))
    width_mm = document.pagePointSize(0).width() / 72 * 25.4
    assert abs(width_mm - 80) < 1, width_mm


def test_a_missing_printer_says_so_and_never_raises(qtbot: QtBot, tmp_path: Path) -> None:
    outcome = DeskPrinter(printer_name="no-such-printer-at-this-desk").print_sale(a_sale(1))
    assert not outcome.ok and "reprint" in outcome.message
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the PDF folder should be")
    outcome = DeskPrinter(pdf_folder=blocked).print_sale(a_sale(1))
    assert not outcome.ok and "reprint" in outcome.message
    outcome = DeskPrinter(pdf_folder=tmp_path / "pdfs").print_sale(a_sale(1))
    assert outcome.ok and (tmp_path / "pdfs").is_dir()


def test_qr_modules_without_zxing_writer_come_from_shared_qr_and_read_back(monkeypatch) -> None:
    import numpy as np
    import zxingcpp

    from scanner_app.ui import ticket_print

    token = "ABCDEFGHJKLMNPQRSTUVWXYZ234567ABCD"
    written = ticket_print.qr_modules(token)

    def no_writer(*_args, **_kwargs):
        raise RuntimeError("this zxing-cpp has no writer")

    monkeypatch.setattr(zxingcpp, "create_barcode", no_writer)
    fallback = ticket_print.qr_modules(token)
    assert fallback.dtype == np.uint8 and set(np.unique(fallback)) == {0, 255}
    assert fallback.shape == written.shape  # same version, same 4-module quiet zone
    scaled = np.ascontiguousarray(np.kron(fallback, np.ones((4, 4), np.uint8)))
    assert [code.text for code in zxingcpp.read_barcodes(scaled)] == [token]
    image = ticket_print.qr_image(token, box_size=3)
    assert image.width() == 3 * written.shape[1]
