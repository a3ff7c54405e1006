"""The sale screen, offscreen, in the real app (``DoorApp``), selling through the real sync server
over a real socket (``LiveServer``): a seller signs in, a two-ticket sale takes at most 12 key
presses (counted: every press is a real key event to the focused widget) or taps, the ticket is
printed (to PDF, its QR decoded) and shown large; a refusal is shown in words; a sale while the
server is away is made from stock. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from scanner_app.core.box_office import SaleMode, SaleState
from scanner_app.core.desk import Desk
from scanner_app.core.door import Door
from scanner_app.core.ports import PairedDoor
from scanner_app.hardware.camera import FileCamera
from scanner_app.hardware.decoders import ZxingDecoder
from scanner_app.settings import Folders, Settings
from scanner_app.ui.sounds import SoundPlayer
from scanner_app.ui.theme import style_sheet
from scanner_app.ui.ticket_print import DeskPrinter, Layout
from tests.box_office.conftest import ARTIFACTS, BoxWorld, open_desk_on
from tests.box_office.pdf import qr_texts
from tests.scanner_core.real_server import LiveServer

MAX_PRESSES = 12
KEYS = {"\n": Qt.Key.Key_Return}


class Seller:
    """Presses keys and taps buttons as a seller would, and counts every one."""

    def __init__(self, qtbot: QtBot, screen: QWidget) -> None:
        self.qtbot = qtbot
        self.screen = screen
        self.presses = 0

    def focused(self) -> QWidget:
        widget = QApplication.focusWidget()
        return widget if widget is not None else self.screen

    def press(self, keys: str) -> None:
        for key in keys:
            target = self.focused()
            if key in KEYS:
                self.qtbot.keyClick(target, KEYS[key])
            else:
                self.qtbot.keyClick(target, key)
            self.presses += 1
            self.qtbot.wait(60)  # a person's pace: the wedge filter replays typing after 35 ms

    def tap(self, button: QWidget) -> None:
        self.qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        self.presses += 1
        self.qtbot.wait(30)


@pytest.fixture
def desk_app(qtbot: QtBot, world: BoxWorld, live: LiveServer, data_dir: Path,
             tmp_path: Path) -> Iterator[Callable[..., object]]:
    import numpy as np

    from scanner_app.app import DoorApp, Parts
    from tests.support.synthetic import empty_scene, write_frames

    with httpx.Client(base_url=live.url, timeout=5.0) as client:
        world.pair(data_dir, client)
    idle = tmp_path / "idle"
    write_frames([empty_scene(320, 240, np.random.default_rng(0))], idle)
    folders = Folders(tmp_path / "config", data_dir, tmp_path / "logs")
    folders.create()
    settings = Settings(folders, camera="unused")
    apps: list[DoorApp] = []
    clients: list[httpx.Client] = []

    def make() -> DoorApp:
        door = Door.open(data_dir)

        def open_desk() -> Desk:
            client = httpx.Client(base_url=live.url, timeout=httpx.Timeout(5.0, connect=1.0))
            clients.append(client)
            return open_desk_on(data_dir, client)

        parts = Parts(open_door=lambda: PairedDoor(door, None), pair=lambda *a, **k: None,
                      open_camera=lambda: FileCamera(idle, fps=5, loop=True),
                      decoder=ZxingDecoder(), sync_interval_ms=60_000, open_desk=open_desk,
                      printer=DeskPrinter(pdf_folder=tmp_path / "printed",
                                          layout=Layout.RECEIPT),
                      start_on_sale_screen=True)
        app = DoorApp(settings, parts, sound=SoundPlayer(enabled=False))
        apps.append(app)
        qt = QApplication.instance()
        assert isinstance(qt, QApplication)
        qt.setStyleSheet(style_sheet())
        app.start(PairedDoor(door, None))
        app.window.resize(1280, 800)
        app.window.activateWindow()
        qtbot.waitExposed(app.window)
        return app

    yield make
    for app in apps:
        app.stop()
        app.window.close()
    for client in clients:
        client.close()


def shot(widget: QWidget, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    QApplication.processEvents()
    assert widget.grab().toImage().save(str(ARTIFACTS / f"{name}.png"))


def sign_in(qtbot: QtBot, app, world: BoxWorld) -> None:  # type: ignore[no-untyped-def]
    sale = app.window.sale
    qtbot.waitUntil(lambda: app.window.stack.currentWidget() is sale, timeout=5000)
    qtbot.waitUntil(lambda: sale.pages.currentWidget() is sale.sign_in, timeout=5000)
    qtbot.waitUntil(lambda: sale.event_choice.count() == 1, timeout=5000)
    shot(app.window, "box_office_sign_in")
    sale.email_edit.setText(world.email)
    sale.sign_in_code.setText(world.code())
    qtbot.mouseClick(sale.sign_in_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: sale.pages.currentWidget() is sale.entry, timeout=10_000)
    qtbot.waitUntil(lambda: len(sale.tier_buttons) == 2, timeout=10_000)


def test_a_two_ticket_cash_sale_takes_at_most_12_key_presses(
    qtbot: QtBot, desk_app: Callable[..., object], world: BoxWorld, tmp_path: Path
) -> None:
    app = desk_app()
    sign_in(qtbot, app, world)
    sale_screen = app.window.sale  # type: ignore[attr-defined]
    sale_screen.setFocus()
    seller = Seller(qtbot, sale_screen)
    code = world.code()
    seller.press("11")  # two of ticket type 1
    assert "2 ×" in sale_screen.cart_label.text() and "$50.00" in sale_screen.total_label.text()
    seller.press("\n")  # to Cash
    seller.press("60\n")  # a $60 note... well, notes: the change shows
    assert "Change $10.00" in sale_screen.change_label.text()
    shot(app.window, "box_office_sale_entry")  # type: ignore[attr-defined]
    seller.press(code + "\n")  # the seller's code: sold
    qtbot.waitUntil(lambda: sale_screen.pages.currentWidget() is sale_screen.done, timeout=10_000)
    assert seller.presses <= MAX_PRESSES, seller.presses
    sale = sale_screen.last_sale
    assert sale is not None and sale.state is SaleState.COMPLETED and len(sale.tickets) == 2
    assert "change $10.00" in sale_screen.done_title.text()
    assert sale_screen.done_qr.pixmap().width() >= 480  # shown large, to photograph
    qtbot.waitUntil(lambda: (tmp_path / "printed" / f"sale-{sale.sale_id}.pdf").exists(),
                    timeout=5000)
    printed = qr_texts(tmp_path / "printed" / f"sale-{sale.sale_id}.pdf")
    assert printed == [[t.token for t in sale.tickets]]
    shot(app.window, "box_office_sold")  # type: ignore[attr-defined]
    stored = [s for s in world.server_sales() if s["client_sale_id"] == sale.sale_id]
    assert len(stored) == 1 and stored[0]["status"] == "COMPLETED"

    # the next buyer, by touch: two taps on the tier, "Exact", the code, Sell
    seller.presses = 0
    seller.press("\n")  # next sale
    assert sale_screen.pages.currentWidget() is sale_screen.entry
    seller.presses = 0
    seller.tap(sale_screen.tier_buttons[0])
    seller.tap(sale_screen.tier_buttons[0])
    seller.tap(sale_screen.cash_buttons[0])  # Exact
    seller.press(code)
    seller.tap(sale_screen.sell_button)
    qtbot.waitUntil(lambda: sale_screen.pages.currentWidget() is sale_screen.done, timeout=10_000)
    assert seller.presses <= MAX_PRESSES, seller.presses
    assert sale_screen.last_sale.sale_id != sale.sale_id
    qtbot.waitUntil(lambda: "2 sales · 4 tickets" in sale_screen.totals_label.text(),
                    timeout=5000)


def test_a_refusal_is_shown_in_words_and_nothing_is_sold(
    qtbot: QtBot, desk_app: Callable[..., object], world: BoxWorld
) -> None:
    app = desk_app()
    sign_in(qtbot, app, world)
    sale_screen = app.window.sale  # type: ignore[attr-defined]
    sale_screen.setFocus()
    seller = Seller(qtbot, sale_screen)
    seller.press("1\n")
    seller.press("10\n")  # $10 for a $25 ticket
    seller.press(world.code() + "\n")
    assert "less than the total" in sale_screen.message.text()
    sale_screen.cash_edit.clear()
    sale_screen.code_edit.setText(world.wrong_code())
    qtbot.mouseClick(sale_screen.sell_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "code" in sale_screen.message.text(), timeout=5000)
    assert sale_screen.pages.currentWidget() is sale_screen.entry
    shot(app.window, "box_office_refused")  # type: ignore[attr-defined]
    assert world.server_sales() == []


def test_the_server_away_a_sale_is_made_from_stock(
    qtbot: QtBot, desk_app: Callable[..., object], world: BoxWorld, live: LiveServer
) -> None:
    app = desk_app()
    sign_in(qtbot, app, world)
    sale_screen = app.window.sale  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: any(t.stock for t in sale_screen.tiers), timeout=10_000)
    live.stop()
    sale_screen.setFocus()
    seller = Seller(qtbot, sale_screen)
    seller.press("1\n\n" + world.code() + "\n")
    qtbot.waitUntil(lambda: sale_screen.pages.currentWidget() is sale_screen.done, timeout=10_000)
    sale = sale_screen.last_sale
    assert sale.mode is SaleMode.OFFLINE and "offline" in sale_screen.done_info.text()
    qtbot.waitUntil(lambda: sale_screen.badge.online is False, timeout=5000)
    shot(app.window, "box_office_sold_offline")  # type: ignore[attr-defined]


def test_codes_scanned_at_the_desk_admit_nobody_and_the_night_ends_with_a_report(
    qtbot: QtBot, desk_app: Callable[..., object], world: BoxWorld
) -> None:
    app = desk_app()
    sign_in(qtbot, app, world)
    sale_screen = app.window.sale  # type: ignore[attr-defined]
    sale_screen.setFocus()
    seller = Seller(qtbot, sale_screen)
    seller.press("2\n\n" + world.code() + "\n")  # one VIP, exact cash
    qtbot.waitUntil(lambda: sale_screen.pages.currentWidget() is sale_screen.done, timeout=10_000)
    token = sale_screen.last_sale.tickets[0].token
    app.scan_code(token, "wedge")  # type: ignore[attr-defined]
    app.door_worker.check_camera_code(token)  # type: ignore[attr-defined]
    qtbot.wait(200)
    assert app.door.status().admitted == 0  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: "1 sale" in sale_screen.totals_label.text(), timeout=5000)
    qtbot.mouseClick(sale_screen.report_button, Qt.MouseButton.LeftButton)
    shell = app.desk_shell  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: shell.report_box is not None
                    and "stock ticket(s) handed back" in shell.report_box.text(), timeout=10_000)
    text = shell.report_box.text()
    assert "Sam Seller" in text and "Cash taken: $60.00" in text, text
    assert "VIP: 1 x = $60.00" in text, text
    shot(shell.report_box, "box_office_end_of_night")
    qtbot.mouseClick(sale_screen.door_button, Qt.MouseButton.LeftButton)
    assert app.window.stack.currentWidget() is app.window.scan  # type: ignore[attr-defined]
    app.scan_code(token, "wedge")  # at the door, the ticket is admitted
    qtbot.waitUntil(lambda: app.door.status().admitted == 1, timeout=5000)  # type: ignore[attr-defined]
