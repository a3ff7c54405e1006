"""A printable ticket: one PDF page per ticket (QR, event, holder, number), drawn with Pillow."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from shared.qr import render_png

PAGE = (1240, 1754)  # A4 at 150 dpi
QR_SIZE = 700


@dataclass(frozen=True)
class TicketFace:
    """What is printed on a ticket."""

    token: str
    ticket_number: str
    holder_name: str
    event_name: str
    when: str
    where: str
    admits: str  # "Saturday ticket", "Weekend bundle", ...


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: a fixed bitmap font
        return ImageFont.load_default()


def ticket_page(face: TicketFace) -> Image.Image:
    page = Image.new("RGB", PAGE, "white")
    draw = ImageDraw.Draw(page)
    draw.text((100, 90), face.event_name, fill="black", font=_font(56))
    draw.text((100, 180), face.when, fill="black", font=_font(36))
    draw.text((100, 230), face.where, fill="black", font=_font(36))
    qr = Image.open(io.BytesIO(render_png(face.token))).convert("RGB")
    qr = qr.resize((QR_SIZE, QR_SIZE), Image.Resampling.NEAREST)
    page.paste(qr, ((PAGE[0] - QR_SIZE) // 2, 330))
    y = 330 + QR_SIZE + 60
    for text, size in ((face.holder_name, 48), (face.admits, 40),
                       (f"Ticket {face.ticket_number}", 40)):
        draw.text((100, y), text, fill="black", font=_font(size))
        y += size + 30
    draw.text((100, PAGE[1] - 120), "Show this code at the door. One entry per ticket.",
              fill="gray", font=_font(28))
    return page


def tickets_pdf(faces: Sequence[TicketFace]) -> bytes:
    """A PDF with one page per ticket."""
    if not faces:
        raise ValueError("a ticket PDF needs at least one ticket")
    pages = [ticket_page(face) for face in faces]
    out = io.BytesIO()
    pages[0].save(out, format="PDF", resolution=150.0, save_all=True, append_images=pages[1:])
    return out.getvalue()
