"""What every HTML page shares: the site navigation, the signed-in user in the header and the
money/time filters. Pages live in their domains (``signin/pages.py``, ``orders/routes.py``, ...);
this module only feeds ``templates/base.html``.

The navigation names endpoints, not URLs: an entry whose endpoint no domain registered is left
out, so a domain's pages appear in the header by adding one line to ``NAV`` and nothing breaks
while they do not exist yet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, Response, current_app, request, url_for

from sync_server.auth.sessions import current_web_user
from sync_server.db import db_session

# (words in the header, endpoint): in the order shown.
NAV: tuple[tuple[str, str], ...] = (
    ("Events", "buyers.events"),
    ("My tickets", "buyers.my_tickets"),
    ("Organize", "organizer.dashboard"),
    ("Account", "accounts.account"),
)


def money(cents: int | None, currency: str = "USD") -> str:
    """``1250`` -> ``$12.50`` (whole cents; a negative amount keeps its sign in front)."""
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    symbol = "$" if currency.upper() == "USD" else f"{currency.upper()} "
    return f"{sign}{symbol}{abs(cents) // 100:,}.{abs(cents) % 100:02d}"


def when(value: datetime | None, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    return value.strftime(fmt) if value is not None else ""


def local(value: datetime | None, timezone: str, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    """A UTC time as the event's local wall-clock time (the time printed on its posters)."""
    if value is None:
        return ""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return value.astimezone(zone).strftime(fmt)
def _cell(value: Any) -> Any:
    # A spreadsheet runs a cell that starts with = + - @ as a formula: such text gets a quote.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_download(filename: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    """A CSV file (UTF-8, a header row) streamed as it is written, offered as ``filename``."""

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        for n, row in enumerate(rows, 1):
            writer.writerow([_cell(v) for v in row])
            if n % 500 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    # Not stream_with_context: the request (and its session) ends when the view returns; the
    # rows come in batches of their own short transactions (orders.search).
    return Response(lines(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _nav() -> list[dict[str, Any]]:
    links = []
    for words, endpoint in NAV:
        if endpoint not in current_app.view_functions:
            continue
        href = url_for(endpoint)
        links.append({"words": words, "href": href,
                      "current": request.path == href or
                      (href != "/" and request.path.startswith(href + "/"))})
    return links


def init_app(app: Flask) -> None:
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["local"] = local

    @app.context_processor
    def _site() -> dict[str, Any]:
        if request.blueprint is None and request.endpoint is None:
            return {"site_nav": [], "signed_in": None, "config_view_functions": ()}
        return {"site_nav": _nav(), "signed_in": current_web_user(db_session()),
                "config_view_functions": current_app.view_functions}
