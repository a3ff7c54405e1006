"""Build the ticket e-mail: plain text, HTML with each ticket's QR inline (PNG), a PDF attached."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid
from zoneinfo import ZoneInfo

from shared.qr import render_png
from sync_server.events.models import Event
from sync_server.mail.pdf import TicketFace, tickets_pdf
from sync_server.orders.models import Order
from sync_server.tickets.models import TicketInstance


def _when(event: Event) -> str:
    local = event.starts_at.astimezone(ZoneInfo(event.timezone))
    return local.strftime("%A %d %B %Y, %H:%M") + f" ({event.timezone})"


def _where(event: Event) -> str:
    return ", ".join(p for p in (event.venue_name, event.address, event.city, event.state) if p)


def _admits(ticket: TicketInstance) -> str:
    if ticket.bundle is not None:
        return ticket.bundle.name
    return ticket.ticket_type.name if ticket.ticket_type is not None else "Ticket"


def face_of(event: Event, ticket: TicketInstance) -> TicketFace:
    assert ticket.token is not None
    return TicketFace(token=ticket.token, ticket_number=ticket.ticket_number,
                      holder_name=ticket.holder_name, event_name=event.name, when=_when(event),
                      where=_where(event), admits=_admits(ticket))


def ticket_message(
    *, sender: str, to: str, event: Event, order: Order, tickets: Sequence[TicketInstance],
    intro: str, order_link: str | None = None,
) -> EmailMessage:
    if not tickets:
        raise ValueError("no ticket to send")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = f"Your tickets for {event.name} (order {order.order_number})"
    lines = [intro, "", f"{event.name}", _when(event), _where(event), ""]
    lines += [f"- {t.ticket_number}: {_admits(t)} for {t.holder_name}" for t in tickets]
    lines += ["", "Show the QR code of each ticket at the door (the PDF has them too)."]
    if order_link:
        lines += ["", f"Your order, any time (keep this link private): {order_link}"]
    message.set_content("\n".join(lines))

    cids = [make_msgid(domain="tickets.stepperslife") for _ in tickets]
    blocks = "".join(
        f'<div style="margin:16px 0"><img src="cid:{cid[1:-1]}" width="240" height="240" '
        f'alt="QR code of ticket {html.escape(t.ticket_number)}"><br>'
        f"<b>{html.escape(t.ticket_number)}</b> — {html.escape(_admits(t))} for "
        f"{html.escape(t.holder_name)}</div>"
        for cid, t in zip(cids, tickets, strict=True)
    )
    body = (f"<html><body><p>{html.escape(intro)}</p><h2>{html.escape(event.name)}</h2>"
            f"<p>{html.escape(_when(event))}<br>{html.escape(_where(event))}</p>{blocks}"
            "<p>Show the QR code of each ticket at the door.</p>"
            + (f'<p><a href="{html.escape(order_link)}">Your order, any time</a> '
               "(keep this link private).</p>" if order_link else "")
            + "</body></html>")
    message.add_alternative(body, subtype="html")
    html_part = list(message.iter_parts())[1]
    assert isinstance(html_part, EmailMessage)
    for cid, ticket in zip(cids, tickets, strict=True):
        assert ticket.token is not None
        html_part.add_related(render_png(ticket.token, box_size=6), maintype="image",
                              subtype="png", cid=cid,
                              filename=f"ticket-{ticket.ticket_number}.png")
    pdf = tickets_pdf([face_of(event, t) for t in tickets])
    message.add_attachment(pdf, maintype="application", subtype="pdf",
                           filename=f"tickets-{order.order_number}.pdf")
    return message


def offer_message(*, sender: str, to: str, event: Event, order: Order,
                  until: datetime) -> EmailMessage:
    """A waiting-list offer: a ticket is reserved for the reader until ``until``."""
    local = until.astimezone(ZoneInfo(event.timezone)).strftime("%H:%M")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = f"A ticket for {event.name} is yours until {local}"
    message.set_content("\n".join([
        "Good news: a ticket you were waiting for came free, and it is reserved for you.",
        "", event.name, _when(event), _where(event), "",
        f"Buy it before {local} ({event.timezone}): open the event page and accept the offer",
        f"(order {order.order_number}). After that it goes to the next person in line.",
        "If you do not want it, decline the offer so the next person gets it sooner.",
    ]))
    return message
