# mypy: allow-subclassing-any, allow-untyped-decorators
# (this PySide6 ships no type stubs, so mypy sees every Qt class as Any)
"""The box-office sale screen, for a queue at a folding table. Keyboard or touch:

    1..9          add one ticket of that tier (tap its button)   - / Backspace  one fewer
    PgUp / PgDn   previous / next night (tap the night)          Enter          to Cash
    Cash: Enter   exact change, or type the notes (50 Enter)     Code: 4 digits, Enter: sold
    After a sale: Enter or Esc starts the next one; R reprints; the QR is shown large.

A two-ticket sale with exact cash is 9 key presses (1 1 Enter Enter 4 digits Enter).
It holds no rules: the cart and every check are ``scanner_app.core.box_office``; the sale
itself goes to the desk worker (``request_sale``), which answers ``show_sale``/``show_refusal``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from scanner_app.core.box_office import (
    Cart,
    Sale,
    SaleMode,
    SaleRefused,
    SaleRequest,
    SellerTotals,
    Tier,
    build_request,
    money,
    parse_cash,
)
from scanner_app.ui.sale_done import QR_SIDE, SoldPanel
from scanner_app.ui.seller_sign_in import SignInForm
from scanner_app.ui.status_strip import OnlineBadge
from scanner_app.ui.ticket_print import PrintOutcome, qr_image

MAX_TIER_KEYS = 9


class SaleScreen(QWidget):
    """Signals: ``sign_in_requested(int, str, str, str)``, ``sale_requested(SaleRequest)``,
    ``reprint_requested(str)``, ``void_requested(str, str)``, ``report_requested()``,
    ``door_requested()``."""

    sign_in_requested = Signal(int, str, str, str)  # event id, e-mail, code, password
    sale_requested = Signal(object)
    reprint_requested = Signal(str)
    void_requested = Signal(str, str)
    report_requested = Signal()
    door_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.tiers: list[Tier] = []
        self.nights: list[tuple[int, str]] = []
        self.night_index = 0
        self.cart = Cart()
        self.busy = False
        self.last_sale: Sale | None = None
        self.shown_ticket = 0

        self.badge = OnlineBadge()
        self.title = QLabel("Box office")
        self.title.setObjectName("heading")
        self.totals_label = QLabel("")
        self.totals_label.setObjectName("hint")
        self.report_button = QPushButton("End of night")
        self.door_button = QPushButton("Door")
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.totals_label)
        header.addWidget(self.badge)
        header.addWidget(self.report_button)
        header.addWidget(self.door_button)

        self.night_row = QHBoxLayout()
        self.tier_grid = QGridLayout()
        self.tier_buttons: list[QPushButton] = []
        left = QVBoxLayout()
        left.addLayout(self.night_row)
        left.addLayout(self.tier_grid)
        left.addStretch(1)

        self.cart_label = QLabel("No tickets yet: press 1-9 or tap a ticket type.")
        self.cart_label.setWordWrap(True)
        self.total_label = QLabel(money(0))
        self.total_label.setObjectName("heading")
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("Buyer name (optional)")
        self.contact_edit = QLineEdit()
        self.contact_edit.setPlaceholderText("E-mail or phone (optional: e-mails the ticket)")
        self.cash_edit = QLineEdit()
        self.cash_edit.setPlaceholderText("Cash: Enter = exact")
        self.change_label = QLabel("")
        self.change_label.setObjectName("eventName")
        self.code_edit = QLineEdit()
        self.code_edit.setPlaceholderText("Seller code")
        self.code_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.code_edit.setMaxLength(4)
        self.sell_button = QPushButton("Sell")
        self.sell_button.setObjectName("primary")
        self.cash_buttons = [QPushButton(label) for label in ("Exact", "$20", "$50", "$100")]
        cash_row = QHBoxLayout()
        for button in self.cash_buttons:
            cash_row.addWidget(button)
            button.clicked.connect(lambda _=False, b=button: self._quick_cash(b.text()))
        self.message = QLabel("")
        self.message.setObjectName("error")
        self.message.setWordWrap(True)
        right = QVBoxLayout()
        for widget in (self.cart_label, self.total_label, self.name_edit, self.contact_edit,
                       self.cash_edit):
            right.addWidget(widget)
        right.addLayout(cash_row)
        for last in (self.change_label, self.code_edit, self.sell_button, self.message):
            right.addWidget(last)
        right.addStretch(1)
        entry = QWidget()
        body = QHBoxLayout(entry)
        body.addLayout(left, 3)
        body.addLayout(right, 2)

        self.done = SoldPanel()
        done = self.done
        self.done_title, self.done_qr, self.done_info = done.title, done.qr, done.info
        self.print_label, self.void_reason = done.print_label, done.void_reason
        self.next_ticket_button, self.reprint_button = done.next_ticket_button, done.reprint
        self.void_button, self.new_sale_button = done.void_button, done.new_sale_button

        self.sign_in = SignInForm()
        self.sign_in.sign_in_requested.connect(self.sign_in_requested)
        self.event_choice, self.email_edit = self.sign_in.event_choice, self.sign_in.email_edit
        self.sign_in_code, self.sign_in_button = self.sign_in.code_edit, self.sign_in.button

        self.pages = QStackedWidget()
        self.pages.addWidget(self.sign_in)
        self.pages.addWidget(entry)
        self.pages.addWidget(self.done)
        self.entry = entry
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.pages, 1)

        self.cash_edit.returnPressed.connect(self._cash_entered)
        self.cash_edit.textChanged.connect(lambda _t: self._show_cart())
        self.code_edit.returnPressed.connect(self.submit)
        self.name_edit.returnPressed.connect(self.contact_edit.setFocus)
        self.contact_edit.returnPressed.connect(self.cash_edit.setFocus)
        self.sell_button.clicked.connect(self.submit)
        self.new_sale_button.clicked.connect(self.new_sale)
        self.reprint_button.clicked.connect(self._reprint)
        self.next_ticket_button.clicked.connect(self._next_ticket)
        self.void_button.clicked.connect(self._ask_void_reason)
        self.void_reason.returnPressed.connect(self._void)
        self.report_button.clicked.connect(self.report_requested)
        self.door_button.clicked.connect(self.door_requested)

    # --- what the desk tells us --------------------------------------------------------------

    def set_events(self, events: list[tuple[int, str]]) -> None:
        self.sign_in.set_events(events)

    def show_seller(self, name: str | None) -> None:
        """A seller signed in (the sale entry), or none (the sign-in form)."""
        if name is None:
            self.title.setText("Box office")
            self.pages.setCurrentWidget(self.sign_in)
            self.email_edit.setFocus()
            return
        self.title.setText(f"Box office · {name}")
        self.sign_in_code.clear()
        self.new_sale()

    def show_sign_in_refusal(self, message: str) -> None:
        self.sign_in.show_refusal(message)

    def set_tiers(self, tiers: list[Tier]) -> None:
        night = self.nights[self.night_index][0] if self.nights else None
        self.tiers = tiers
        self.nights = list(dict.fromkeys((t.event_id, t.night) for t in tiers))
        ids = [n[0] for n in self.nights]
        self.night_index = ids.index(night) if night in ids else 0
        self._build_night_row()
        self._build_tier_buttons()
        self._show_cart()

    def show_totals(self, totals: SellerTotals) -> None:
        sales = "1 sale" if totals.sales == 1 else f"{totals.sales} sales"
        self.totals_label.setText(f"{sales} · {totals.tickets} tickets · "
                                  f"{money(totals.cash_cents)}")

    def show_sale(self, sale: Sale, printed: PrintOutcome) -> None:
        self.busy = False
        self.last_sale = sale
        self.shown_ticket = 0
        self.done_title.setText(f"SOLD · change {money(sale.change_cents)}")
        offline = " · sold offline, uploads later" if sale.mode is SaleMode.OFFLINE else ""
        email = f" · e-mailed to {sale.buyer_email}" if sale.buyer_email and not offline else ""
        self.done_info.setText(f"{len(sale.tickets)} ticket(s) · total {money(sale.total_cents)}"
                               f" · cash {money(sale.tendered_cents)}{offline}{email}")
        self.show_print(printed)
        self.next_ticket_button.setVisible(len(sale.tickets) > 1)
        self.void_reason.hide()
        self._show_ticket()
        self.pages.setCurrentWidget(self.done)
        self.setFocus()

    def show_print(self, printed: PrintOutcome) -> None:
        self.print_label.setText(("Printed: " if printed.ok else "Not printed: ")
                                 + printed.message)

    def show_voided(self, sale: Sale) -> None:
        self.last_sale = sale
        self.done_title.setText("VOIDED · hand the cash back")
        self.void_reason.hide()
        self.setFocus()

    def show_refusal(self, message: str) -> None:
        self.busy = False
        self.message.setText(message)

    # --- the seller's keys -------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key, text = event.key(), event.text()
        if self.pages.currentWidget() is self.sign_in or QApplication.focusWidget() not in (
                self, None):
            # A key a field did not take (a line edit passes Enter on after returnPressed):
            # the tier keys are only for the screen itself.
            super().keyPressEvent(event)
            return
        if self.pages.currentWidget() is self.done:
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape):
                self.new_sale()
            elif text.lower() == "r":
                self._reprint()
            elif key == Qt.Key.Key_Right:
                self._next_ticket()
            return
        if text.isdigit() and text != "0":
            self.add_tier(int(text) - 1)
        elif text == "-" or key == Qt.Key.Key_Backspace:
            self.remove_last()
        elif key == Qt.Key.Key_PageDown:
            self.pick_night(self.night_index + 1)
        elif key == Qt.Key.Key_PageUp:
            self.pick_night(self.night_index - 1)
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.cart.tickets:
            self.cash_edit.setFocus()
        else:
            super().keyPressEvent(event)

    def night_tiers(self) -> list[Tier]:
        if not self.nights:
            return []
        event_id = self.nights[self.night_index][0]
        return [t for t in self.tiers if t.event_id == event_id][:MAX_TIER_KEYS]

    def add_tier(self, index: int, count: int = 1) -> None:
        tiers = self.night_tiers()
        if 0 <= index < len(tiers):
            self.cart = self.cart.add(tiers[index].tier_id, count)
            self.message.setText("")
            self._show_cart()

    def remove_last(self) -> None:
        if self.cart.lines:
            self.cart = self.cart.add(self.cart.lines[-1][0], -1)
            self._show_cart()

    def pick_night(self, index: int) -> None:
        if self.nights and 0 <= index < len(self.nights) and index != self.night_index:
            self.night_index = index
            self.cart = Cart()  # one night per sale
            self._build_night_row()
            self._build_tier_buttons()
            self._show_cart()

    def _quick_cash(self, label: str) -> None:
        self.cash_edit.setText("" if label == "Exact" else label.lstrip("$"))
        self._cash_entered()

    def _cash_entered(self) -> None:
        self._show_cart()
        self.code_edit.setFocus()

    def submit(self) -> None:
        if self.busy:
            return
        try:
            request: SaleRequest = build_request(
                {t.tier_id: t for t in self.tiers}, self.cart, code=self.code_edit.text(),
                cash=self.cash_edit.text(), buyer_name=self.name_edit.text(),
                contact=self.contact_edit.text())
        except SaleRefused as exc:
            self.show_refusal(exc.message)
            return
        self.busy = True
        self.message.setText("Selling…")
        self.sale_requested.emit(request)

    def new_sale(self) -> None:
        self.cart = Cart()
        for edit in (self.name_edit, self.contact_edit, self.cash_edit, self.code_edit):
            edit.clear()
        self.message.setText("")
        self.pages.setCurrentWidget(self.entry)
        self._show_cart()
        self.setFocus()

    # --- drawing -----------------------------------------------------------------------------

    def _build_night_row(self) -> None:
        while self.night_row.count():
            item = self.night_row.takeAt(0)
            widget = None if item is None else item.widget()
            if widget is not None:
                widget.deleteLater()
        if len(self.nights) < 2:
            return
        for index, (_event_id, name) in enumerate(self.nights):
            button = QPushButton(name)
            button.setCheckable(True)
            button.setChecked(index == self.night_index)
            button.clicked.connect(lambda _=False, i=index: self.pick_night(i))
            self.night_row.addWidget(button)

    def _build_tier_buttons(self) -> None:
        for button in self.tier_buttons:
            self.tier_grid.removeWidget(button)
            button.deleteLater()
        self.tier_buttons = []
        for index, tier in enumerate(self.night_tiers()):
            left = "" if tier.available is None else f" · {tier.available} left"
            button = QPushButton(f"{index + 1}   {tier.name}   {money(tier.price_cents)}{left}")
            button.setMinimumHeight(72)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _=False, i=index: self.add_tier(i))
            self.tier_grid.addWidget(button, index, 0)
            self.tier_buttons.append(button)

    def _show_cart(self) -> None:
        by_id = {t.tier_id: t for t in self.tiers}
        lines = [f"{q} × {by_id[t].name}  {money(by_id[t].price_cents * q)}"
                 for t, q in self.cart.lines if t in by_id]
        self.cart_label.setText("\n".join(lines) or "No tickets yet: press 1-9 or tap a "
                                                    "ticket type.")
        total = self.cart.total_cents(by_id)
        self.total_label.setText(f"Total {money(total)}")
        try:
            change = parse_cash(self.cash_edit.text(), total) - total
        except SaleRefused:
            change = None
        self.change_label.setText("" if not self.cart.tickets or change is None
                                  else (f"Change {money(change)}" if change >= 0
                                        else f"Short {money(-change)}"))

    def _show_ticket(self) -> None:
        sale = self.last_sale
        if sale is None or not sale.tickets:
            return
        ticket = sale.tickets[self.shown_ticket % len(sale.tickets)]
        pixmap = QPixmap.fromImage(qr_image(ticket.token, box_size=16))
        side = max(QR_SIDE, min(self.done_qr.width(), self.done_qr.height()))
        self.done_qr.setPixmap(pixmap.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio))
        self.done_qr.setToolTip(f"{ticket.tier_name} · {ticket.ticket_number}")

    def _next_ticket(self) -> None:
        self.shown_ticket += 1
        self._show_ticket()

    def _reprint(self) -> None:
        if self.last_sale is not None:
            self.reprint_requested.emit(self.last_sale.sale_id)

    def _ask_void_reason(self) -> None:
        self.void_reason.show()
        self.void_reason.setFocus()

    def _void(self) -> None:
        if self.last_sale is not None and self.void_reason.text().strip():
            self.void_requested.emit(self.last_sale.sale_id, self.void_reason.text())
