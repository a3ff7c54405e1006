"""An event as an iCalendar file (RFC 5545) for "add to calendar": one VEVENT per night."""

from __future__ import annotations

from datetime import datetime, timedelta

from sync_server.events.models import Event

_STAMP = "%Y%m%dT%H%M%SZ"


def _text(value: str) -> str:
    """RFC 5545 TEXT: backslash, semicolon, comma and newlines escaped."""
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space (RFC 5545 3.1)."""
    data = line.encode("utf-8")
    parts: list[str] = []
    start = 0
    while len(data) - start > 75:
        end = start + (75 if not parts else 74)
        while end > start and (data[end] & 0xC0) == 0x80:  # never split a UTF-8 character
            end -= 1
        parts.append(data[start:end].decode("utf-8"))
        start = end
    parts.append(data[start:].decode("utf-8"))
    return "\r\n ".join(parts)


def _utc(moment: datetime) -> str:
    return moment.strftime(_STAMP)


def event_calendar(event: Event, *, url: str, host: str, now: datetime) -> str:
    where = ", ".join(p for p in (event.venue_name, event.address, event.city, event.state) if p)
    nights = [(d.day_number, d.starts_at, d.ends_at) for d in event.days] or [
        (1, event.starts_at, event.ends_at or event.starts_at + timedelta(hours=4))]
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//SteppersLife//Tickets//EN",
             "CALSCALE:GREGORIAN", "METHOD:PUBLISH"]
    for number, starts, ends in nights:
        lines += [
            "BEGIN:VEVENT",
            f"UID:event-{event.id}-night-{number}@{host}",
            f"DTSTAMP:{_utc(now)}",
            f"DTSTART:{_utc(starts)}",
            f"DTEND:{_utc(ends)}",
            f"SUMMARY:{_text(event.name)}",
            f"LOCATION:{_text(where)}",
            f"DESCRIPTION:{_text(event.description[:1000])}",
            f"URL:{url}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"
