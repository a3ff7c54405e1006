"""``scanner-app sell`` and the box office's other headless commands (the same desk as the
sale screen, ``scanner_app.core.desk``), for scripts, tests and a desk without a screen:

    scanner-app sign-in --email EMAIL --code CODE [--event ID]   # once per shift
    scanner-app sell --tier NAME|ID[=QTY] ... --code CODE [--cash AMOUNT] [--buyer NAME]
                     [--contact EMAIL|PHONE] [--pdf FILE] [--email EMAIL (signs in first)]
    scanner-app sales                          # this desk's sales and the seller's totals
    scanner-app void SALE_ID --reason TEXT
    scanner-app reprint SALE_ID --pdf FILE [--receipt]
    scanner-app return-stock                   # end of night: unsold stock back to the server

Each prints JSON. Exit 0 done; 1 refused or failed (``error`` is a stable code, ``message``
says why in words); 2 bad usage.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from scanner_app.core.box_office import Cart, Sale, SaleRefused, Tier, build_request

COMMANDS = ("sign-in", "sell", "sales", "void", "reprint", "return-stock")


def add_commands(sub: Any) -> None:
    sign_in = sub.add_parser("sign-in", help="a seller signs in at this desk (box office)")
    sign_in.add_argument("--email", required=True, help="the seller's e-mail")
    sign_in.add_argument("--code", required=True, help="the seller's 4-digit code of the day")
    sign_in.add_argument("--event", type=int, default=None,
                         help="event id (default: the one event this device serves)")
    sign_in.add_argument("--password", default="",
                         help="on a DOOR device: the seller's password (sells online only)")
    sell = sub.add_parser("sell", help="sell tickets for cash (box office); prints the tickets")
    sell.add_argument("--tier", action="append", required=True, metavar="NAME|ID[=QTY]",
                      help="a ticket type by name or id, and how many (default 1); repeat it")
    sell.add_argument("--code", required=True, help="the seller's 4-digit code of the day")
    sell.add_argument("--cash", default="", help="cash handed over (default: exact)")
    sell.add_argument("--buyer", default="", help="buyer's name")
    sell.add_argument("--contact", default="", help="buyer's e-mail (the ticket is e-mailed) "
                                                    "or phone")
    sell.add_argument("--pdf", type=Path, default=None, help="also print the tickets to a PDF")
    sell.add_argument("--email", default=None, help="sign the seller in first (see sign-in)")
    sell.add_argument("--event", type=int, default=None, help="with --email: the event id")
    sub.add_parser("sales", help="this desk's sales and the seller's totals")
    void = sub.add_parser("void", help="void a sale (the cash goes back)")
    void.add_argument("sale_id")
    void.add_argument("--reason", required=True)
    reprint = sub.add_parser("reprint", help="print a sale's tickets again, to a PDF")
    reprint.add_argument("sale_id")
    reprint.add_argument("--pdf", type=Path, required=True)
    reprint.add_argument("--receipt", action="store_true", help="80 mm receipt layout")
    sub.add_parser("return-stock", help="end of night: hand unsold offline stock back")


def parse_tiers(specs: Sequence[str], tiers: Sequence[Tier]) -> Cart:
    """``["General=2", "12"]`` -> a cart; ``ValueError`` in words for an unknown or bad one."""
    cart = Cart()
    for spec in specs:
        name, _, count = spec.partition("=")
        name = name.strip()
        try:
            quantity = int(count) if count else 1
        except ValueError:
            raise ValueError(f"{spec!r}: the quantity after = is a whole number") from None
        if quantity < 1:
            raise ValueError(f"{spec!r}: sell at least one")
        found = [t for t in tiers if str(t.tier_id) == name or t.name.casefold()
                 == name.casefold()]
        if not found:
            known = ", ".join(f"{t.name} ({t.tier_id})" for t in tiers) or "none: run sync"
            raise ValueError(f"no ticket type {name!r} is sold here; known: {known}")
        cart = cart.add(found[0].tier_id, quantity)
    return cart


def sale_json(sale: Sale) -> dict[str, Any]:
    data = asdict(sale)
    data["change_cents"] = sale.change_cents
    return data


def run(args: argparse.Namespace, data_dir: Path, emit: Callable[[object], None]) -> int:
    from scanner_app.core.desk import open_desk

    desk = open_desk(data_dir)
    if desk is None:
        emit({"error": "not_paired", "message": "this data folder is not paired with a server"})
        return 1
    try:
        if args.command == "sign-in" or (args.command == "sell" and args.email):
            status = _sign_in(args, desk, emit, quiet=args.command == "sell")
            if status or args.command == "sign-in":
                return status
        if args.command == "sell":
            return _sell(args, desk, emit)
        if args.command == "sales":
            emit({"sales": [sale_json(s) for s in desk.sales()],
                  "totals": desk.totals().to_json()})
            return 0
        if args.command == "void":
            try:
                emit(sale_json(desk.void(args.sale_id, args.reason)))
            except SaleRefused as exc:
                emit({"voided": False, "error": exc.code, "message": exc.message})
                return 1
            return 0
        if args.command == "reprint":
            sale = desk.sale(args.sale_id)
            if sale is None:
                emit({"error": "not_found", "message": f"no sale {args.sale_id} on this desk"})
                return 1
            emit({"pdf": str(_pdf(sale, args.pdf, receipt=args.receipt))})
            return 0
        if args.command == "return-stock":
            from scanner_app.core.box_api import BoxApiError

            try:
                emit({"returned": desk.return_stock()})
            except BoxApiError as exc:
                emit({"returned": 0, "error": exc.code, "message": exc.message})
                return 1
            return 0
    finally:
        desk.close()
    return 2


def _sign_in(args: argparse.Namespace, desk: Any, emit: Callable[[object], None], *,
             quiet: bool) -> int:
    event_id = args.event
    if event_id is None:
        events = [e.event_id for e in _served_events(desk)]
        if len(events) != 1:
            emit({"signed_in": False, "error": "which_event",
                  "message": f"this device serves events {events}: pass --event ID "
                             "(run `scanner-app sync` first if the list is empty)"})
            return 1
        event_id = events[0]
    try:
        seller = desk.sign_in(event_id, args.email, args.code, getattr(args, "password", ""))
    except SaleRefused as exc:
        emit({"signed_in": False, "error": exc.code, "message": exc.message})
        return 1
    report = desk.refresh()  # the menu and the stock for offline sales
    if not quiet:
        emit({"signed_in": True, **asdict(seller), "tiers": [asdict(t) for t in desk.tiers()],
              "refresh": report.to_json()})
    return 0


def _served_events(desk: Any) -> list[Any]:
    with desk.store.transaction() as s:
        return sorted(desk.store.served_events(s).values(), key=lambda e: e.event_id)


def _sell(args: argparse.Namespace, desk: Any, emit: Callable[[object], None]) -> int:
    tiers = desk.tiers()
    if desk.seller() is None or not tiers:
        emit({"sold": False, "error": "not_signed_in",
              "message": "no seller is signed in at this desk: run `scanner-app sign-in "
                         "--email EMAIL --code CODE` (or pass --email to sell)"})
        return 1
    try:
        cart = parse_tiers(args.tier, tiers)
        request = build_request({t.tier_id: t for t in tiers}, cart, code=args.code,
                                cash=args.cash, buyer_name=args.buyer, contact=args.contact)
        sale = desk.sell(request)
    except ValueError as exc:
        emit({"sold": False, "error": "bad_tier", "message": str(exc)})
        return 1
    except SaleRefused as exc:
        emit({"sold": False, "error": exc.code, "message": exc.message})
        return 1
    out = {"sold": True, **sale_json(sale)}
    if args.pdf is not None:
        try:
            out["pdf"] = str(_pdf(sale, args.pdf))
            desk.note_printed(sale.sale_id)
        except Exception as exc:  # the sale is made: say the print failed, still exit 0
            out["pdf_error"] = str(exc)
    emit(out)
    return 0


def _pdf(sale: Sale, path: Path, *, receipt: bool = False) -> Path:
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    from scanner_app.ui.ticket_print import Layout, print_to_pdf

    _app = QGuiApplication.instance() or QGuiApplication([])
    return print_to_pdf(sale, path, Layout.RECEIPT if receipt else Layout.A4)
