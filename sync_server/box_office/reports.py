"""The end-of-night reconciliation: per seller, cash owed, commission, refunds, stock still out;
as CSV (spreadsheet-safe) and as a printable PDF (A4 pages drawn with Pillow, as the tickets'
PDFs are)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from PIL import Image, ImageDraw, ImageFont

PAGE = (1240, 1754)  # A4 at 150 dpi
MARGIN = 80
ROW_HEIGHT = 44
COLUMNS: tuple[tuple[str, str, int], ...] = (
    # (key, header, x position on the PDF)
    ("name", "Seller", MARGIN),
    ("sold_tickets", "Sold", 420),
    ("sales_count", "Sales", 520),
    ("cash_owed_cents", "Cash owed", 620),
    ("commission_cents", "Commission", 800),
    ("refunded_cents", "Refunded", 980),
    ("stock_out_tickets", "Stock out", 1120),
)
CSV_COLUMNS = ("seller_id", "name", "email", "status", "allocated_tickets", "sold_tickets",
               "held_tickets", "stock_out_tickets", "sales_count", "cash_owed_cents",
               "commission_cents", "net_to_organizer_cents", "refunds_count", "refunded_cents")
MONEY = {"cash_owed_cents", "commission_cents", "refunded_cents", "net_to_organizer_cents"}


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) // 100:,}.{abs(cents) % 100:02d}"


def _safe(value: object) -> object:
    """A cell a spreadsheet will not run as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def report_csv(sellers: Sequence[Mapping[str, Any]], totals: Mapping[str, int]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in sellers:
        values = {**row, "net_to_organizer_cents": row["cash_owed_cents"]
                  - row["commission_cents"]}
        writer.writerow([_safe(values[key]) for key in CSV_COLUMNS])
    total = {key: "" for key in CSV_COLUMNS}
    total.update({k: str(v) for k, v in totals.items() if k in total})
    total["name"] = "TOTAL"
    total["net_to_organizer_cents"] = str(totals["cash_owed_cents"] - totals["commission_cents"])
    total["sales_count"] = str(sum(r["sales_count"] for r in sellers))
    total["refunds_count"] = str(sum(r["refunds_count"] for r in sellers))
    writer.writerow([total[key] for key in CSV_COLUMNS])
    return out.getvalue()


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType
        return ImageFont.load_default()


def _cell(row: Mapping[str, Any], key: str) -> str:
    value = row.get(key, "")
    if key in MONEY and isinstance(value, int):
        return money(value)
    text = str(value)
    return text if len(text) <= 24 else text[:23] + "…"


def report_pdf(*, event_name: str, date: str, sellers: Sequence[Mapping[str, Any]],
               totals: Mapping[str, int]) -> bytes:
    """A4 pages: a title, one line per seller, the totals, and a line to sign."""
    font, bold, title = _font(26), _font(28), _font(44)
    per_page = (PAGE[1] - 2 * MARGIN - 400) // ROW_HEIGHT
    chunks = [sellers[i:i + per_page] for i in range(0, len(sellers), per_page)] or [[]]
    pages = []
    for number, chunk in enumerate(chunks, start=1):
        page = Image.new("RGB", PAGE, "white")
        draw = ImageDraw.Draw(page)
        draw.text((MARGIN, MARGIN), "Box office reconciliation", fill="black", font=title)
        draw.text((MARGIN, MARGIN + 70), f"{event_name} - {date}", fill="black", font=bold)
        draw.text((PAGE[0] - MARGIN - 180, MARGIN + 70), f"page {number}/{len(chunks)}",
                  fill="gray", font=font)
        y = MARGIN + 160
        for _, header, x in COLUMNS:
            draw.text((x, y), header, fill="black", font=bold)
        y += ROW_HEIGHT
        draw.line((MARGIN, y - 8, PAGE[0] - MARGIN, y - 8), fill="black", width=2)
        for row in chunk:
            for key, _, x in COLUMNS:
                draw.text((x, y), _cell(row, key), fill="black", font=font)
            y += ROW_HEIGHT
        if number == len(chunks):
            draw.line((MARGIN, y, PAGE[0] - MARGIN, y), fill="black", width=2)
            y += 16
            line = {"name": "TOTAL", **totals,
                    "sales_count": sum(r["sales_count"] for r in sellers)}
            for key, _, x in COLUMNS:
                draw.text((x, y), _cell(line, key), fill="black", font=bold)
            y += ROW_HEIGHT * 2
            net = totals["cash_owed_cents"] - totals["commission_cents"]
            draw.text((MARGIN, y), f"Cash to hand over after commission: {money(net)}",
                      fill="black", font=bold)
            y += ROW_HEIGHT * 3
            draw.text((MARGIN, y), "Counted by: ____________________    "
                      "Signature: ____________________", fill="black", font=font)
        pages.append(page)
    out = io.BytesIO()
    pages[0].save(out, format="PDF", save_all=True, append_images=pages[1:], resolution=150)
    return out.getvalue()
